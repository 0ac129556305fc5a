"""Writing an outbound event: the envelope built from the catalogue, into the outbox, in
the caller's transaction (so it exists if and only if that transaction commits).

Imports pydantic, ``core.context``, the room's catalogue, and store, ids and models.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.catalogue import (
    MODELS,
    EntryData,
    EventType,
    GrantData,
    HoldData,
    PaymentData,
)
from stripetopup.ids import new_message_id
from stripetopup.models import CreditGrant, Hold, LedgerEntry, PaymentState, StripePayment
from stripetopup.store import outbox, payments

_PAYMENT_EVENTS = {
    PaymentState.PENDING: EventType.PAYMENT_PENDING,
    PaymentState.FAILED: EventType.PAYMENT_FAILED,
    PaymentState.ATTENTION: EventType.PAYMENT_ATTENTION,
}


def emit(
    session: Session,
    ctx: Context,
    type_: EventType,
    data: BaseModel,
    *,
    account_id: str | None,
) -> str:
    """Add one event of ``type_`` about ``account_id``; returns its ``msg_`` id."""
    event = envelope(type_, data, account_id=account_id, created=ctx.clock())
    outbox.add(session, event)
    return event.message_id


def envelope(
    type_: EventType, data: BaseModel, *, account_id: str | None, created: datetime
) -> outbox.NewEvent:
    """The outbox row of one event of ``type_`` created at ``created`` (no SQL: the fast
    credit writes these rows itself)."""
    message_id = new_message_id(int(created.timestamp() * 1000))
    event = MODELS[type_].model_validate(
        {"id": message_id, "created": created, "type": type_.value, "data": data}
    )
    return outbox.NewEvent(
        message_id=message_id,
        type=type_.value,
        schema_version=event.schema_version,
        account_id=account_id,
        created_at=created,
        payload=event.model_dump_json(),
    )


def entry_posted(session: Session, ctx: Context, entry: LedgerEntry, account_id: str) -> None:
    """``balance.credited`` or ``balance.debited`` for a new ledger entry."""
    assert entry.id is not None
    data = EntryData(
        entry_id=entry.id,
        account_id=account_id,
        amount_cents=entry.amount_cents,
        currency=entry.currency,
        balance_after_cents=entry.balance_after_cents,
        kind=entry.kind,
        source=entry.source,
        reason=entry.reason,
        actor=entry.actor,
        checkout_session_id=entry.checkout_session_id,
        payment_intent_id=entry.payment_intent_id,
        stripe_event_id=entry.event_id,
    )
    credited = entry.amount_cents > 0
    type_ = EventType.BALANCE_CREDITED if credited else EventType.BALANCE_DEBITED
    emit(session, ctx, type_, data, account_id=account_id)


def payment_changed(session: Session, ctx: Context, payment: StripePayment) -> None:
    """``payment.pending``/``failed``/``attention`` for a payment that just moved there."""
    type_ = _PAYMENT_EVENTS.get(PaymentState(payment.state))
    if type_ is None:
        return
    data = PaymentData(
        checkout_session_id=payment.checkout_session_id,
        account_id=payment.account_id,
        amount_total_cents=payment.amount_total_cents,
        currency=payment.currency,
        state=payment.state,
        payment_intent_id=payment.payment_intent_id,
        attention_reason=payment.attention_reason,
    )
    emit(session, ctx, type_, data, account_id=payment.account_id)


def hold_expired(session: Session, ctx: Context, hold: Hold, account_id: str) -> None:
    data = HoldData(
        hold_id=hold.hold_id,
        account_id=account_id,
        amount_cents=hold.amount_cents,
        currency=hold.currency,
        reason=hold.reason,
        expires_at=hold.expires_at,
    )
    emit(session, ctx, EventType.HOLD_EXPIRED, data, account_id=account_id)


def grant_created(session: Session, ctx: Context, grant: CreditGrant, account_id: str) -> None:
    emit(session, ctx, EventType.GRANT_CREATED, _grant(grant, account_id), account_id=account_id)


def grant_expired(
    session: Session, ctx: Context, grant: CreditGrant, account_id: str, *, written_off: int
) -> None:
    """``grant.expired`` for a grant whose expiry was just written (``written_off`` its
    unspent remainder, 0 when nothing was left)."""
    data = _grant(grant, account_id).model_copy(update={"written_off_cents": written_off})
    emit(session, ctx, EventType.GRANT_EXPIRED, data, account_id=account_id)


def _grant(grant: CreditGrant, account_id: str) -> GrantData:
    return GrantData(
        grant_id=grant.grant_id,
        account_id=account_id,
        amount_cents=grant.amount_cents,
        remaining_cents=grant.remaining_cents,
        currency=grant.currency,
        category=grant.category,
        priority=grant.priority,
        effective_at=grant.effective_at,
        expires_at=grant.expires_at,
        source=grant.source,
    )


def advance_payment(
    session: Session,
    ctx: Context,
    payment: StripePayment,
    state: PaymentState,
    *,
    reason: str | None = None,
) -> bool:
    """``store.payments.advance``, emitting the payment's event when it moved (pending,
    failed, attention); a duplicate or a late event moves nothing and emits nothing."""
    moved = payments.advance(session, payment, state, reason=reason)
    if moved:
        payment_changed(session, ctx, payment)
    return moved
