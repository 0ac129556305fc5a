"""Whole-database totals for the metrics scrape: accounts, ledger entries and payments.

Each is one aggregate query, so a scrape costs the same however large the ledger grows
(an index-only or sequential scan, never a row per entry in Python).
May import models and sqlalchemy/sqlmodel only.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from stripetopup.models import Account, LedgerEntry, StripePayment


def accounts(session: Session) -> tuple[int, int]:
    """How many accounts there are, and the sum of their balances in cents."""
    statement = select(func.count(), func.coalesce(func.sum(Account.balance_cents), 0))
    count, cents = session.exec(statement).one()
    return int(count), int(cents)


def entries_by_kind(session: Session) -> dict[str, tuple[int, int]]:
    """For each entry kind: how many entries, and their sum in cents."""
    statement = select(
        LedgerEntry.kind, func.count(), func.coalesce(func.sum(LedgerEntry.amount_cents), 0)
    ).group_by(col(LedgerEntry.kind))
    return {str(kind): (int(n), int(cents)) for kind, n, cents in session.exec(statement).all()}


def payments_by_state(session: Session) -> dict[str, tuple[int, int]]:
    """For each payment state: how many payments, and their amount_total sum in cents."""
    amount = sa.func.coalesce(sa.func.sum(StripePayment.amount_total_cents), 0)
    statement = select(StripePayment.state, func.count(), amount).group_by(col(StripePayment.state))
    rows = session.exec(statement).all()
    return {str(state): (int(n), int(cents or 0)) for state, n, cents in rows}
