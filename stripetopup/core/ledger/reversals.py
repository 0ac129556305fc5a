"""Money that goes back out after a credit: refunds and disputes, as ledger postings.

The payment is a Checkout Session's or an off-session auto-recharge charge's; both are
found by their PaymentIntent. Sources (:mod:`stripetopup.core.ledger.sources`):
``refund:re_...`` debits a succeeded refund and
``refund_reversed:re_...`` credits it back when it later fails or is cancelled;
``dispute:du_...`` debits a dispute's amount, ``dispute_reinstated:du_...`` credits it back
when the dispute is won. :func:`post` writes one through :func:`stripetopup.store.ledger.post`
(exactly once).

The event handlers and ``reconcile`` (through :func:`missing`) share one rule,
:func:`settle`: from an object's *current* state in Stripe it
computes what the ledger should hold for it (its target: ``-amount`` or 0) and the one
entry that moves the ledger there. Being a function of the final state, not of the event
that arrived, makes duplicated and reordered events converge. Should an object move back
after its credit back (a re-opened dispute), the next entries are numbered
(``dispute:du_...:2``), so every movement still has its own unique source.

Refunds and disputes are read as typed :mod:`stripetopup.stripe_objects` (a dict from
Stripe is validated on the way in: a missing ``amount`` is a PayloadError naming it).
Imports core (sources, context), store, models and the typed Stripe objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger import sources
from stripetopup.core.outbound import posting as outbound
from stripetopup.models import LedgerKind
from stripetopup.store import ledger
from stripetopup.store.grants import GrantRule
from stripetopup.stripe_objects import Dispute, Refund, Reversible

# Dispute statuses whose money is back (target 0) and whose money is gone or frozen
# (target -amount). Any other status (an inquiry, warning_*) holds what Stripe moved.
DISPUTE_RETURNED = frozenset({"won", "warning_closed"})
DISPUTE_TAKEN = frozenset({"lost", "needs_response", "under_review"})


@dataclass(frozen=True)
class Reversal:
    """One refund or dispute movement Stripe has made: signed cents, keyed by its source."""

    source: str
    kind: LedgerKind  # refund, refund_reversed, dispute, dispute_reinstated
    amount_cents: int  # negative for a debit
    currency: str
    payment_intent_id: str


@dataclass(frozen=True)
class Family:
    """The entries one kind of Stripe object makes: a debit, and a credit that undoes it."""

    kind: LedgerKind
    debit_prefix: str
    credit_prefix: str
    credit_kind: LedgerKind
    model: type[Refund] | type[Dispute]

    def parse(self, obj: Reversible | Mapping[str, Any]) -> Reversible:
        """``obj`` as its typed Stripe object (a dict is validated: PayloadError if wrong)."""
        return obj if isinstance(obj, Reversible) else self.model.parse(obj)

    def owns(self, source: str, object_id: str) -> bool:
        """True when ``source`` is one of ``object_id``'s entries (any cycle)."""
        for prefix in (self.debit_prefix, self.credit_prefix):
            base = prefix + object_id
            if source == base or source.startswith(base + ":"):
                return True
        return False


REFUNDS = Family(
    LedgerKind.REFUND, sources.REFUND, sources.REFUND_REVERSED, LedgerKind.REFUND_REVERSED, Refund
)
DISPUTES = Family(
    LedgerKind.DISPUTE,
    sources.DISPUTE,
    sources.DISPUTE_REINSTATED,
    LedgerKind.DISPUTE_REINSTATED,
    Dispute,
)


def target(obj: Reversible) -> int:
    """What the ledger should hold for a refund or a dispute (see the two rules below)."""
    return dispute_target(obj) if isinstance(obj, Dispute) else refund_target(obj)


def refund_target(refund: Reversible) -> int:
    """What the ledger should hold for a refund: its amount debited once it succeeded."""
    return -refund.amount if refund.status == "succeeded" else 0


def dispute_target(dispute: Dispute) -> int:
    """What the ledger should hold for a dispute: debited while open or lost, 0 when won."""
    status = dispute.status or ""
    if status in DISPUTE_RETURNED:
        return 0
    if status in DISPUTE_TAKEN:
        return -dispute.amount
    return min(0, sum(move.amount for move in dispute.balance_transactions))


def dispute_was_taken(dispute: Reversible) -> bool:
    """True when the dispute's money left at some point (withdrawn, or a chargeback won)."""
    moves = dispute.balance_transactions if isinstance(dispute, Dispute) else []
    return dispute.status == "won" or any(move.amount < 0 for move in moves)


def settle(
    family: Family, obj: Reversible | Mapping[str, Any], target: int, have: Mapping[str, int]
) -> list[Reversal]:
    """The entries that move ``obj``'s entries in ``have`` (source -> cents) to ``target``.

    Empty when they already add up to it. A dispute whose money was taken and given back
    before we heard of it still gets both entries (debit, then credit back), as reconcile
    expects. Call it under the account's lock, with ``have`` read after taking it, so that
    two racing callers compute the same sources.
    """
    item = family.parse(obj)
    moves: list[Reversal] = []
    first_time = not any(family.owns(source, item.id) for source in have)
    if family is DISPUTES and first_time and target == 0 and dispute_was_taken(item):
        taken = _step(family, item, -item.amount, have)
        assert taken is not None
        moves.append(taken)
        have = {**have, taken.source: taken.amount_cents}
    last = _step(family, item, target, have)
    return moves + ([last] if last is not None else [])


def _step(family: Family, obj: Reversible, target: int, have: Mapping[str, int]) -> Reversal | None:
    mine = [source for source in have if family.owns(source, obj.id)]
    delta = target - sum(have[source] for source in mine)
    if delta == 0:
        return None
    prefix, kind = (
        (family.debit_prefix, family.kind)
        if delta < 0
        else (family.credit_prefix, family.credit_kind)
    )
    cycle = 1 + sum(1 for source in mine if source.startswith(prefix))
    source = prefix + obj.id + (f":{cycle}" if cycle > 1 else "")
    return Reversal(source, kind, delta, obj.currency.lower(), obj.payment_intent)


def missing(
    ctx: Context, payment_intent_id: str, have: Mapping[str, int], *, refunds: bool, disputes: bool
) -> list[Reversal]:
    """The entries that would bring the payment intent's refunds (and/or disputes) in ``have``
    (the ledger's source -> cents for it) to what Stripe holds now: the same rule the event
    handlers settle by. Calls Stripe: one list per kind asked for."""
    found: list[Reversal] = []
    families = ([REFUNDS] if refunds else []) + ([DISPUTES] if disputes else [])
    for family in families:
        listed = (
            ctx.stripe.list_refunds(payment_intent_id)
            if family is REFUNDS
            else ctx.stripe.list_disputes(payment_intent_id)
        )
        for item in sorted((family.parse(obj) for obj in listed), key=lambda i: i.created_at):
            found.extend(settle(family, item, target(item), have))
    return found


def post(
    session: Session,
    ctx: Context,
    reversal: Reversal,
    *,
    account_id: str,
    checkout_session_id: str | None,
    actor: str,
    event_id: str | None = None,
    reason: str | None = None,
) -> ledger.PostResult:
    """Write ``reversal`` to the account's ledger once (a second call finds the entry).

    ``checkout_session_id`` is None for a recharge charge (credited as
    ``payment_intent:pi_...``). Its grants (judged at the context's clock): a debit takes
    from the grant the payment's credit made first, then in burn-down order; a credit back
    returns to that grant as far as it is live and was drawn, the rest a new paid,
    never-expiring grant.
    """
    # The payment's credit: a Checkout Session's, or (no session: an off-session
    # auto-recharge charge) the PaymentIntent's own.
    paid_by = (
        sources.checkout_credit(checkout_session_id)
        if checkout_session_id
        else sources.payment_intent_credit(reversal.payment_intent_id)
    )
    return outbound.post(
        session,
        ctx,
        ledger.Posting(
            account_id=account_id,
            amount_cents=reversal.amount_cents,
            currency=reversal.currency,
            kind=reversal.kind,
            source=reversal.source,
            actor=actor,
            reason=reason,
            checkout_session_id=checkout_session_id,
            payment_intent_id=reversal.payment_intent_id,
            event_id=event_id,
            grants=GrantRule(prefer_source=paid_by),
        ),
    )
