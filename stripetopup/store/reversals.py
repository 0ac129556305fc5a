"""Reads and writes for refunds, disputes and operator-resolved payments.

Ledger entries of one payment intent (its credit, refunds and disputes) in one indexed
query; recording who assigned or dismissed a payment; counting accounts for
``ledger verify``. May import models and sqlmodel/sqlalchemy; never core, web or cli.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from stripetopup.dates import utcnow
from stripetopup.models import MAX_REASON_LENGTH, Account, LedgerEntry, StripePayment

_PAYMENTS = StripePayment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IntentEntry:
    """One ledger entry of a payment intent: what caused it, how much, whose account."""

    id: int
    source: str
    amount_cents: int
    account_id: str


def intent_entries(session: Session, payment_intent_id: str) -> list[IntentEntry]:
    """Every entry recorded against ``payment_intent_id``, oldest first."""
    statement = (
        sa.select(
            col(LedgerEntry.id),
            col(LedgerEntry.source),
            col(LedgerEntry.amount_cents),
            col(Account.account_id),
        )
        .join(Account, col(Account.id) == col(LedgerEntry.account_pk))
        .where(col(LedgerEntry.payment_intent_id) == payment_intent_id)
        .order_by(col(LedgerEntry.id))
    )
    return [IntentEntry(*row) for row in session.execute(statement).all()]


def mark_resolved(
    session: Session,
    payment: StripePayment,
    *,
    actor: str,
    resolution: str,
    account_id: str | None = None,
) -> None:
    """Record an operator's decision on ``payment`` (and, for an assign, its account)."""
    changes: dict[str, object] = {
        "resolved_by": actor[:100],
        "resolved_at": utcnow(),
        "resolution": resolution[:MAX_REASON_LENGTH],
        "updated_at": utcnow(),
    }
    if account_id is not None:
        changes["account_id"] = account_id
    session.execute(sa.update(_PAYMENTS).where(_PAYMENTS.c.id == payment.id).values(**changes))
    for key, value in changes.items():
        setattr(payment, key, value)


def count_accounts(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Account)).one())
