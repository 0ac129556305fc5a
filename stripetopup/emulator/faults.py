"""Injected failures for /v1 requests: 500 api_error, 429 rate limit, or a hang.

Faults are registered through the control API and consumed in order by matching requests
(path prefix, optional method). Imports the stdlib and starlette.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from stripetopup.emulator.state import EmulatorState, Fault
from stripetopup.emulator.stripe_errors import StripeError

KINDS = ("500", "429", "hang")


def take_fault(state: EmulatorState, method: str, path: str) -> Fault | None:
    """Consume one use of the first fault matching this request, if any."""
    with state.lock:
        for fault in state.faults:
            if fault.count <= 0 or not path.startswith(fault.path):
                continue
            if fault.method and fault.method.upper() != method.upper():
                continue
            fault.count -= 1
            state.faults = [f for f in state.faults if f.count > 0]
            return fault
    return None


async def apply_faults(state: EmulatorState, request: Request) -> None:
    """Raise the injected error, or sleep for an injected hang, before normal handling."""
    fault = take_fault(state, request.method, request.url.path)
    if fault is None:
        return
    if fault.kind == "hang":
        await asyncio.sleep(fault.hang_seconds)
        return
    if fault.kind == "429":
        raise StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits. (injected by the Stripe emulator)",
            code="rate_limit",
            headers={"Stripe-Should-Retry": "true", "Retry-After": "0"},
        )
    raise StripeError(
        500,
        "An unknown error occurred (injected by the Stripe emulator).",
        type="api_error",
        headers={"Stripe-Should-Retry": "true"},
    )
