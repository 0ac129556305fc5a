"""State changes after a session exists: paying, async outcomes, expiry, refunds, disputes.

Each function mutates the stored objects (caller holds ``state.lock``) and publishes the events
Stripe would send for that change, with ``data.object`` snapshots and ``previous_attributes``.
Imports only the stdlib.
"""

from __future__ import annotations

import copy

from stripetopup.emulator import completion, payment_objects

# Re-exported: the emulator's other modules publish through payments.emit and friends.
from stripetopup.emulator.changes import CONTROL as CONTROL
from stripetopup.emulator.changes import Change as Change
from stripetopup.emulator.changes import Origin as Origin
from stripetopup.emulator.changes import emit as emit
from stripetopup.emulator.state import EmulatorState, Obj, new_id
from stripetopup.emulator.stripe_errors import StripeError, no_such


def session_or_404(state: EmulatorState, session_id: str) -> Obj:
    session = state.sessions.get(session_id)
    if session is None:
        raise no_such("checkout.session", session_id)
    return session


def require_open(state: EmulatorState, session: Obj) -> None:
    """Expire an overdue session, then refuse any session that is not open."""
    _require_open(state, session)


def _require_open(state: EmulatorState, session: Obj) -> None:
    if session["status"] == "open" and session["expires_at"] <= state.clock.now():
        expire(state, session, CONTROL)
    if session["status"] != "open":
        raise StripeError(
            400,
            f"This Checkout Session is no longer active (status: {session['status']}).",
        )


def pay(
    state: EmulatorState,
    session: Obj,
    method: str,
    *,
    emit_events: bool = True,
    at: int | None = None,
    card: str | None = None,
) -> Obj:
    """The customer pays: ``card`` succeeds at once, ``delayed`` leaves the payment processing.

    ``at`` backdates the payment and its events (seeding); it skips the expiry check.
    ``card`` is the test card typed (``pm_card_visa`` when a card is saved and none is named).
    """
    if at is None:
        _require_open(state, session)
    elif session["status"] != "open":
        raise StripeError(400, "This Checkout Session is no longer active.")
    if method not in ("card", "delayed"):
        raise StripeError(400, "method must be 'card' or 'delayed'", param="method")
    completion.check_card(card)
    now = state.clock.now() if at is None else at
    delayed = method == "delayed"
    if session["mode"] == "setup":
        if delayed:
            raise StripeError(400, "A setup-mode session saves a card: method must be 'card'.")
        email = completion.buyer_email(state, session)
        saved = completion.save_card(state, session, card, email)
        if emit_events:
            emit(state, [*saved, ("checkout.session.completed", session, None)], CONTROL, now)
        return session
    completion.prepare(state, session)
    if session["amount_total"] == 0:
        return _complete_free(state, session, now, emit_events)
    pi = payment_objects.payment_intent(
        created=now,
        amount=session["amount_total"],
        currency=session["currency"],
        metadata=state.pi_metadata.get(session["id"], {}),
        livemode=session["livemode"],
    )
    email = completion.buyer_email(state, session)
    ch = payment_objects.charge(created=now, pi=pi, email=email, delayed=delayed)
    pi["latest_charge"] = ch["id"]
    if delayed:
        pi["payment_method_types"] = ["us_bank_account"]
        pi["status"] = "processing"
    else:
        pi["status"] = "succeeded"
        pi["amount_received"] = pi["amount"]
    state.link_payment(session, pi, ch)
    session.update(
        status="complete",
        payment_status="unpaid" if delayed else "paid",
        payment_intent=pi["id"],
        url=None,
        customer_details=_customer_details(state, session, email),
    )
    state.open_sessions.discard(session["id"])
    extra = completion.attach(state, session, None if delayed else card)
    if not delayed:
        extra += completion.finish(state, session)
    if emit_events:
        if delayed:
            changes: list[Change] = [
                ("charge.pending", ch, None),
                ("payment_intent.processing", pi, None),
            ]
        else:
            changes = [("charge.succeeded", ch, None), ("payment_intent.succeeded", pi, None)]
        changes += extra
        emit(state, [*changes, ("checkout.session.completed", session, None)], CONTROL, now)
    return session


def _customer_details(state: EmulatorState, session: Obj, email: str) -> Obj:
    return {
        "address": completion.buyer_address(state, session),
        "email": email,
        "name": None,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def _complete_free(state: EmulatorState, session: Obj, now: int, emit_events: bool) -> Obj:
    """A total of zero (a 100% coupon): complete with ``no_payment_required``, no payment."""
    email = completion.buyer_email(state, session)
    session.update(
        status="complete",
        payment_status="no_payment_required",
        url=None,
        customer_details=_customer_details(state, session, email),
    )
    state.open_sessions.discard(session["id"])
    extra = completion.attach(state, session, None) + completion.finish(state, session)
    if emit_events:
        emit(state, [*extra, ("checkout.session.completed", session, None)], CONTROL, now)
    return session


def _processing(state: EmulatorState, session: Obj) -> tuple[Obj, Obj]:
    pi = state.payment_intents.get(session.get("payment_intent") or "")
    if pi is None or pi["status"] != "processing":
        raise StripeError(400, "This Checkout Session has no payment awaiting an async outcome.")
    return pi, state.charges[pi["latest_charge"]]


def async_succeed(state: EmulatorState, session: Obj, *, emit_events: bool = True) -> Obj:
    pi, ch = _processing(state, session)
    pi.update(status="succeeded", amount_received=pi["amount"])
    ch.update(
        status="succeeded",
        paid=True,
        captured=True,
        amount_captured=ch["amount"],
        balance_transaction=new_id("txn"),
    )
    session["payment_status"] = "paid"
    extra = completion.finish(state, session)
    if emit_events:
        emit(
            state,
            [
                ("charge.succeeded", ch, {"status": "pending", "paid": False}),
                ("payment_intent.succeeded", pi, {"status": "processing"}),
                *extra,
                ("checkout.session.async_payment_succeeded", session, None),
            ],
            CONTROL,
        )
    return session


def async_fail(state: EmulatorState, session: Obj, *, emit_events: bool = True, at: int = 0) -> Obj:
    pi, ch = _processing(state, session)
    failure = {
        "code": "payment_method_provider_decline",
        "message": "The customer's bank declined the payment.",
        "type": "card_error",
    }
    pi.update(status="requires_payment_method", last_payment_error=failure)
    ch.update(
        status="failed",
        failure_code=failure["code"],
        failure_message=failure["message"],
    )
    if emit_events:
        emit(
            state,
            [
                ("charge.failed", ch, {"status": "pending"}),
                ("payment_intent.payment_failed", pi, {"status": "processing"}),
                ("checkout.session.async_payment_failed", session, None),
            ],
            CONTROL,
            at,
        )
    return session


def expire(state: EmulatorState, session: Obj, origin: Origin, at: int = 0) -> Obj:
    if session["status"] != "open":
        raise StripeError(
            400,
            f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
        )
    session.update(status="expired", url=None)
    state.open_sessions.discard(session["id"])
    emit(state, [("checkout.session.expired", session, {"status": "open"})], origin, at)
    return session


def sweep_expired(state: EmulatorState) -> int:
    """Expire open sessions whose ``expires_at`` has passed (after the clock moves)."""
    now = state.clock.now()
    due = [sid for sid in state.open_sessions if state.sessions[sid]["expires_at"] <= now]
    for sid in sorted(due, key=lambda s: state.session_index.keys[s]):
        expire(state, state.sessions[sid], CONTROL)
    return len(due)


def charge_for(state: EmulatorState, *, payment_intent: str | None, charge: str | None) -> Obj:
    """Resolve a refund/dispute target from a PaymentIntent, Charge or Checkout Session id."""
    if charge:
        found = state.charges.get(charge)
        if found is None:
            raise no_such("charge", charge, "charge")
        return found
    if not payment_intent:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
        )
    if payment_intent.startswith("cs_"):
        payment_intent = session_or_404(state, payment_intent).get("payment_intent") or ""
    pi = state.payment_intents.get(payment_intent)
    if pi is None:
        raise no_such("payment_intent", payment_intent, "payment_intent")
    if not pi["latest_charge"] or pi["status"] != "succeeded":
        raise StripeError(
            400,
            f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
            code="charge_not_refundable" if pi["latest_charge"] else None,
            param="payment_intent",
        )
    return state.charges[pi["latest_charge"]]


def refund(
    state: EmulatorState, ch: Obj, amount: int | None, reason: str | None, origin: Origin
) -> Obj:
    remaining = ch["amount"] - ch["amount_refunded"]
    if ch["status"] != "succeeded":
        raise StripeError(400, f"Charge {ch['id']} has not succeeded; it cannot be refunded.")
    if ch["refunded"] or remaining <= 0:
        raise StripeError(
            400,
            f"Charge {ch['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    amount = remaining if amount is None else amount
    if amount < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="amount")
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({_fmt(amount, ch['currency'])}) is greater than charge amount "
            f"({_fmt(remaining, ch['currency'])})",
            param="amount",
        )
    re = payment_objects.refund(
        created=state.clock.now(), amount=amount, charge_obj=ch, reason=reason
    )
    state.add_refund(re)
    previous = {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"]}
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    emit(state, [("charge.refunded", ch, previous), ("refund.created", re, None)], origin)
    return re


def set_refund_status(state: EmulatorState, re: Obj, status: str) -> Obj:
    if status not in ("succeeded", "failed", "canceled", "pending", "requires_action"):
        raise StripeError(400, f"Invalid refund status: {status}", param="status")
    previous = {"status": re["status"]}
    if previous["status"] == status:
        return re
    ch = state.charges[re["charge"]]
    was_counted = previous["status"] in ("succeeded", "pending", "requires_action")
    counts = status in ("succeeded", "pending", "requires_action")
    if was_counted and not counts:
        ch["amount_refunded"] -= re["amount"]
    elif counts and not was_counted:
        ch["amount_refunded"] += re["amount"]
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    re["status"] = status
    if status == "failed":
        re["failure_reason"] = "declined"
    emit(
        state,
        [("refund.updated", re, previous), ("charge.refund.updated", re, previous)],
        CONTROL,
    )
    return re


def dispute(state: EmulatorState, ch: Obj, amount: int | None, reason: str, withdraw: bool) -> Obj:
    if ch["status"] != "succeeded":
        raise StripeError(400, f"Charge {ch['id']} has not succeeded; it cannot be disputed.")
    now = state.clock.now()
    du = payment_objects.dispute(
        created=now, amount=amount or ch["amount"], charge_obj=ch, reason=reason
    )
    state.add_dispute(du)
    ch["disputed"] = True
    changes: list[Change] = [("charge.dispute.created", copy.deepcopy(du), None)]
    if withdraw:
        txn = payment_objects.balance_transaction(
            created=now,
            amount=-du["amount"],
            currency=du["currency"],
            source=du["id"],
            kind="withdrawal",
        )
        du["balance_transactions"].append(txn)
        changes.append(("charge.dispute.funds_withdrawn", du, {"balance_transactions": []}))
    emit(state, changes, CONTROL)
    return du


def close_dispute(state: EmulatorState, du: Obj, outcome: str) -> Obj:
    if outcome not in ("won", "lost"):
        raise StripeError(400, "outcome must be 'won' or 'lost'", param="outcome")
    if du["status"] in ("won", "lost"):
        raise StripeError(400, f"Dispute {du['id']} is already closed ({du['status']}).")
    previous = {"status": du["status"]}
    changes: list[Change] = []
    withdrawn = any(t["amount"] < 0 for t in du["balance_transactions"])
    if outcome == "won" and withdrawn:
        before = {"balance_transactions": list(du["balance_transactions"])}
        du["balance_transactions"].append(
            payment_objects.balance_transaction(
                created=state.clock.now(),
                amount=du["amount"],
                currency=du["currency"],
                source=du["id"],
                kind="reinstatement",
            )
        )
        changes.append(("charge.dispute.funds_reinstated", copy.deepcopy(du), before))
    du["status"] = outcome
    du["evidence_details"]["has_evidence"] = True
    changes.append(("charge.dispute.closed", du, previous))
    emit(state, changes, CONTROL)
    return du


def _fmt(minor: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{minor // 100}.{minor % 100:02d}"
