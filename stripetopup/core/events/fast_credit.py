"""The common webhook, a paid Checkout Session for an existing account, without the ORM.

:func:`apply` does what :func:`stripetopup.core.events.process.apply`'s handler and record
do for ``checkout.session.completed`` (paid) and ``checkout.session.async_payment_succeeded``
when nothing about the session is unusual, as a handful of pre-built statements
(:mod:`stripetopup.store.credit_statements`) on the caller's connection, inside the
caller's transaction: the payment upsert, the account's lock, the entry (unique
``source``), the cached balance and low-balance flag, the paid grant (settling a deficit
first), the outbox rows (``balance.credited``, ``grant.created``, a flipped
``balance.low``/``balance.recovered``), the payment marked credited, the event log's
record. The decisions are the general path's own pure functions (``credit.attention_reason``,
``credited_cents``, ``thresholds.threshold_of``), and the rows written are the same.

Anything else answers None having written nothing, and the caller runs the general path:
another event type, an unpaid session, a session that needs Stripe first (an invoice's
receipt page, a card saved with consent), attention, an unknown account, a payment that is
neither new, pending nor credited (dismissed, attention, failed...). A re-delivery of an
event already applied is one statement (:func:`apply_duplicate`, which :func:`apply`
tries first).

Imports core (context, the room's credit and types, the ledger's sources, the outbound
catalogue, emit and thresholds, the recharge room's consent), dates, ids, models, the
store's credit statements and the typed Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from stripetopup.core.context import Context
from stripetopup.core.events.credit import (
    attention_reason,
    credited_cents,
    session_account_id,
    session_posting,
)
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.ledger import sources
from stripetopup.core.outbound.catalogue import EntryData, EventType, GrantData, ThresholdData
from stripetopup.core.outbound.emit import envelope
from stripetopup.core.outbound.thresholds import threshold_of
from stripetopup.core.recharge import consent
from stripetopup.dates import utcnow
from stripetopup.ids import new_grant_id
from stripetopup.models import (
    MAX_INTEGER,
    EventResult,
    GrantCategory,
    GrantStatus,
    PaymentState,
)
from stripetopup.store import credit_statements as sql
from stripetopup.store import events as event_log
from stripetopup.store import ledger, payments
from stripetopup.store.grants import DEFAULT_PRIORITY
from stripetopup.stripe_objects import CheckoutSession, Event

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
# The payment states a first credit starts from (a delayed method's is pending); a
# credited one makes the event ``already_applied``.
_FIRST = (None, PaymentState.CREATED.value, PaymentState.PENDING.value)
_HANDLED_STATES = (*_FIRST, PaymentState.CREDITED.value)
ALREADY = "this payment was already credited"
DISMISSED = "payment was dismissed by an operator"


def eligible(ctx: Context, event: Event) -> CheckoutSession | None:
    """The paid session this path may credit, or None (the general path's business).

    Pure: reads the event and the settings only.
    """
    if event.type not in (COMPLETED, ASYNC_SUCCEEDED):
        return None
    checkout = event.object_as(CheckoutSession)
    if event.type == ASYNC_SUCCEEDED:
        # As the handler does: the async success is the payment's confirmation.
        checkout = checkout.model_copy(update={"payment_status": "paid"})
    # Both need Stripe before the transaction (the receipt page, the saved card).
    if checkout.invoice_id is not None or consent.given(checkout.metadata) is not None:
        return None
    return checkout if creditable(ctx, checkout) else None


def creditable(ctx: Context, checkout: CheckoutSession) -> bool:
    """True for a paid session ``credit.credit_session`` would credit without attention."""
    if not checkout.paid or attention_reason(ctx, checkout) is not None:
        return False
    amount = credited_cents(ctx, checkout)
    return amount is not None and 0 < amount <= MAX_INTEGER


@dataclass(frozen=True)
class SessionCredit:
    """What crediting one session did: ``credit.Credit``'s answer, without the ORM row.

    ``amount_cents`` is what to report (``Credit.reported_cents``): what was credited now,
    else what Stripe charged.
    """

    result: EventResult
    detail: str
    entry_id: int | None = None
    amount_cents: int | None = None


def apply_duplicate(
    connection: sa.Connection,
    ctx: Context,
    event: Event,
    *,
    actor: str,
    payload: str,
    secret_label: str | None,
    replay: bool = False,
) -> EventOutcome | None:
    """A re-delivery of an applied event: one statement counts it on the event's record and
    answers ``already_applied`` as the general path does; None (nothing written) otherwise."""
    checkout = eligible(ctx, event)
    if checkout is None:
        return None
    return _duplicate(connection, event, checkout, secret_label=secret_label, replay=replay)


def _duplicate(
    connection: sa.Connection,
    event: Event,
    checkout: CheckoutSession,
    *,
    secret_label: str | None,
    replay: bool,
) -> EventOutcome | None:
    found = sql.count_duplicate(
        connection,
        event_id=event.id,
        checkout_session_id=checkout.id,
        secret_label=secret_label,
        replay=replay,
        now=utcnow(),  # the record's processed_at, as store.events.record stamps it
    )
    return None if found is None else duplicate_outcome(event, checkout, found)


def duplicate_outcome(
    event: Event, checkout: CheckoutSession, found: sql.Duplicate
) -> EventOutcome:
    """The answer to a re-delivery of an applied event: its first credit's entry and amount."""
    return _outcome(
        event,
        checkout,
        EventResult.ALREADY_APPLIED,
        ALREADY,
        amount_cents=found.amount_total_cents,
        entry_id=found.entry_id,
    )


def apply(
    connection: sa.Connection,
    ctx: Context,
    event: Event,
    *,
    actor: str,
    payload: str,
    secret_label: str | None,
    replay: bool = False,
) -> EventOutcome | None:
    """Apply ``event`` as the general path would, or None having written nothing.

    Runs in the caller's open transaction (the caller holds a savepoint around it and
    commits); it never begins, commits or rolls back. An exception leaves the caller to
    roll back, as from the general path's handler. Inside a pipeline
    (``credit_statements.pipelined``) its writes may be sent, and fail, only when the
    pipeline ends.
    """
    checkout = eligible(ctx, event)
    if checkout is None:
        return None
    account_id = _account_of(checkout)
    # In the writer's pipeline on PostgreSQL (batch._apply_one opens it, with the item's
    # SAVEPOINT first): statements whose answers are not needed before the next is sent
    # share a round trip (the duplicate check and the look; the payment upsert and the
    # account's locks; the writes at the end, sent when the caller's pipeline ends).
    duplicate, found = sql.duplicate_or_look(
        connection,
        event_id=event.id,
        checkout_session_id=checkout.id,
        account_id=account_id,
        secret_label=secret_label,
        replay=replay,
        now=utcnow(),  # the record's processed_at, as store.events.record stamps it
    )
    if duplicate is not None:
        return duplicate_outcome(event, checkout, duplicate)
    credit = _credit_found(connection, ctx, checkout, account_id, found, actor, event.id)
    if credit is None:
        return None
    record = event_log.record_values(
        event_id=event.id,
        event_type=event.type,
        livemode=event.livemode,
        payload=payload,
        secret_label=secret_label,
        outcome=credit.result,
        replay=replay,
    )
    sql.record_event(connection, record)
    return _outcome(
        event,
        checkout,
        credit.result,
        credit.detail,
        amount_cents=credit.amount_cents,
        entry_id=credit.entry_id,
    )


def credit_checkout(
    connection: sa.Connection,
    ctx: Context,
    checkout: CheckoutSession,
    *,
    actor: str,
    event_id: str | None,
) -> SessionCredit | None:
    """``credit.credit_session`` in the caller's transaction, for a :func:`creditable`
    session whose account exists and whose payment is new, pending or credited; None,
    having written nothing, for any other (``reconcile --fix``'s credit: no event, no
    event record)."""
    if not creditable(ctx, checkout):
        return None
    account_id = _account_of(checkout)
    with sql.pipelined(connection):
        found = sql.look(connection, account_id, checkout.id)
        return _credit_found(connection, ctx, checkout, account_id, found, actor, event_id)


def _account_of(checkout: CheckoutSession) -> str:
    account_id = session_account_id(checkout)
    assert account_id is not None  # attention_reason refuses a session without one
    return account_id


def _credit_found(
    connection: sa.Connection,
    ctx: Context,
    checkout: CheckoutSession,
    account_id: str,
    found: tuple[int | None, str | None],
    actor: str,
    event_id: str | None,
) -> SessionCredit | None:
    """:func:`_credit` when ``sql.look`` ``found`` the account and a payment this path
    handles; None, having written nothing, otherwise."""
    account_pk, state = found
    if account_pk is None or state not in _HANDLED_STATES:
        return None  # unknown account (attention), or a payment an operator must see to
    # From here on this path writes, and answers whatever it finds, as the general one.
    return _credit(connection, ctx, checkout, account_id, actor, event_id)


def _credit(
    connection: sa.Connection,
    ctx: Context,
    checkout: CheckoutSession,
    account_id: str,
    actor: str,
    event_id: str | None,
) -> SessionCredit:
    """``credit.credit_session`` for an eligible session whose account exists."""
    now = ctx.clock()  # the moment the grants are judged at, and the events' time
    payment, account = sql.upsert_payment_and_lock(
        connection, payments.upsert_values(checkout, account_id), account_id, now
    )
    if payment.state == PaymentState.DISMISSED:  # dismissed since we looked
        return SessionCredit(EventResult.IGNORED, DISMISSED, None, payment.amount_total_cents)
    if payment.state == PaymentState.CREDITED:
        return _already(payment.amount_total_cents, payment.credited_entry_id)
    amount = credited_cents(ctx, checkout)
    assert amount is not None  # eligible() checked it is positive
    if account is None:  # accounts are never deleted: seen by look(), so still here
        raise AssertionError(f"account {account_id} vanished under its lock")
    balance_after = account.balance_cents + amount
    if ledger.out_of_range(amount, balance_after):
        source = sources.checkout_credit(checkout.id)
        existing = sql.entry_by_source(connection, source)
        if existing is None:
            raise ledger.beyond_range()
        return _already_marked(connection, payment, existing)
    posting = session_posting(
        ctx,
        checkout,
        account_id,
        amount,
        actor=actor,
        event_id=event_id,
        payment_intent_id=payment.payment_intent_id,
        now=now,
    )
    entry = ledger.entry_values(posting, account.account_pk, balance_after)
    entry_id = sql.insert_entry(connection, entry)
    if entry_id is None:  # the source is credited already (its payment not marked so)
        existing = sql.entry_by_source(connection, posting.source)
        assert existing is not None  # the conflict was on this source
        return _already_marked(connection, payment, existing)
    # The threshold check reads the balance after the entry, as thresholds.evaluate does.
    threshold = threshold_of(ctx, account.threshold_cents)
    available = balance_after - account.held_cents
    below = False if threshold is None else available < threshold
    move = sql.BalanceMove(account.account_pk, balance_after, below, entry["created_at"])
    settled = min(amount, account.deficit_cents)  # a credit settles the deficit first
    grant = {
        "grant_id": new_grant_id(),
        "account_pk": account.account_pk,
        "entry_id": entry_id,
        "amount_cents": amount,
        "remaining_cents": amount - settled,
        "currency": posting.currency,
        "category": GrantCategory.PAID.value,
        "priority": DEFAULT_PRIORITY,
        "effective_at": now,
        "expires_at": posting.grants.expires_at,
        "source": posting.source,
        "status": GrantStatus.LIVE.value,
        "created_at": now,
        "expired_at": None,
    }
    rows = [
        envelope(
            EventType.BALANCE_CREDITED,
            _entry_data(entry, entry_id, account_id),
            account_id=account_id,
            created=now,
        ),
        envelope(
            EventType.GRANT_CREATED,
            _grant_data(grant, account_id),
            account_id=account_id,
            created=now,
        ),
    ]
    if threshold is not None and below != account.below:
        data = ThresholdData(
            account_id=account_id,
            currency=ctx.currency,
            balance_cents=balance_after,
            held_cents=account.held_cents,
            available_cents=available,
            threshold_cents=threshold,
        )
        type_ = EventType.BALANCE_LOW if below else EventType.BALANCE_RECOVERED
        rows.append(envelope(type_, data, account_id=account_id, created=now))
    if not settled:  # nothing waits for the grant's key: every write in one go
        sql.close_credit(
            connection, move, grant, rows, payment_pk=payment.id, entry_id=entry_id, at=utcnow()
        )
    else:
        sql.move_balance(connection, move)
        grant_pk = sql.insert_grant(connection, grant)
        draw = {"entry_id": entry_id, "account_pk": account.account_pk}
        sql.insert_draws(
            connection,
            [
                {**draw, "grant_pk": None, "amount_cents": -settled},
                {**draw, "grant_pk": grant_pk, "amount_cents": settled},
            ],
        )
        sql.insert_outbox(connection, rows)
        sql.mark_credited(connection, payment.id, entry_id, utcnow())
    detail = f"credited {amount} to {account_id}"
    return SessionCredit(EventResult.CREDITED, detail, entry_id, amount)


def _already_marked(
    connection: sa.Connection, payment: sql.PaymentRow, entry_id: int
) -> SessionCredit:
    """The entry exists already: mark the payment credited by it, answer already_applied."""
    if payment.credited_entry_id != entry_id or payment.state != PaymentState.CREDITED:
        sql.mark_credited(connection, payment.id, entry_id, utcnow())
    return _already(payment.amount_total_cents, entry_id)


def _already(amount_cents: int | None, entry_id: int | None) -> SessionCredit:
    return SessionCredit(EventResult.ALREADY_APPLIED, ALREADY, entry_id, amount_cents)


def _outcome(
    event: Event,
    checkout: CheckoutSession,
    result: EventResult,
    detail: str,
    *,
    amount_cents: int | None = None,
    entry_id: int | None = None,
) -> EventOutcome:
    return EventOutcome(
        event_id=event.id,
        event_type=event.type,
        result=result,
        detail=detail,
        account_id=session_account_id(checkout),
        amount_cents=amount_cents,
        entry_id=entry_id,
    )


def _entry_data(entry: dict[str, object], entry_id: int, account_id: str) -> EntryData:
    return EntryData.model_validate(
        {
            "entry_id": entry_id,
            "account_id": account_id,
            "amount_cents": entry["amount_cents"],
            "currency": entry["currency"],
            "balance_after_cents": entry["balance_after_cents"],
            "kind": entry["kind"],
            "source": entry["source"],
            "reason": entry["reason"],
            "actor": entry["actor"],
            "checkout_session_id": entry["checkout_session_id"],
            "payment_intent_id": entry["payment_intent_id"],
            "stripe_event_id": entry["event_id"],
        }
    )


def _grant_data(grant: dict[str, object], account_id: str) -> GrantData:
    return GrantData.model_validate(
        {
            "grant_id": grant["grant_id"],
            "account_id": account_id,
            "amount_cents": grant["amount_cents"],
            "remaining_cents": grant["remaining_cents"],
            "currency": grant["currency"],
            "category": grant["category"],
            "priority": grant["priority"],
            "effective_at": grant["effective_at"],
            "expires_at": grant["expires_at"],
            "source": grant["source"],
        }
    )
