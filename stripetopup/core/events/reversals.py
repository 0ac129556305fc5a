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
refund or dispute for the operator.

An off-session auto-recharge charge has no Checkout Session: its credit is the ledger entry
``payment_intent:pi_...`` (found, like a session's, among the intent's entries), and its
refunds and disputes are settled against it by the same rule. One that arrives before the
charge was credited (a lost answer, ``payment_intent.succeeded`` not yet delivered) is
credited first from the PaymentIntent Stripe returned, through
:func:`stripetopup.core.recharge.charge.settle`, the worker's own exactly-once path.

What Stripe returns is validated into typed :mod:`stripetopup.stripe_objects` while
gathering, before the transaction.
:mod:`stripetopup.core.events.registry` maps the event types to these handlers. Imports core,
store, models, errors and the typed Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events.credit import credit_session, session_account_id
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.ledger import reversals, sources
from stripetopup.core.outbound.emit import advance_payment
from stripetopup.core.recharge import charge, tags
from stripetopup.errors import NotFound
from stripetopup.models import MAX_REASON_LENGTH, EventResult, PaymentState, StripePayment
from stripetopup.money import format_cents
from stripetopup.store import accounts, ledger, payments
from stripetopup.store import reversals as store
from stripetopup.stripe_objects import CheckoutSession, Event, Refund, Reversible

# States a refund or dispute acts on as they are; any other is first brought up to date
# from the session Stripe returns (credited when it is paid).
KNOWN_STATES = frozenset({PaymentState.CREDITED, PaymentState.ATTENTION, PaymentState.DISMISSED})


@dataclass(frozen=True)
class Paid:
    """A credited payment that refunds and disputes act on: its intent, the source of its
    credit, and its Checkout Session (None for an off-session auto-recharge charge)."""

    payment_intent_id: str
    credit_source: str
    checkout_session_id: str | None

    @classmethod
    def of_checkout(cls, payment: StripePayment) -> Paid:
        assert payment.payment_intent_id is not None
        source = sources.checkout_credit(payment.checkout_session_id)
        return cls(payment.payment_intent_id, source, payment.checkout_session_id)

    @classmethod
    def of_recharge(cls, payment_intent_id: str) -> Paid:
        return cls(payment_intent_id, sources.payment_intent_credit(payment_intent_id), None)


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
    # Without a session: the PaymentIntent itself (an auto-recharge charge's, or not ours).
    payment_intent: dict[str, Any] | None = None


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
    if checkout is not None:
        return StripeFacts(pi, found, CheckoutSession.parse(checkout))
    return StripeFacts(pi, found, None, _retrieve_intent(ctx, pi))


def _retrieve_intent(ctx: Context, pi: str) -> dict[str, Any] | None:
    try:
        return ctx.stripe.retrieve_payment_intent(pi)
    except NotFound:
        return None


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
        return _handle_recharge(session, ctx, event, actor, family, facts)
    if payment.state == PaymentState.DISMISSED:
        detail = f"payment dismissed by an operator: {family.kind} kept"
        return _outcome(event, EventResult.IGNORED, detail)
    if payment.state != PaymentState.CREDITED:
        return _note_attention(session, ctx, event, payment, family, facts.objects)
    settled = settle_intent(
        session, ctx, payment, family, facts.objects, actor=actor, event_id=event.id
    )
    return _settled_outcome(event, family, obj, settled)


def _handle_recharge(
    session: Session,
    ctx: Context,
    event: Event,
    actor: str,
    family: reversals.Family,
    facts: StripeFacts,
) -> EventOutcome:
    """A refund or dispute of an auto-recharge charge: its credit first if it is missing."""
    assert facts.payment_intent_id is not None
    paid = Paid.of_recharge(facts.payment_intent_id)
    first = ""
    if ledger.find_by_source(session, paid.credit_source) is None:
        intent = facts.payment_intent
        tag = tags.tag_of(intent) if intent is not None else None
        if intent is None or tag is None:
            detail = f"{paid.payment_intent_id} is not a stripetopup payment"
            return _outcome(event, EventResult.IGNORED, detail)
        if intent.get("status") != "succeeded":
            detail = f"auto-recharge {tag.attempt_key}: {intent.get('status')}, never credited"
            return _outcome(event, EventResult.IGNORED, detail, account_id=tag.account_id)
        done = charge.settle(session, ctx, tag.attempt_key, intent, actor=actor)
        if done != "succeeded":  # an attempt this database does not have: nothing to debit
            detail = f"auto-recharge {tag.attempt_key}: {done}; {family.kind} not debited"
            return _outcome(event, EventResult.IGNORED, detail, account_id=tag.account_id)
        first = f"auto-recharge {tag.attempt_key} credited first ({paid.credit_source}); "
    settled = settle_paid(session, ctx, paid, family, facts.objects, actor=actor, event_id=event.id)
    outcome = _settled_outcome(event, family, event.data.object, settled)
    if not first:
        return outcome
    moved = outcome.result in (EventResult.DEBITED, EventResult.CREDITED)
    result = outcome.result if moved else EventResult.CREDITED  # the credit, at least
    return replace(outcome, result=result, detail=first + outcome.detail)


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
    ctx: Context,
    payment: StripePayment,
    family: reversals.Family,
    found: list[Reversible],
    *,
    actor: str,
    event_id: str | None,
) -> Settled:
    """Post what each object in ``found`` still needs, under the credited account's lock."""
    return settle_paid(
        session, ctx, Paid.of_checkout(payment), family, found, actor=actor, event_id=event_id
    )


def settle_paid(
    session: Session,
    ctx: Context,
    paid: Paid,
    family: reversals.Family,
    found: list[Reversible],
    *,
    actor: str,
    event_id: str | None,
) -> Settled:
    """:func:`settle_intent` for any credited payment, a session's or a recharge charge's."""
    pi = paid.payment_intent_id
    credit = _credit_entry(session, paid)
    accounts.find(session, credit.account_id, lock=True)  # serialize racing deliveries
    have = {e.source: e.amount_cents for e in store.intent_entries(session, pi)}
    posted: list[tuple[reversals.Reversal, int]] = []
    seen = 0
    for obj in found:
        seen += any(family.owns(source, obj.id) for source in have)
        for move in reversals.settle(family, obj, reversals.target(obj), have):
            reason = _reason(family, obj)
            result = _post(session, ctx, paid, credit, move, reason, actor, event_id)
            posted.append((move, result))
            have[move.source] = move.amount_cents
    return Settled(credit.account_id, posted, seen)


def _post(
    session: Session,
    ctx: Context,
    paid: Paid,
    credit: store.IntentEntry,
    move: reversals.Reversal,
    reason: str,
    actor: str,
    event_id: str | None,
) -> int:
    result = reversals.post(
        session,
        ctx,
        move,
        account_id=credit.account_id,
        checkout_session_id=paid.checkout_session_id,
        actor=actor,
        event_id=event_id,
        reason=reason,
    )
    assert result.entry.id is not None
    return result.entry.id


def _credit_entry(session: Session, paid: Paid) -> store.IntentEntry:
    pi = paid.payment_intent_id
    for entry in store.intent_entries(session, pi):
        if entry.source == paid.credit_source:
            return entry
    raise NotFound(f"no credit entry {paid.credit_source} recorded against {pi}")


def _reason(family: reversals.Family, obj: Reversible) -> str:
    why = obj.reason or (obj.failure_reason if isinstance(obj, Refund) else None)
    return f"{family.kind} {obj.id} {obj.status}" + (f" ({why})" if why else "")


def _note_attention(
    session: Session,
    ctx: Context,
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
    advance_payment(session, ctx, payment, PaymentState.ATTENTION, reason=reason)
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
