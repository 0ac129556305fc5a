"""Injected failures for /v1 requests: 500 api_error, 429 rate limit, a hang, or a lost answer.

A lost answer is the nastiest: the request is carried out (a charge succeeds) but the
connection breaks half-way through the response, so the client cannot know.

Faults are registered through the control API and consumed in order by matching requests
(path prefix, optional method). Imports the stdlib and starlette.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stripetopup.emulator.state import EmulatorState, Fault
from stripetopup.emulator.stripe_errors import StripeError

KINDS = ("500", "429", "hang", "lose_answer")


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


async def apply_faults(state: EmulatorState, request: Request) -> bool:
    """Raise the injected error, or sleep for an injected hang, before normal handling.

    True means "lose the answer": handle the request, then break the connection mid-answer.
    """
    fault = take_fault(state, request.method, request.url.path)
    if fault is None:
        return False
    if fault.kind == "lose_answer":
        return True
    if fault.kind == "hang":
        await asyncio.sleep(fault.hang_seconds)
        return False
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


class LostAnswer(Response):
    """A response that announces all of its body, sends half and stops: the connection breaks.

    (uvicorn then logs "ASGI callable returned without completing response" and closes it.)
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
