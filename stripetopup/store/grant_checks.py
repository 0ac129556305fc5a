"""The credit grants' invariants, as grouped queries (``ledger verify``, ``reconcile``).

Per grant: ``remaining == amount - sum(its draws)``, ``0 <= remaining <= amount``, an
expired grant has nothing left, and open holds reserve no more than it has left. Per entry
that touched grants: ``amount == sum(amounts of the grants it created) - sum(its draws)``.
Per account: ``deficit == sum(draws with no grant) >= 0`` and ``sum(entries) == sum(remaining
of live grants) - deficit`` (the cached balance is checked against the entries apart, by
``store.ledger.verify_balances``). Each query reads everything once, whatever the number of rows.
Imports sqlalchemy/sqlmodel, ``stripetopup.models`` and the store's grant reservations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from stripetopup.models import Account, CreditGrant, GrantDraw, GrantStatus, LedgerEntry
from stripetopup.store import grant_reservations


@dataclass(frozen=True)
class GrantProblem:
    """One broken invariant: the account, what it concerns (a grant, an entry or the
    account) and what is wrong, in numbers."""

    account_id: str
    subject: str
    detail: str


def problems(session: Session, now: datetime) -> list[GrantProblem]:
    """Every broken grant invariant, grants first, then entries, then accounts."""
    return [*_grants(session, now), *_entries(session), *_accounts(session)]


def _sum_by(column: Any, key: Any, *where: Any) -> Any:
    return (
        sa.select(key.label("key"), sa.func.sum(column).label("total"))
        .where(*where)
        .group_by(key)
        .subquery()
    )


def _grants(session: Session, now: datetime) -> list[GrantProblem]:
    drawn = _sum_by(col(GrantDraw.amount_cents), col(GrantDraw.grant_pk))
    reserved = grant_reservations.reserved_by_grant(now)
    rows = session.execute(
        sa.select(
            col(Account.account_id),
            col(CreditGrant.grant_id),
            col(CreditGrant.amount_cents),
            col(CreditGrant.remaining_cents),
            col(CreditGrant.status),
            sa.func.coalesce(drawn.c.total, 0),
            sa.func.coalesce(reserved.c.reserved, 0),
        )
        .join(Account, col(Account.id) == col(CreditGrant.account_pk))
        .outerjoin(drawn, drawn.c.key == col(CreditGrant.id))
        .outerjoin(reserved, reserved.c.grant_pk == col(CreditGrant.id))
        .order_by(col(CreditGrant.id))
    ).all()
    found = []
    for account_id, grant_id, amount, remaining, status, draws, held in rows:
        wrong = _grant_wrong(int(amount), int(remaining), status, int(draws), int(held))
        if wrong:
            found.append(GrantProblem(account_id, grant_id, wrong))
    return found


def _grant_wrong(amount: int, remaining: int, status: str, drawn: int, held: int) -> str:
    if remaining != amount - drawn:
        return f"remaining {remaining} is not amount {amount} less draws {drawn}"
    if not 0 <= remaining <= amount:
        return f"remaining {remaining} is outside 0..{amount}"
    if status == GrantStatus.EXPIRED and remaining:
        return f"expired with {remaining} left"
    if held > remaining:
        return f"open holds reserve {held}, more than the {remaining} left"
    return ""


def _entries(session: Session) -> list[GrantProblem]:
    drawn = _sum_by(col(GrantDraw.amount_cents), col(GrantDraw.entry_id))
    made = _sum_by(col(CreditGrant.amount_cents), col(CreditGrant.entry_id))
    rows = session.execute(
        sa.select(
            col(Account.account_id),
            col(LedgerEntry.source),
            col(LedgerEntry.amount_cents),
            sa.func.coalesce(made.c.total, 0),
            sa.func.coalesce(drawn.c.total, 0),
        )
        .join(Account, col(Account.id) == col(LedgerEntry.account_pk))
        .outerjoin(drawn, drawn.c.key == col(LedgerEntry.id))
        .outerjoin(made, made.c.key == col(LedgerEntry.id))
        .where(sa.or_(drawn.c.key.is_not(None), made.c.key.is_not(None)))
        .where(
            col(LedgerEntry.amount_cents).is_distinct_from(
                sa.func.coalesce(made.c.total, 0) - sa.func.coalesce(drawn.c.total, 0)
            )
        )
    ).all()
    return [
        GrantProblem(account_id, source, f"entry of {amount} made grants of {m} and drew {d}")
        for account_id, source, amount, m, d in rows
    ]


def _accounts(session: Session) -> list[GrantProblem]:
    left = _sum_by(
        col(CreditGrant.remaining_cents),
        col(CreditGrant.account_pk),
        col(CreditGrant.status) == GrantStatus.LIVE,
    )
    owed = _sum_by(
        col(GrantDraw.amount_cents), col(GrantDraw.account_pk), col(GrantDraw.grant_pk).is_(None)
    )
    entries = _sum_by(col(LedgerEntry.amount_cents), col(LedgerEntry.account_pk))
    rows = session.execute(
        sa.select(
            col(Account.account_id),
            sa.func.coalesce(entries.c.total, 0),
            sa.func.coalesce(left.c.total, 0),
            sa.func.coalesce(owed.c.total, 0),
        )
        .outerjoin(entries, entries.c.key == col(Account.id))
        .outerjoin(left, left.c.key == col(Account.id))
        .outerjoin(owed, owed.c.key == col(Account.id))
        .order_by(col(Account.account_id))
    ).all()
    found = []
    for account_id, total, remaining, deficit in rows:
        if deficit < 0:
            found.append(GrantProblem(account_id, account_id, f"deficit {deficit} is negative"))
        elif total != remaining - deficit:
            detail = (
                f"entries sum to {total}, not grants' remaining {remaining} less deficit {deficit}"
            )
            found.append(GrantProblem(account_id, account_id, detail))
    return found
