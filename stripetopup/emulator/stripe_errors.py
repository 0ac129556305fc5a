"""Stripe's error responses: one exception carrying status, type, code, message and param.

Also the exact wordings the emulator reuses in several places, and key masking so that a full
API key never appears in a message. Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """Raised by a route to answer with Stripe's error shape and status code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        idempotent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        # more fields of Stripe's error object (a card error's decline_code, payment_intent...)
        self.extra = extra or {}
        # the request was carried out (a card declined): an Idempotency-Key replays this answer
        self.idempotent = idempotent

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def mask_key(key: str) -> str:
    """``sk_test_abcdef1234`` -> ``sk_test_****1234``; never the whole key."""
    for prefix in ("sk_test_", "rk_test_", "sk_live_", "rk_live_", "pk_test_", "pk_live_"):
        if key.startswith(prefix):
            return prefix + "****" + (key[-4:] if len(key) >= len(prefix) + 8 else "")
    return "****" + (key[-4:] if len(key) >= 12 else "")


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid_integer(param: str, value: object) -> StripeError:
    return StripeError(
        400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
    )


def out_of_range(param: str, message: str) -> StripeError:
    return StripeError(400, message, code="parameter_invalid_integer", param=param)


def unknown_param(param: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def no_such(object_name: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        f"No such {object_name}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )
