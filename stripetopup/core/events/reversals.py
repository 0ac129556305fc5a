"""What refund and dispute events do to the ledger.

Every refund event (``charge.refunded``, ``refund.created|updated|failed``,
``charge.refund.updated``) and dispute event (``charge.dispute.*``) is handled the same
way: find our credited payment by the object's ``payment_intent``, ask Stripe for the
payment intent's refunds (or disputes) as they are *now*, and move each one's entries to
what its current state calls for (:func:`stripetopup.core.ledger.reversals.settle`): a succeeded
refund is debited once (``refund:re_...``) and credited back if it later fails or is
cancelled (``refund_reversed:re_...``); a dispute is debited while open or lost
(``dispute:du_...``) and credited back once won (``dispute_reinstated:du_...``). Since the
result depends on Stripe's current state and not on which event came, duplicates and
reordered events all converge on the same entries.

Stripe is asked before the transaction opens (:func:`gather_refund_facts`,
:func:`gather_dispute_facts`), so no network call runs under a lock. A payment we do not
know yet (its session event has not arrived) is credited first from the session Stripe
returned, through :func:`stripetopup.core.events.credit.credit_session`, as its own event would.
A payment that was never credited (attention) is not debited: the payment row notes the
refund or dispute for the operator. What Stripe returns is validated into typed
:mod:`stripetopup.stripe_objects` while gathering, before the transaction.
:mod:`stripetopup.core.events.registry` maps the event types to these handlers. Imports core,
store, models, errors and the typed Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events.credit import credit_session, session_account_id
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.ledger import reversals, sources
from stripetopup.errors import NotFound
from stripetopup.models import MAX_REASON_LENGTH, EventResult, PaymentState, StripePayment
from stripetopup.money import format_cents
from stripetopup.store import accounts, payments
from stripetopup.store import reversals as store
from stripetopup.stripe_objects import CheckoutSession, Event, Refund, Reversible

# States a refund or dispute acts on as they are; any other is first brought up to date
# from the session Stripe returns (credited when it is paid).
KNOWN_STATES = frozenset({PaymentState.CREDITED, PaymentState.ATTENTION, PaymentState.DISMISSED})


@dataclass(frozen=True)
class Settled:
    """What settling one payment intent wrote: the entries posted, and to which account."""

    account_id: str
    posted: list[tuple[reversals.Reversal, int]]  # (movement, entry id), in order
    seen: int  # how many objects already had entries


@dataclass(frozen=True)
class StripeFacts:
    """What Stripe says now about an event's payment intent, asked before the transaction
    (no network call while the account or the SQLite write lock is held)."""

    payment_intent_id: str | None
    objects: list[Reversible]  # the intent's refunds or disputes, oldest first
    checkout_session: CheckoutSession | None  # the session that created it; None: not ours


def gather_refund_facts(ctx: Context, event: Event) -> StripeFacts:
    return _gather(ctx, event, reversals.REFUNDS)


def gather_dispute_facts(ctx: Context, event: Event) -> StripeFacts:
    return _gather(ctx, event, reversals.DISPUTES)


def _gather(ctx: Context, event: Event, family: reversals.Family) -> StripeFacts:
    obj = event.data.object
    pi = _payment_intent(obj)
    if pi is None:
        return StripeFacts(None, [], None)
    found = current_objects(ctx, family, pi, obj)
    checkout = ctx.stripe.find_checkout_session(pi)
    return StripeFacts(pi, found, CheckoutSession.parse(checkout) if checkout else None)


def on_refund_event(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any
) -> EventOutcome:
    return _handle(session, ctx, event, actor, reversals.REFUNDS, facts)


def on_dispute_event(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any
) -> EventOutcome:
    return _handle(session, ctx, event, actor, reversals.DISPUTES, facts)


def _handle(
    session: Session,
    ctx: Context,
    event: Event,
    actor: str,
    family: reversals.Family,
    facts: StripeFacts,
) -> EventOutcome:
    obj, pi = event.data.object, facts.payment_intent_id
    if pi is None:
        detail = f"the {obj.get('object')} has no payment_intent"
        return _outcome(event, EventResult.IGNORED, detail)
    payment = _payment(session, ctx, facts, event.id, actor)
    if payment is None:
        detail = f"{pi} is not a stripetopup Checkout payment"
        return _outcome(event, EventResult.IGNORED, detail)
    if payment.state == PaymentState.DISMISSED:
        detail = f"payment dismissed by an operator: {family.kind} kept"
        return _outcome(event, EventResult.IGNORED, detail)
    if payment.state != PaymentState.CREDITED:
        return _note_attention(session, event, payment, family, facts.objects)
    settled = settle_intent(
        session, payment, family, facts.objects, actor=actor, event_id=event.id, at=ctx.clock()
    )
    return _settled_outcome(event, family, obj, settled)


def _payment_intent(obj: dict[str, Any]) -> str | None:
    value = obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _payment(
    session: Session, ctx: Context, facts: StripeFacts, event_id: str, actor: str
) -> StripePayment | None:
    """Our payment for the intent; one we have not seen paid yet is applied first."""
    assert facts.payment_intent_id is not None
    payment = payments.find_by_payment_intent(session, facts.payment_intent_id)
    if payment is not None and payment.state in KNOWN_STATES:
        return payment
    checkout = facts.checkout_session
    if checkout is None:
        return payment
    if checkout.paid:
        return credit_session(session, ctx, checkout, actor=actor, event_id=event_id).payment
    return payments.upsert_from_stripe(session, checkout, session_account_id(checkout))


def current_objects(
    ctx: Context, family: reversals.Family, pi: str, obj: dict[str, Any] | None = None
) -> list[Reversible]:
    """The intent's refunds (or disputes) as Stripe has them now, validated, oldest first.

    The event's own object, or the refunds a charge embeds, are added only when the list
    lacks them (Stripe's lists are the current state; an event's copy may be older).
    """
    listed = (
        ctx.stripe.list_refunds(pi) if family is reversals.REFUNDS else ctx.stripe.list_disputes(pi)
    )
    extra: list[dict[str, Any]] = []
    if obj is not None and obj.get("object") == family.kind:
        extra.append(obj)
    elif obj is not None and family is reversals.REFUNDS:
        embedded = obj.get("refunds")
        extra.extend((embedded or {}).get("data") or [] if isinstance(embedded, dict) else [])
    ids = {str(item["id"]) for item in listed}
    found = listed[::-1] + [item for item in extra if str(item.get("id")) not in ids]
    return sorted((family.parse(item) for item in found), key=lambda item: item.created_at)


def settle_intent(
    session: Session,
    payment: StripePayment,
    family: reversals.Family,
    found: list[Reversible],
    *,
    actor: str,
    event_id: str | None,
    at: datetime | None = None,
) -> Settled:
    """Post what each object in ``found`` still needs, under the credited account's lock."""
    assert payment.payment_intent_id is not None
    pi = payment.payment_intent_id
    credit = _credit_entry(session, payment, pi)
    accounts.find(session, credit.account_id, lock=True)  # serialize racing deliveries
    have = {e.source: e.amount_cents for e in store.intent_entries(session, pi)}
    posted: list[tuple[reversals.Reversal, int]] = []
    seen = 0
    for obj in found:
        seen += any(family.owns(source, obj.id) for source in have)
        for move in reversals.settle(family, obj, reversals.target(obj), have):
            reason = _reason(family, obj)
            entry_id = _post(session, payment, credit, move, (reason, actor, event_id), at)
            posted.append((move, entry_id))
            have[move.source] = move.amount_cents
    return Settled(credit.account_id, posted, seen)


def _post(
    session: Session,
    payment: StripePayment,
    credit: store.IntentEntry,
    move: reversals.Reversal,
    why: tuple[str, str, str | None],
    at: datetime | None,
) -> int:
    reason, actor, event_id = why
    result = reversals.post(
        session,
        move,
        account_id=credit.account_id,
        checkout_session_id=payment.checkout_session_id,
        actor=actor,
        event_id=event_id,
        reason=reason,
        at=at,
    )
    assert result.entry.id is not None
    return result.entry.id


def _credit_entry(session: Session, payment: StripePayment, pi: str) -> store.IntentEntry:
    source = sources.checkout_credit(payment.checkout_session_id)
    for entry in store.intent_entries(session, pi):
        if entry.source == source:
            return entry
    raise NotFound(f"no credit entry {source} recorded against {pi}")


def _reason(family: reversals.Family, obj: Reversible) -> str:
    why = obj.reason or (obj.failure_reason if isinstance(obj, Refund) else None)
    return f"{family.kind} {obj.id} {obj.status}" + (f" ({why})" if why else "")


def _note_attention(
    session: Session,
    event: Event,
    payment: StripePayment,
    family: reversals.Family,
    found: list[Reversible],
) -> EventOutcome:
    ids = ", ".join(item.id for item in found) or "none listed"
    note = f"{family.kind} in Stripe ({ids}) not debited: the payment was never credited"
    reason = payment.attention_reason or f"payment {payment.state}"
    if note not in reason:
        reason = f"{reason}; {note}"[:MAX_REASON_LENGTH]
    payments.advance(session, payment, PaymentState.ATTENTION, reason=reason)
    return _outcome(event, EventResult.ATTENTION, note, account_id=payment.account_id)


def _settled_outcome(
    event: Event, family: reversals.Family, obj: dict[str, Any], settled: Settled
) -> EventOutcome:
    closed = ""
    if event.type == "charge.dispute.closed":
        closed = f"dispute {obj['id']} closed: {obj.get('status')}; "
    if not settled.posted:
        result = EventResult.ALREADY_APPLIED if settled.seen else EventResult.IGNORED
        detail = "ledger already matches Stripe" if settled.seen else f"no {family.kind} to debit"
        return _outcome(event, result, closed + detail, account_id=settled.account_id)
    parts = [
        f"{'debited' if m.amount_cents < 0 else 'credited'} {format_cents(abs(m.amount_cents))} "
        f"({m.source})"
        for m, _ in settled.posted
    ]
    debited = any(m.amount_cents < 0 for m, _ in settled.posted)
    return _outcome(
        event,
        EventResult.DEBITED if debited else EventResult.CREDITED,
        closed + "; ".join(parts),
        account_id=settled.account_id,
        amount_cents=sum(m.amount_cents for m, _ in settled.posted),
        entry_id=settled.posted[-1][1],
    )


def _outcome(event: Event, result: EventResult, detail: str, **kw: Any) -> EventOutcome:
    return EventOutcome(event.id, event.type, result, detail, **kw)


REFUND_EVENTS = (
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
)
DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
