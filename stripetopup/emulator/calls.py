"""What a ``/v1`` handler receives (``Call``) and the small parameter checks handlers share.

Kept apart from ``api`` so that the route modules of each resource (coupons, customers,
invoices) can use them without importing the route table. Imports only the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import StripeError, unknown_param

if TYPE_CHECKING:
    from stripetopup.emulator.changes import Origin


@dataclass
class Call:
    """One authenticated /v1 request, as the handlers see it."""

    state: EmulatorState
    params: dict[str, Any]
    path: dict[str, str]
    origin: Origin
    base_url: str


Handler = Callable[[Call], Obj]


def only(params: dict[str, Any], allowed: set[str]) -> None:
    """Stripe's ``parameter_unknown`` for the first parameter not in ``allowed``."""
    for name in params:
        if name not in allowed:
            raise unknown_param(name)


def parse_bool(value: Any, param: str) -> bool:
    """Form booleans are the strings ``true`` and ``false`` (the SDK sends these)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise StripeError(
        400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=param
    )


def text(params: dict[str, Any], name: str, limit: int = 5000) -> str | None:
    """An optional string parameter (empty means unset), at most ``limit`` characters."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StripeError(400, "Invalid string", code="parameter_invalid_string", param=name)
    if len(value) > limit:
        raise StripeError(
            400,
            f"Invalid string: {value[:20]}...; must be at most {limit} characters",
            code="parameter_invalid_string",
            param=name,
        )
    return value
