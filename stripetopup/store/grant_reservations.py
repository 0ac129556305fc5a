"""Grant reservations: the cents an open hold keeps on specific grants.

A reservation counts while its hold is ``open`` and unexpired at the caller's ``now``;
releasing, capturing or the hold's expiry ends it with nothing to undo (the hold's status
is the reservation's state). Imports sqlalchemy/sqlmodel, ``stripetopup.models`` and
``store.balances``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import GrantReservation, Hold, HoldStatus
from stripetopup.store import balances


def reserved_by_grant(now: datetime, *, except_hold_pk: int | None = None) -> Any:
    """A subquery ``(grant_pk, reserved)`` of what open, unexpired holds keep on each grant.

    ``except_hold_pk`` leaves one hold out: the hold a capture is drawing from.
    """
    statement: Any = (
        sa.select(
            col(GrantReservation.grant_pk).label("grant_pk"),
            sa.func.sum(GrantReservation.amount_cents).label("reserved"),
        )
        .join(Hold, col(Hold.id) == col(GrantReservation.hold_pk))
        .where(col(Hold.status) == HoldStatus.OPEN, col(Hold.expires_at) > now)
        .group_by(col(GrantReservation.grant_pk))
    )
    if except_hold_pk is not None:
        statement = statement.where(col(GrantReservation.hold_pk) != except_hold_pk)
    return statement.subquery()


NO_HOLD = balances.NO_HOLD


def reserved_by_grant_bound() -> Any:
    """:func:`reserved_by_grant` with ``:now`` and ``:except_hold`` bound at execution,
    for statements built once (the posting path): the one in ``store.balances``."""
    return balances.reserved_by_grant_bound()


def reserved_on(session: Session, grant_pk: int, now: datetime) -> int:
    """Cents open, unexpired holds keep on one grant at ``now``."""
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(GrantReservation.amount_cents), 0))
        .join(Hold, col(Hold.id) == col(GrantReservation.hold_pk))
        .where(
            col(GrantReservation.grant_pk) == grant_pk,
            col(Hold.status) == HoldStatus.OPEN,
            col(Hold.expires_at) > now,
        )
    ).scalar_one()
    return int(total)


def of_hold(session: Session, hold_pk: int) -> Sequence[GrantReservation]:
    """A hold's reservations in the order they were made (the burn-down order)."""
    return session.exec(
        select(GrantReservation)
        .where(GrantReservation.hold_pk == hold_pk)
        .order_by(col(GrantReservation.id))
    ).all()


def add(session: Session, hold_pk: int, grant_pk: int, amount_cents: int) -> None:
    session.add(GrantReservation(hold_pk=hold_pk, grant_pk=grant_pk, amount_cents=amount_cents))
