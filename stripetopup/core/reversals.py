"""Money that goes back out after a credit: refunds and disputes, as ledger postings.

Sources (see DESIGN.md): ``refund:re_...`` debits a succeeded refund, ``dispute:du_...``
debits funds withdrawn for a dispute, ``dispute_reinstated:du_...`` credits them back
when the dispute is won. :func:`missing` asks Stripe which of these a payment intent has
and the ledger lacks; :func:`post` writes one through :func:`stripetopup.store.ledger.post`
(exactly once). ``reconcile --fix`` uses both; the refund/dispute event handlers can too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.store import ledger

REFUND_PREFIX = "refund:"
DISPUTE_PREFIX = "dispute:"
REINSTATED_PREFIX = "dispute_reinstated:"


@dataclass(frozen=True)
class Reversal:
    """One refund or dispute movement Stripe has made: signed cents, keyed by its source."""

    source: str
    kind: str  # refund, dispute, dispute_reinstated
    amount_cents: int  # negative for a debit
    currency: str
    payment_intent_id: str


def from_refund(refund: dict[str, Any]) -> Reversal | None:
    """The debit for a refund, or None while it has not succeeded."""
    if refund.get("status") != "succeeded":
        return None
    return Reversal(
        source=REFUND_PREFIX + str(refund["id"]),
        kind="refund",
        amount_cents=-int(refund["amount"]),
        currency=str(refund["currency"]).lower(),
        payment_intent_id=str(refund["payment_intent"]),
    )


def from_dispute(dispute: dict[str, Any]) -> list[Reversal]:
    """The withdrawal debit and (when won) the reinstatement credit a dispute has made."""
    moves = [t for t in dispute.get("balance_transactions") or [] if isinstance(t, dict)]
    currency = str(dispute["currency"]).lower()
    pi = str(dispute["payment_intent"])
    found: list[Reversal] = []
    if any(int(t.get("amount", 0)) < 0 for t in moves):
        amount = int(dispute["amount"])
        found.append(Reversal(DISPUTE_PREFIX + dispute["id"], "dispute", -amount, currency, pi))
        if any(int(t.get("amount", 0)) > 0 for t in moves):
            found.append(
                Reversal(
                    REINSTATED_PREFIX + dispute["id"], "dispute_reinstated", amount, currency, pi
                )
            )
    return found


def missing(
    ctx: Context, payment_intent_id: str, have: Collection[str], *, refunds: bool, disputes: bool
) -> list[Reversal]:
    """Refund/dispute movements Stripe reports for the payment intent whose source is not in
    ``have`` (the ledger's sources for it). Calls Stripe: one list per kind asked for."""
    found: list[Reversal] = []
    if refunds:
        for refund in ctx.stripe.list_refunds(payment_intent_id):
            reversal = from_refund(refund)
            if reversal is not None:
                found.append(reversal)
    if disputes:
        for dispute in ctx.stripe.list_disputes(payment_intent_id):
            found.extend(from_dispute(dispute))
    return [r for r in found if r.source not in have]


def post(
    session: Session,
    reversal: Reversal,
    *,
    account_id: str,
    checkout_session_id: str | None,
    actor: str,
    event_id: str | None = None,
) -> ledger.PostResult:
    """Write ``reversal`` to the account's ledger once (a second call finds the entry)."""
    return ledger.post(
        session,
        ledger.Posting(
            account_id=account_id,
            amount_cents=reversal.amount_cents,
            currency=reversal.currency,
            kind=reversal.kind,
            source=reversal.source,
            actor=actor,
            checkout_session_id=checkout_session_id,
            payment_intent_id=reversal.payment_intent_id,
            event_id=event_id,
        ),
    )
