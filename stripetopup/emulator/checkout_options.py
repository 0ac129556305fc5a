"""The buyer-flow options of ``POST /v1/checkout/sessions``: tax, discounts, invoices, customers.

``apply_options`` reads ``automatic_tax``, ``allow_promotion_codes``, ``discounts``,
``invoice_creation``, ``customer`` and ``customer_creation`` into a freshly built session (which
is left byte-for-byte as before when none is given). ``apply_discount`` attaches a coupon or
promotion code and reprices. Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

from stripetopup.emulator import discounts, pricing
from stripetopup.emulator.calls import parse_bool
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import StripeError, no_such

_INVOICE_DATA = ("account_tax_ids", "custom_fields", "description", "footer", "metadata")


def apply_options(state: EmulatorState, session: Obj, params: dict[str, Any]) -> None:
    """Validate the buyer-flow parameters and set them on ``session`` (caller holds the lock)."""
    _customer(state, session, params)
    if _enabled(params, "automatic_tax"):
        session["automatic_tax"] = {
            "enabled": True,
            "liability": {"type": "self"},
            "provider": "stripe",
            "status": "requires_location_inputs",
        }
    if "allow_promotion_codes" in params:
        allowed = parse_bool(params["allow_promotion_codes"], "allow_promotion_codes")
        if allowed and params.get("discounts"):
            raise StripeError(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            )
        session["allow_promotion_codes"] = allowed
    if _enabled(params, "invoice_creation"):
        _invoice_creation(session, params["invoice_creation"])
    if params.get("discounts"):
        _discounts(state, session, params["discounts"])
    elif session["automatic_tax"]["enabled"] and located(state, session):
        reprice(state, session)


def _enabled(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    if not isinstance(raw, dict) or "enabled" not in raw:
        raise StripeError(
            400,
            f"Missing required param: {name}[enabled].",
            code="parameter_missing",
            param=f"{name}[enabled]",
        )
    return parse_bool(raw["enabled"], f"{name}[enabled]")


def _customer(state: EmulatorState, session: Obj, params: dict[str, Any]) -> None:
    creation = params.get("customer_creation")
    if creation not in (None, "", "always", "if_required"):
        raise StripeError(
            400,
            "Invalid customer_creation: must be one of always or if_required",
            param="customer_creation",
        )
    customer_id = params.get("customer")
    if not customer_id:
        if creation:
            session["customer_creation"] = creation
        return
    if creation:
        raise StripeError(
            400,
            "You may only specify one of these parameters: customer, customer_creation.",
        )
    if params.get("customer_email"):
        raise StripeError(
            400, "You may only specify one of these parameters: customer, customer_email."
        )
    customer = state.customers.get(str(customer_id))
    if customer is None or customer.get("deleted"):
        raise no_such("customer", str(customer_id), "customer")
    session["customer"] = customer["id"]
    session["customer_creation"] = None


def _invoice_creation(session: Obj, raw: dict[str, Any]) -> None:
    if session["mode"] != "payment":
        raise StripeError(
            400,
            "invoice_creation can only be used in payment mode.",
            param="invoice_creation",
        )
    data = raw.get("invoice_data") or {}
    if not isinstance(data, dict):
        raise StripeError(400, "Invalid object", param="invoice_creation[invoice_data]")
    invoice_data = dict(session["invoice_creation"]["invoice_data"])
    for name in _INVOICE_DATA:
        if name in data:
            invoice_data[name] = data[name]
    invoice_data["metadata"] = dict(data.get("metadata") or {})
    session["invoice_creation"] = {"enabled": True, "invoice_data": invoice_data}


def _discounts(state: EmulatorState, session: Obj, raw: Any) -> None:
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], dict):
        raise StripeError(400, "Invalid array", param="discounts")
    if len(raw) > 1:
        raise StripeError(
            400, "You may only specify one discount on a Checkout Session.", param="discounts"
        )
    entry = raw[0]
    if entry.get("promotion_code"):
        promo = state.promotion_codes.get(str(entry["promotion_code"]))
        if promo is None:
            raise no_such(
                "promotion_code", str(entry["promotion_code"]), "discounts[0][promotion_code]"
            )
        apply_discount(state, session, discounts.redeemable(state, promo, session), promo)
    elif entry.get("coupon"):
        param = "discounts[0][coupon]"
        coupon = discounts.coupon_or_404(state, str(entry["coupon"]), param)
        apply_discount(state, session, discounts.usable_coupon(state, coupon, session, param), None)
    else:
        raise StripeError(
            400, "Each discount needs a coupon or a promotion_code.", param="discounts[0]"
        )


def apply_discount(state: EmulatorState, session: Obj, coupon: Obj, promo: Obj | None) -> None:
    """Attach ``coupon`` (through ``promo`` if given) to an open session and reprice it."""
    session["discounts"] = [
        {"coupon": coupon["id"], "promotion_code": promo["id"] if promo else None}
    ]
    reprice(state, session)


def apply_code(state: EmulatorState, session: Obj, code: str, minimum: int) -> None:
    """The customer types a promotion code on the page (``allow_promotion_codes`` only).

    A code that would leave less than the currency's ``minimum`` (but more than zero) to pay
    is refused and the session keeps its amounts.
    """
    if not session.get("allow_promotion_codes"):
        raise StripeError(
            400, "This Checkout Session does not accept promotion codes.", param="promotion_code"
        )
    promo = discounts.find_code(state, code)
    coupon = discounts.redeemable(state, promo, session)
    before = session.get("discounts") or []
    apply_discount(state, session, coupon, promo)
    if 0 < session["amount_total"] < minimum:
        session["discounts"] = before
        reprice(state, session)
        raise StripeError(
            400,
            "This code cannot be applied: the total due would fall below the minimum charge.",
            code="amount_too_small",
        )


def session_coupon(state: EmulatorState, session: Obj) -> Obj | None:
    for discount in session.get("discounts") or []:
        coupon = state.coupons.get(discount.get("coupon") or "")
        if coupon is not None:
            return coupon
    return None


def located(state: EmulatorState, session: Obj) -> bool:
    """Whether tax can be computed yet: the session's customer has a country on file."""
    customer = state.customers.get(session.get("customer") or "")
    address = (customer or {}).get("address") or {}
    return bool(address.get("country"))


def reprice(state: EmulatorState, session: Obj, *, located_now: bool = False) -> None:
    """Recompute amounts; tax is computed once the buyer's location is known."""
    taxed = session["automatic_tax"]["enabled"] and (located_now or located(state, session))
    pricing.reprice(state, session, session_coupon(state, session), taxed)
    if taxed:
        session["automatic_tax"]["status"] = "complete"
