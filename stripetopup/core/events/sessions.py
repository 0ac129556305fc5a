"""What the Checkout Session events do to the ledger and the payment rows.

Each handler runs inside the caller's transaction and is idempotent. A paid session is
credited through :func:`stripetopup.core.events.credit.credit_session`, the one exactly-once
credit (source ``checkout_session:cs_...``) that the webhook, replay, reconcile and
``payments assign`` all share. The event's object is validated into a typed
:class:`~stripetopup.stripe_objects.CheckoutSession` first (a mistyped money field is a
PayloadError). :mod:`stripetopup.core.events.registry` maps event types to these handlers.
Imports core (credit, results, context), store, models and the typed Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events import receipts
from stripetopup.core.events.credit import credit_session, session_account_id
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.outbound.emit import advance_payment
from stripetopup.core.recharge import cards
from stripetopup.core.recharge.types import CardFacts
from stripetopup.models import EventResult, PaymentState
from stripetopup.store import payments
from stripetopup.stripe_objects import CheckoutSession, Event


def _outcome(
    event: Event,
    result: EventResult,
    detail: str,
    checkout: CheckoutSession,
    **kw: Any,
) -> EventOutcome:
    return EventOutcome(
        event_id=event.id,
        event_type=event.type,
        result=result,
        detail=detail,
        account_id=session_account_id(checkout),
        **kw,
    )


def _checkout(event: Event) -> CheckoutSession:
    return event.object_as(CheckoutSession)


@dataclass(frozen=True)
class SessionFacts:
    """What a paid session's handler needs from Stripe: its receipt page, the card it saved."""

    receipt_url: str | None
    card: CardFacts | None


def gather_session(ctx: Context, event: Event) -> SessionFacts:
    """Asked before the transaction opens; neither answer is worth a missed credit."""
    checkout = _gathered(event)
    return SessionFacts(receipts.gather_receipt(ctx, event), cards.gather(ctx, checkout))


def session_asks_stripe(event: Event) -> bool:
    """True when :func:`gather_session` would call Stripe (an invoice, or a card saved):
    the web door runs it in a thread then, and on the event loop otherwise."""
    checkout = _gathered(event)
    return receipts.asks_stripe(checkout) or cards.asks_stripe(checkout)


def _gathered(event: Event) -> CheckoutSession:
    checkout = _checkout(event)
    if event.type == "checkout.session.async_payment_succeeded":
        checkout = checkout.model_copy(update={"payment_status": "paid"})
    return checkout


def on_session_completed(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    checkout = _checkout(event)
    if checkout.paid:
        return _credit(session, ctx, event, checkout, actor, facts)
    account_id = session_account_id(checkout)
    payment = payments.upsert_from_stripe(session, checkout, account_id)
    if checkout.payment_status == "no_payment_required":
        payments.advance(session, payment, PaymentState.NO_PAYMENT_REQUIRED)
        detail = "no payment required: nothing to credit"
        return _outcome(event, EventResult.IGNORED, detail, checkout)
    advance_payment(session, ctx, payment, PaymentState.PENDING)
    detail = "payment pending (delayed method): awaiting async result"
    return _outcome(event, EventResult.RECORDED, detail, checkout)


def on_async_succeeded(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    # The async success event is the payment confirmation even if the copy of the
    # session it carries was serialised before payment_status flipped.
    checkout = _checkout(event).model_copy(update={"payment_status": "paid"})
    return _credit(session, ctx, event, checkout, actor, facts)


def on_async_failed(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    return _mark(session, ctx, event, PaymentState.FAILED, "delayed payment failed")


def on_session_expired(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    return _mark(session, ctx, event, PaymentState.EXPIRED, "session expired unpaid")


def _mark(
    session: Session, ctx: Context, event: Event, state: PaymentState, detail: str
) -> EventOutcome:
    """Record an end state that moves no money (never undoing a credit)."""
    checkout = _checkout(event)
    payment = payments.upsert_from_stripe(session, checkout, session_account_id(checkout))
    if advance_payment(session, ctx, payment, state):
        return _outcome(event, EventResult.RECORDED, detail, checkout)
    return _outcome(event, EventResult.IGNORED, f"payment already {payment.state}", checkout)


def _credit(
    session: Session,
    ctx: Context,
    event: Event,
    checkout: CheckoutSession,
    actor: str,
    facts: object = None,
) -> EventOutcome:
    credit = credit_session(session, ctx, checkout, actor=actor, event_id=event.id)
    if isinstance(facts, SessionFacts):
        receipts.keep(session, checkout.id, facts.receipt_url)  # the receipt page, if any
        if credit.landed and credit.payment.account_id:
            cards.record(session, ctx, checkout, facts.card, credit.payment.account_id)
    return _outcome(
        event,
        credit.result,
        credit.detail,
        checkout,
        amount_cents=credit.reported_cents,
        entry_id=credit.entry_id,
    )
