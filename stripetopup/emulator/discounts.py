"""Coupons and promotion codes: ``/v1/coupons`` and ``/v1/promotion_codes``, and redeeming them.

Objects have the shapes of Stripe's fixtures (a promotion code names its coupon under
``promotion``, as in API versions from 2025 on). ``redeemable()`` is the one check a code
passes before a Checkout Session may use it (active, not expired, redemptions left, minimum
amount, customer); ``redeem()`` counts a use when the session completes.
Imports only the stdlib.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from stripetopup.emulator.calls import Call, only, parse_bool, text
from stripetopup.emulator.listing import expand, expand_params, page, parse_int
from stripetopup.emulator.state import EmulatorState, Obj, new_id
from stripetopup.emulator.stripe_errors import StripeError, missing, no_such

_CODE = re.compile(r"^[A-Za-z0-9-]{1,500}$")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _random_code(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _percent(value: Any) -> float:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise StripeError(
            400, f"Invalid decimal: {value}", code="parameter_invalid_decimal", param="percent_off"
        ) from None
    if not number.is_finite() or number <= 0 or number > 100:
        raise StripeError(
            400,
            "Invalid percent_off: must be greater than 0 and less than or equal to 100.",
            param="percent_off",
        )
    return float(number)


# -- coupons ----------------------------------------------------------------------------
def create_coupon(call: Call) -> Obj:
    params, state = call.params, call.state
    only(
        params,
        {
            "id",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "max_redemptions",
            "redeem_by",
            "name",
            "metadata",
            "expand",
        },
    )
    has_percent, has_amount = "percent_off" in params, "amount_off" in params
    if has_percent == has_amount:
        raise StripeError(400, "You must pass exactly one of amount_off or percent_off.")
    coupon_id = text(params, "id", 200) or _random_code(8)
    if coupon_id in state.coupons:
        raise StripeError(400, "Coupon already exists.", code="resource_already_exists", param="id")
    amount_off = currency = None
    if has_amount:
        amount_off = parse_int(params, "amount_off", params["amount_off"])
        if amount_off < 1:
            raise StripeError(400, "Invalid amount_off: must be at least 1.", param="amount_off")
        currency = str(params.get("currency") or "").lower()
        if not currency:
            raise missing("currency")
    duration = str(params.get("duration") or "once")
    if duration not in ("once", "repeating", "forever"):
        raise StripeError(
            400,
            "Invalid duration: must be one of forever, once, or repeating",
            param="duration",
        )
    coupon: Obj = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount_off,
        "created": state.clock.now(),
        "currency": currency,
        "duration": duration,
        "duration_in_months": (
            parse_int(params, "duration_in_months", params["duration_in_months"])
            if duration == "repeating" and "duration_in_months" in params
            else None
        ),
        "livemode": False,
        "max_redemptions": _optional_int(params, "max_redemptions"),
        "metadata": dict(params.get("metadata") or {}),
        "name": text(params, "name", 40),
        "percent_off": _percent(params["percent_off"]) if has_percent else None,
        "redeem_by": _optional_int(params, "redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }
    state.coupons[coupon_id] = coupon
    return coupon


def retrieve_coupon(call: Call) -> Obj:
    only(call.params, {"expand"})
    return coupon_or_404(call.state, call.path["id"])


def coupon_or_404(state: EmulatorState, coupon_id: str, param: str = "id") -> Obj:
    coupon = state.coupons.get(coupon_id)
    if coupon is None:
        raise no_such("coupon", coupon_id, param)
    _refresh_validity(state, coupon)
    return coupon


def _refresh_validity(state: EmulatorState, coupon: Obj) -> None:
    spent = coupon["max_redemptions"] is not None and (
        coupon["times_redeemed"] >= coupon["max_redemptions"]
    )
    lapsed = coupon["redeem_by"] is not None and coupon["redeem_by"] <= state.clock.now()
    coupon["valid"] = not (spent or lapsed)


def _optional_int(params: dict[str, Any], name: str) -> int | None:
    if params.get(name) in (None, ""):
        return None
    return parse_int(params, name, params[name])


# -- promotion codes --------------------------------------------------------------------
def create_promotion_code(call: Call) -> Obj:
    params, state = call.params, call.state
    only(
        params,
        {
            "promotion",
            "code",
            "active",
            "customer",
            "expires_at",
            "max_redemptions",
            "metadata",
            "restrictions",
            "expand",
        },
    )
    promotion = params.get("promotion")
    if not isinstance(promotion, dict) or not promotion.get("coupon"):
        raise missing("promotion[coupon]")
    if promotion.get("type", "coupon") != "coupon":
        raise StripeError(400, "Invalid promotion[type]: must be coupon", param="promotion[type]")
    coupon = coupon_or_404(state, str(promotion["coupon"]), "promotion[coupon]")
    code = text(params, "code", 500) or _random_code(8)
    if not _CODE.match(code):
        raise StripeError(
            400,
            "Invalid code: only letters, digits and dashes are allowed.",
            param="code",
        )
    active = parse_bool(params.get("active", "true"), "active")
    if active and _active_with_code(state, code) is not None:
        raise StripeError(
            400,
            f"An active promotion code with `code: {code}` already exists.",
            code="resource_already_exists",
            param="code",
        )
    customer = text(params, "customer", 100)
    if customer is not None and state.customers.get(customer, {"deleted": True}).get("deleted"):
        raise no_such("customer", customer, "customer")
    promo = _promotion_code_object(state, params, coupon, code, active, customer)
    state.promotion_codes[promo["id"]] = promo
    state.promotion_code_index.add(promo["id"], promo["created"])
    return expand(state, promo, expand_params(params))


def _promotion_code_object(
    state: EmulatorState,
    params: dict[str, Any],
    coupon: Obj,
    code: str,
    active: bool,
    customer: str | None,
) -> Obj:
    raw = params.get("restrictions")
    restrictions: dict[str, Any] = raw if isinstance(raw, dict) else {}
    minimum = _optional_int(restrictions, "minimum_amount")
    return {
        "id": new_id("promo"),
        "object": "promotion_code",
        "active": active,
        "code": code,
        "created": state.clock.now(),
        "customer": customer,
        "expires_at": _optional_int(params, "expires_at"),
        "livemode": False,
        "max_redemptions": _optional_int(params, "max_redemptions"),
        "metadata": dict(params.get("metadata") or {}),
        "restrictions": {
            "first_time_transaction": parse_bool(
                restrictions.get("first_time_transaction", "false"),
                "restrictions[first_time_transaction]",
            ),
            "minimum_amount": minimum,
            "minimum_amount_currency": (
                str(restrictions.get("minimum_amount_currency") or "").lower() or None
                if minimum is not None
                else None
            ),
        },
        "times_redeemed": 0,
        "promotion": {"coupon": coupon["id"], "type": "coupon"},
    }


def retrieve_promotion_code(call: Call) -> Obj:
    only(call.params, {"expand"})
    promo = call.state.promotion_codes.get(call.path["id"])
    if promo is None:
        raise no_such("promotion_code", call.path["id"])
    return expand(call.state, promo, expand_params(call.params))


def list_promotion_codes(call: Call) -> Obj:
    params = call.params
    only(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "expand",
            "code",
            "active",
            "coupon",
            "customer",
        },
    )
    code = params.get("code")
    active = parse_bool(params["active"], "active") if "active" in params else None
    coupon, customer = params.get("coupon"), params.get("customer")

    def keep(promo: Obj) -> bool:
        return (
            (code is None or promo["code"].lower() == str(code).lower())
            and (active is None or promo["active"] == active)
            and (coupon is None or promo["promotion"]["coupon"] == coupon)
            and (customer is None or promo["customer"] == customer)
        )

    state = call.state
    return page(
        state,
        state.promotion_code_index,
        state.promotion_codes,
        params,
        url="/v1/promotion_codes",
        object_name="promotion_code",
        keep=keep,
    )


def _active_with_code(state: EmulatorState, code: str) -> Obj | None:
    for promo in state.promotion_codes.values():
        if promo["active"] and promo["code"].lower() == code.lower():
            return promo
    return None


# -- redeeming --------------------------------------------------------------------------
def find_code(state: EmulatorState, code: str) -> Obj:
    """The active promotion code spelled ``code`` (any case), or Stripe Checkout's refusal."""
    promo = _active_with_code(state, code.strip())
    if promo is None:
        raise StripeError(400, "This code is invalid.", code="promotion_code_invalid")
    return promo


def redeemable(state: EmulatorState, promo: Obj, session: Obj) -> Obj:
    """The coupon behind ``promo`` if ``session`` may use it; else Stripe Checkout's refusal."""
    coupon = coupon_or_404(state, promo["promotion"]["coupon"])
    now = state.clock.now()
    limits = promo["restrictions"]
    refused = (
        not promo["active"]
        or not coupon["valid"]
        or (promo["expires_at"] is not None and promo["expires_at"] <= now)
        or (
            promo["max_redemptions"] is not None
            and promo["times_redeemed"] >= promo["max_redemptions"]
        )
        or (promo["customer"] is not None and promo["customer"] != session.get("customer"))
        or (coupon["amount_off"] is not None and coupon["currency"] != session["currency"])
    )
    if refused:
        raise StripeError(400, "This code is invalid.", code="promotion_code_invalid")
    if (
        limits["minimum_amount"] is not None
        and session["amount_subtotal"] < limits["minimum_amount"]
    ):
        raise StripeError(
            400,
            "This code requires a larger order (minimum amount not reached).",
            code="promotion_code_invalid",
        )
    return coupon


def usable_coupon(state: EmulatorState, coupon: Obj, session: Obj, param: str) -> Obj:
    """A coupon given directly in ``discounts[0][coupon]`` must be valid and in the currency."""
    if not coupon["valid"]:
        raise StripeError(400, f"Coupon {coupon['id']} is no longer valid.", param=param)
    if coupon["amount_off"] is not None and coupon["currency"] != session["currency"]:
        raise StripeError(
            400,
            f"The coupon's currency ({coupon['currency']}) does not match the currency of "
            f"the Checkout Session ({session['currency']}).",
            param=param,
        )
    return coupon


def redeem(state: EmulatorState, session: Obj) -> None:
    """Count one use of the session's coupon and promotion code (on completion)."""
    for discount in session.get("discounts") or []:
        coupon = state.coupons.get(discount.get("coupon") or "")
        if coupon is not None:
            coupon["times_redeemed"] += 1
            _refresh_validity(state, coupon)
        promo = state.promotion_codes.get(discount.get("promotion_code") or "")
        if promo is not None:
            promo["times_redeemed"] += 1
