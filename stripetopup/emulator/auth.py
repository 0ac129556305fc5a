"""API key checks: test keys only, restricted-key permissions, Stripe's 401/403 wording.

Imports only the stdlib.
"""

from __future__ import annotations

import re

from stripetopup.emulator.state import EmulatorState
from stripetopup.emulator.stripe_errors import StripeError, mask_key

_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]+$")

# resource (as in the control API's permission dict) -> Stripe's "rak_" permission stem
RAK_NAMES = {
    "checkout_sessions": "rak_checkout_session",
    "events": "rak_event",
    "webhook_endpoints": "rak_webhook",
    "refunds": "rak_refund",
    "payment_intents": "rak_payment_intent",
    "charges": "rak_charge",
    "disputes": "rak_dispute",
    "coupons": "rak_coupon",
    "promotion_codes": "rak_promotion_code",
    "customers": "rak_customer",
    "invoices": "rak_invoice",
    "payment_methods": "rak_payment_method",
}
LEVELS = {"none": 0, "read": 1, "write": 2}


def api_key(authorization: str | None) -> str:
    """Return the test key from an ``Authorization`` header or raise Stripe's 401."""
    if not authorization:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/.",
        )
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise StripeError(
            401,
            "Invalid Authorization header. Use Bearer auth: 'Authorization: Bearer "
            "YOUR_SECRET_KEY'.",
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise StripeError(
            401,
            f"The Stripe emulator refuses live keys ({mask_key(key)}): it is an offline test "
            "double, not Stripe. Use a sk_test_ or rk_test_ key.",
        )
    if not _KEY.match(key):
        raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}")
    return key


def check_permission(state: EmulatorState, key: str, resource: str, level: str) -> None:
    """Raise Stripe's 403 if a registered restricted key lacks ``resource``/``level``."""
    permissions = state.restricted_keys.get(key)
    if permissions is None:
        return
    granted = LEVELS.get(permissions.get(resource, "none"), 0)
    if granted >= LEVELS[level]:
        return
    name = f"{RAK_NAMES[resource]}_{level}"
    raise StripeError(
        403,
        f"The provided key '{mask_key(key)}' does not have the required permissions for this "
        f"endpoint on account '{state.account_id}'. Having the '{name}' permission would "
        "allow this request to continue.",
    )


def validate_permissions(permissions: object) -> dict[str, str]:
    if not isinstance(permissions, dict):
        raise ValueError("permissions must be an object")
    out: dict[str, str] = {}
    for resource, level in permissions.items():
        if resource not in RAK_NAMES:
            raise ValueError(f"unknown resource {resource!r}; known: {sorted(RAK_NAMES)}")
        if level not in LEVELS:
            raise ValueError(f"level must be one of {sorted(LEVELS)}")
        out[str(resource)] = str(level)
    return out
