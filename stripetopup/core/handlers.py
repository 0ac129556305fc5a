"""What each Stripe event does to the ledger and the payment rows.

Each handler runs inside the caller's transaction and is idempotent. Checkout Session
events credit through :func:`credit_session`, the one exactly-once credit path (source
``checkout_session:cs_...``) that the webhook, replay, reconcile and ``payments assign``
all share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from stripetopup.core import sources
from stripetopup.core.context import Context
from stripetopup.core.handlers_reversals import (
    DISPUTE_EVENTS,
    REFUND_EVENTS,
    gather_dispute_facts,
    gather_refund_facts,
    on_dispute_event,
    on_refund_event,
)
from stripetopup.core.results import EventOutcome
from stripetopup.errors import NotFound
from stripetopup.models import StripePayment
from stripetopup.store import ledger, payments


def session_account_id(obj: dict[str, Any]) -> str | None:
    """The account a Checkout Session pays for: client_reference_id, else metadata."""
    metadata = obj.get("metadata") or {}
    value = obj.get("client_reference_id") or metadata.get("account_id")
    return str(value) if value else None


def attention_reason(ctx: Context, obj: dict[str, Any]) -> str | None:
    """Why a paid session must not be credited automatically, or None when it may be.

    Whether the account exists is not asked here: the credit itself finds out, under the
    account's lock, and answers ``unknown account`` the same way.
    """
    if session_account_id(obj) is None:
        return "no account: the session has no client_reference_id or metadata.account_id"
    currency = str(obj.get("currency") or "").lower()
    if currency != ctx.currency:
        return f"currency {currency or 'missing'} is not {ctx.currency}"
    if bool(obj.get("livemode")) != ctx.settings.livemode:
        mode = "live" if obj.get("livemode") else "test"
        return f"{mode}-mode payment does not match this {_mode(ctx)}-mode installation"
    amount = obj.get("amount_total")
    if not isinstance(amount, int) or amount <= 0:
        return "the session has no positive amount_total"
    return None


def _mode(ctx: Context) -> str:
    return "live" if ctx.settings.livemode else "test"


def credit_session(
    session: Session,
    ctx: Context,
    obj: dict[str, Any],
    *,
    actor: str,
    event_id: str | None,
    account_override: str | None = None,
    reason: str | None = None,
) -> tuple[str, str, StripePayment, int | None]:
    """Credit a paid session's ``amount_total`` once. Returns (result, detail, row, entry id)."""
    account_id = account_override or session_account_id(obj)
    payment = payments.upsert_from_stripe(session, obj, account_id)
    if payment.state == "dismissed":
        return "ignored", "payment was dismissed by an operator", payment, None
    if payment.state == "credited" and account_override is None:
        # Credited already (perhaps assigned by an operator to another account than the
        # session names): a late event must not flag it for attention again.
        entry_id = payment.credited_entry_id
        return "already_applied", "this payment was already credited", payment, entry_id
    problem = None if account_override else attention_reason(ctx, obj)
    if problem is not None:
        payments.advance(session, payment, "attention", reason=problem)
        return "attention", problem, payment, None
    assert account_id is not None
    posting = ledger.Posting(
        account_id=account_id,
        amount_cents=int(obj["amount_total"]),
        currency=str(obj["currency"]).lower(),
        kind="topup",
        source=sources.checkout_credit(str(obj["id"])),
        actor=actor,
        reason=reason,
        checkout_session_id=str(obj["id"]),
        payment_intent_id=payment.payment_intent_id,
        event_id=event_id,
    )
    try:
        result = ledger.post(session, posting)
    except NotFound:  # raised before anything is written: the account lookup comes first
        problem = f"unknown account: {account_id}"
        payments.advance(session, payment, "attention", reason=problem)
        return "attention", problem, payment, None
    payments.advance(session, payment, "credited", entry_id=result.entry.id, force=True)
    if result.created:
        return (
            "credited",
            f"credited {obj['amount_total']} to {account_id}",
            payment,
            result.entry.id,
        )
    return "already_applied", "this payment was already credited", payment, result.entry.id


def _outcome(
    event: dict[str, Any], result: str, detail: str, obj: dict[str, Any], **kw: Any
) -> EventOutcome:
    return EventOutcome(
        event_id=str(event["id"]),
        event_type=str(event["type"]),
        result=result,
        detail=detail,
        account_id=session_account_id(obj),
        **kw,
    )


def on_session_completed(
    session: Session, ctx: Context, event: dict[str, Any], actor: str, facts: Any = None
) -> EventOutcome:
    obj = event["data"]["object"]
    status = obj.get("payment_status")
    if status == "paid":
        return _credit(session, ctx, event, obj, actor)
    account_id = session_account_id(obj)
    payment = payments.upsert_from_stripe(session, obj, account_id)
    if status == "no_payment_required":
        payments.advance(session, payment, "no_payment_required")
        return _outcome(event, "ignored", "no payment required: nothing to credit", obj)
    payments.advance(session, payment, "pending")
    return _outcome(
        event, "recorded", "payment pending (delayed method): awaiting async result", obj
    )


def on_async_succeeded(
    session: Session, ctx: Context, event: dict[str, Any], actor: str, facts: Any = None
) -> EventOutcome:
    obj = event["data"]["object"]
    # The async success event is the payment confirmation even if the copy of the
    # session it carries was serialised before payment_status flipped.
    return _credit(session, ctx, event, {**obj, "payment_status": "paid"}, actor)


def on_async_failed(
    session: Session, ctx: Context, event: dict[str, Any], actor: str, facts: Any = None
) -> EventOutcome:
    return _mark(session, event, "failed", "delayed payment failed")


def on_session_expired(
    session: Session, ctx: Context, event: dict[str, Any], actor: str, facts: Any = None
) -> EventOutcome:
    return _mark(session, event, "expired", "session expired unpaid")


def _mark(session: Session, event: dict[str, Any], state: str, detail: str) -> EventOutcome:
    """Record an end state that moves no money (never undoing a credit)."""
    obj = event["data"]["object"]
    payment = payments.upsert_from_stripe(session, obj, session_account_id(obj))
    if payments.advance(session, payment, state):
        return _outcome(event, "recorded", detail, obj)
    return _outcome(event, "ignored", f"payment already {payment.state}", obj)


def _credit(
    session: Session, ctx: Context, event: dict[str, Any], obj: dict[str, Any], actor: str
) -> EventOutcome:
    result, detail, payment, entry_id = credit_session(
        session, ctx, obj, actor=actor, event_id=str(event["id"])
    )
    return _outcome(
        event, result, detail, obj, amount_cents=payment.amount_total_cents, entry_id=entry_id
    )


# (transaction, context, event, actor, what the gatherer fetched) -> what it did
Handler = Callable[[Session, Context, dict[str, Any], str, Any], EventOutcome]
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_async_succeeded,
    "checkout.session.async_payment_failed": on_async_failed,
    "checkout.session.expired": on_session_expired,
    # Refunds and disputes: see stripetopup.core.handlers_reversals.
    **dict.fromkeys(REFUND_EVENTS, on_refund_event),
    **dict.fromkeys(DISPUTE_EVENTS, on_dispute_event),
}
# What a handler needs from Stripe, asked before its transaction opens.
GATHERERS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    **dict.fromkeys(REFUND_EVENTS, gather_refund_facts),
    **dict.fromkeys(DISPUTE_EVENTS, gather_dispute_facts),
}
