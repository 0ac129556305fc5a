"""``POST /v1/payment_intents`` (and ``/{id}/confirm``): charging a saved card, e.g. off-session.

The outcome is the card's (``payment_methods.behavior``): it succeeds (``charge.succeeded``,
``payment_intent.succeeded``), or declines with Stripe's 402 ``card_error``
(``card_declined`` with ``decline_code`` ``generic_decline`` or ``insufficient_funds``: a failed
charge, ``charge.failed``), or needs authentication (off-session: 402
``authentication_required`` and no charge; on-session: ``requires_action``). A declined
PaymentIntent is kept in ``requires_payment_method`` with ``last_payment_error``, and the 402 is
what an ``Idempotency-Key`` replays. Also ``GET /v1/payment_intents`` (``created``, ``customer``).
Imports only the stdlib.
"""

from __future__ import annotations

import copy
from typing import Any

from stripetopup.emulator import payment_methods, payment_objects, payments, sessions
from stripetopup.emulator.calls import Call, only, parse_bool, text
from stripetopup.emulator.listing import expand, expand_params, page, parse_int
from stripetopup.emulator.state import EmulatorState, Obj, SortedIndex
from stripetopup.emulator.stripe_errors import StripeError, missing, no_such

_CREATE = {
    "amount",
    "currency",
    "customer",
    "payment_method",
    "off_session",
    "confirm",
    "metadata",
    "description",
    "payment_method_types",
    "setup_future_usage",
    "receipt_email",
    "statement_descriptor_suffix",
    "return_url",
    "error_on_requires_action",
    "automatic_payment_methods",
    "expand",
}
_CONFIRM = {"payment_method", "off_session", "return_url", "error_on_requires_action", "expand"}
MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


def create_payment_intent(call: Call) -> Obj:
    params, state = call.params, call.state
    only(params, _CREATE)
    amount, currency = _amount(params)
    customer_id = _customer(state, params)
    confirm = parse_bool(params.get("confirm", "false"), "confirm")
    if "off_session" in params and not confirm:
        raise StripeError(
            400, "You may only specify `off_session` when `confirm=true`.", param="off_session"
        )
    future = params.get("setup_future_usage") or None
    if future not in (None, "off_session", "on_session"):
        raise StripeError(
            400,
            "Invalid setup_future_usage: must be one of off_session or on_session",
            param="setup_future_usage",
        )
    pi = payment_objects.payment_intent(
        created=state.clock.now(),
        amount=amount,
        currency=currency,
        metadata=dict(params.get("metadata") or {}),
        livemode=False,
    )
    pi.update(
        customer=customer_id,
        description=text(params, "description", 1000),
        payment_method=None,
        setup_future_usage=future,
        capture_method="automatic",
    )
    if params.get("payment_method"):
        pm = payment_methods.resolve(state, str(params["payment_method"]))
        _check_owner(pm, customer_id)
        pi.update(payment_method=pm["id"], status="requires_confirmation")
    state.payment_intents[pi["id"]] = pi
    changes: list[payments.Change] = [("payment_intent.created", copy.deepcopy(pi), None)]
    if not confirm:
        payments.emit(state, changes, call.origin)
        return expand(state, pi, expand_params(params))
    return _confirm(call, pi, params, changes)


def confirm_payment_intent(call: Call) -> Obj:
    params, state = call.params, call.state
    only(params, _CONFIRM)
    pi = state.payment_intents.get(call.path["id"])
    if pi is None:
        raise no_such("payment_intent", call.path["id"])
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise StripeError(
            400,
            f"This PaymentIntent's status is {pi['status']}; it cannot be confirmed.",
            code="payment_intent_unexpected_state",
        )
    if params.get("payment_method"):
        pm = payment_methods.resolve(state, str(params["payment_method"]))
        _check_owner(pm, pi["customer"])
        pi["payment_method"] = pm["id"]
    return _confirm(call, pi, params, [])


def _confirm(call: Call, pi: Obj, params: dict[str, Any], changes: list[payments.Change]) -> Obj:
    state = call.state
    if not pi["payment_method"]:
        raise StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
        )
    off_session = params.get("off_session") not in (None, "", "false", False)
    pm = state.payment_methods[pi["payment_method"]]
    outcome = payment_methods.behavior(state, pm["id"])
    if outcome == "authentication_required" and not off_session:
        pi.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect"},
            },
        )
        payments.emit(state, [*changes, ("payment_intent.requires_action", pi, None)], call.origin)
        return expand(state, pi, expand_params(params))
    if outcome is None:
        charge = _charge(state, pi, pm, None)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge["id"],
        )
        if pi["setup_future_usage"] and pi["customer"]:
            changes += payment_methods.attach_to(state, pm, pi["customer"])
        changes += [("charge.succeeded", charge, None), ("payment_intent.succeeded", pi, None)]
        payments.emit(state, changes, call.origin)
        return expand(state, pi, expand_params(params))
    failed = None if outcome == "authentication_required" else _charge(state, pi, pm, outcome)
    raise _declined(call, pi, pm, failed, outcome, changes)


def _declined(
    call: Call,
    pi: Obj,
    pm: Obj,
    charge: Obj | None,
    decline: str,
    changes: list[payments.Change],
) -> StripeError:
    code = "authentication_required" if decline == "authentication_required" else "card_declined"
    error: Obj = {
        "code": code,
        "decline_code": decline,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": MESSAGES[decline],
        "payment_method": copy.deepcopy(pm),
        "type": "card_error",
    }
    if charge is not None:
        error["charge"] = charge["id"]
        pi["latest_charge"] = charge["id"]
        changes.append(("charge.failed", charge, None))
    pi.update(status="requires_payment_method", last_payment_error=error, payment_method=None)
    changes.append(("payment_intent.payment_failed", pi, None))
    payments.emit(call.state, changes, call.origin)
    extra = {k: v for k, v in error.items() if k not in ("code", "doc_url", "message", "type")}
    extra["payment_intent"] = copy.deepcopy(pi)
    return StripeError(
        402, MESSAGES[decline], type="card_error", code=code, extra=extra, idempotent=True
    )


def _charge(state: EmulatorState, pi: Obj, pm: Obj, decline: str | None) -> Obj:
    charge = payment_objects.charge(
        created=state.clock.now(), pi={**pi, "payment_method": pm["id"]}, email=None, delayed=False
    )
    card = charge["payment_method_details"]["card"]
    card.update(brand=pm["card"]["brand"], last4=pm["card"]["last4"], network=pm["card"]["brand"])
    charge["customer"] = pi["customer"]
    if decline is not None:
        charge.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            balance_transaction=None,
            failure_code="card_declined",
            failure_message=MESSAGES[decline],
        )
        charge["outcome"].update(
            network_status="declined_by_network",
            reason=decline,
            seller_message="The bank did not return any further details with this decline."
            if decline == "generic_decline"
            else f"The bank returned the decline code `{decline}`.",
            type="issuer_declined",
        )
    state.charges[charge["id"]] = charge
    return charge


def list_payment_intents(call: Call) -> Obj:
    """``GET /v1/payment_intents``: every PaymentIntent (Checkout's too), newest first."""
    params, state = call.params, call.state
    only(params, {"limit", "starting_after", "ending_before", "created", "expand", "customer"})
    customer = params.get("customer")

    def keep(pi: Obj) -> bool:
        return bool(pi["customer"] == customer)

    return page(
        state,
        _index(state),
        state.payment_intents,
        params,
        url="/v1/payment_intents",
        object_name="payment_intent",
        keep=keep if customer else None,
    )


def _index(state: EmulatorState) -> SortedIndex:
    """Built when a list is asked for (PaymentIntents are never removed, so a count suffices);
    the seeding and payment paths stay as fast as before."""
    if len(state.pi_index) != len(state.payment_intents):
        index = SortedIndex()
        index.add_many([(pi_id, pi["created"]) for pi_id, pi in state.payment_intents.items()])
        state.pi_index = index
    return state.pi_index


def _amount(params: dict[str, Any]) -> tuple[int, str]:
    if "amount" not in params:
        raise missing("amount")
    amount = parse_int(params, "amount", params["amount"])
    currency = str(params.get("currency") or "").lower()
    if not currency:
        raise missing("currency")
    minimum = sessions.minimum_amount(currency)
    if amount < minimum:
        raise StripeError(
            400,
            f"Amount must be at least {minimum} minor units ({currency})",
            code="amount_too_small",
            param="amount",
        )
    return amount, currency


def _customer(state: EmulatorState, params: dict[str, Any]) -> str | None:
    customer_id = params.get("customer")
    if not customer_id:
        return None
    customer = state.customers.get(str(customer_id))
    if customer is None or customer.get("deleted"):
        raise no_such("customer", str(customer_id), "customer")
    return str(customer_id)


def _check_owner(pm: Obj, customer_id: str | None) -> None:
    if pm["customer"] is not None and pm["customer"] != customer_id:
        raise StripeError(
            400,
            "The provided PaymentMethod belongs to another Customer; pass that `customer`.",
            param="payment_method",
        )
