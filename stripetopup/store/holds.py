"""Holds: money reserved against an account until captured, released or expired."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from stripetopup.models import Account, Hold, _now


def open_total(session: Session, account: Account) -> int:
    """Cents reserved by open, unexpired holds (what they still may capture)."""
    total = session.exec(
        select(func.coalesce(func.sum(Hold.amount_cents - Hold.captured_cents), 0)).where(
            Hold.account_pk == account.id,
            Hold.status == "open",
            col(Hold.expires_at) > _now(),
        )
    ).one()
    return int(total)


def expire_due(session: Session, account: Account) -> int:
    """Close the account's holds past their expiry; returns how many were closed."""
    result = session.execute(
        sa.update(Hold)
        .where(
            col(Hold.account_pk) == account.id,
            col(Hold.status) == "open",
            col(Hold.expires_at) <= _now(),
        )
        .values(status="expired", closed_at=_now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
