"""PaymentMethods: Stripe's test tokens (``pm_card_visa``...), attach/detach, retrieve, list.

A test token names a test card; every use of one (attaching it, paying with it) makes a new
``pm_…`` PaymentMethod with that card's details, as on Stripe. What each card does when charged
is its ``behavior`` (``None`` succeeds; else the decline code), which the control API may change
for a saved card (``/_emulator/payment_methods/{pm}/decline``). Unlike Stripe, which may refuse
to attach a card that declines, the emulator attaches every test card, so that a saved card's
off-session decline can be tested. Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

from stripetopup.emulator import changes
from stripetopup.emulator.calls import Call, only
from stripetopup.emulator.listing import page
from stripetopup.emulator.objects import rand
from stripetopup.emulator.state import EmulatorState, Obj, SortedIndex, new_id
from stripetopup.emulator.stripe_errors import StripeError, missing, no_such

# token -> (brand, last4, what a charge does: None = succeeds, else the decline)
TEST_CARDS: dict[str, tuple[str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_chargeCustomerFail": ("visa", "0341", "generic_decline"),
    "pm_card_authenticationRequired": ("visa", "3184", "authentication_required"),
}
DECLINES = ("generic_decline", "insufficient_funds", "authentication_required")


def payment_method(*, created: int, token: str, email: str | None = None) -> Obj:
    brand, last4, _ = TEST_CARDS[token]
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": None,
            "email": email,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": brand,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": rand(16),
            "funding": "credit",
            "generated_from": None,
            "last4": last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": created,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def resolve(state: EmulatorState, pm_id: str, param: str = "payment_method") -> Obj:
    """A stored PaymentMethod, or a new one made from a test token."""
    if pm_id in TEST_CARDS:
        pm = payment_method(created=state.clock.now(), token=pm_id)
        state.payment_methods[pm["id"]] = pm
        state.pm_index.add(pm["id"], pm["created"])
        state.pm_behavior[pm["id"]] = TEST_CARDS[pm_id][2]
        return pm
    stored = state.payment_methods.get(pm_id)
    if stored is None:
        raise no_such("PaymentMethod", pm_id, param)
    return stored


def attach_to(state: EmulatorState, pm: Obj, customer_id: str) -> list[changes.Change]:
    """Attach ``pm`` to a customer; the ``payment_method.attached`` change (none if already)."""
    if pm["customer"] == customer_id:
        return []
    if pm["customer"] is not None:
        raise StripeError(
            400,
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
            param="payment_method",
        )
    pm["customer"] = customer_id
    return [("payment_method.attached", pm, {"customer": None})]


def attach(call: Call) -> Obj:
    only(call.params, {"customer", "expand"})
    state = call.state
    customer_id = str(call.params.get("customer") or "")
    if not customer_id:
        raise missing("customer")
    customer = state.customers.get(customer_id)
    if customer is None or customer.get("deleted"):
        raise no_such("customer", customer_id, "customer")
    pm = resolve(state, call.path["id"], "payment_method")
    changes.emit(state, attach_to(state, pm, customer_id), call.origin)
    return pm


def detach(call: Call) -> Obj:
    only(call.params, {"expand"})
    state = call.state
    pm = resolve(state, call.path["id"], "payment_method")
    if pm["customer"] is None:
        raise StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
            param="payment_method",
        )
    previous = {"customer": pm["customer"]}
    pm["customer"] = None
    changes.emit(state, [("payment_method.detached", pm, previous)], call.origin)
    return pm


def retrieve(call: Call) -> Obj:
    only(call.params, {"expand"})
    return resolve(call.state, call.path["id"], "payment_method")


def list_for_customer(call: Call) -> Obj:
    params, state = call.params, call.state
    only(params, {"limit", "starting_after", "ending_before", "expand", "type"})
    customer_id = call.path.get("id") or str(params.get("customer") or "")
    return _list(state, params, customer_id, f"/v1/customers/{customer_id}/payment_methods")


def list_payment_methods(call: Call) -> Obj:
    params = call.params
    only(params, {"limit", "starting_after", "ending_before", "expand", "type", "customer"})
    customer_id = str(params.get("customer") or "")
    if not customer_id:
        raise missing("customer")
    return _list(call.state, params, customer_id, "/v1/payment_methods")


def _list(state: EmulatorState, params: dict[str, Any], customer_id: str, url: str) -> Obj:
    customer = state.customers.get(customer_id)
    if customer is None or customer.get("deleted"):
        raise no_such("customer", customer_id, "customer")
    kind = params.get("type")

    def keep(pm: Obj) -> bool:
        return pm["customer"] == customer_id and (kind in (None, "") or pm["type"] == kind)

    index: SortedIndex = state.pm_index
    return page(
        state,
        index,
        state.payment_methods,
        params,
        url=url,
        object_name="payment_method",
        keep=keep,
    )


def behavior(state: EmulatorState, pm_id: str) -> str | None:
    return state.pm_behavior.get(pm_id)


def set_behavior(state: EmulatorState, pm_id: str, decline: str | None) -> Obj:
    """Control API: a saved card starts declining (``decline``) or succeeds again (None)."""
    pm = state.payment_methods.get(pm_id)
    if pm is None:
        raise no_such("PaymentMethod", pm_id)
    if decline is not None and decline not in DECLINES:
        raise StripeError(400, f"decline must be one of {list(DECLINES)} or null")
    state.pm_behavior[pm_id] = decline
    return {"id": pm_id, "decline": decline}
