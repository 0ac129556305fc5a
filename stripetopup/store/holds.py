"""Holds: money reserved against an account until captured, released or expired.

A hold's ``status`` column is ``open`` until it is closed (``captured``, ``released`` or
``expired``); an open hold past ``expires_at`` no longer counts against the balance even
before :func:`expire_due` closes it. Every question of time takes the caller's ``now`` (the
core's clock), so expiry is judged by one clock. Imports sqlalchemy/sqlmodel,
``stripetopup.ids``, ``stripetopup.models`` and the balance reads (``store.balances``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.ids import new_hold_id
from stripetopup.models import Account, Hold, HoldStatus
from stripetopup.store import balances


def open_total(session: Session, account: Account, now: datetime) -> int:
    """Cents reserved by holds open and unexpired at ``now`` (what they still may capture)."""
    assert account.id is not None
    return balances.held(session, account.id, now)


def expire_due(session: Session, account: Account, now: datetime) -> list[Hold]:
    """Close the account's holds expired at ``now`` (the caller holds its lock); returns
    the holds closed, so each can be told (``hold.expired``)."""
    due = (
        col(Hold.account_pk) == account.id,
        col(Hold.status) == HoldStatus.OPEN,
        col(Hold.expires_at) <= now,
    )
    rows = list(session.exec(select(Hold).where(*due).order_by(col(Hold.id))).all())
    if rows:
        session.execute(
            sa.update(Hold)
            .where(col(Hold.id).in_([row.id for row in rows]))
            .values(status=HoldStatus.EXPIRED, closed_at=now)
        )
        for row in rows:
            row.status, row.closed_at = HoldStatus.EXPIRED, now
    return rows


def accounts_with_due_holds(session: Session, now: datetime, *, limit: int) -> list[str]:
    """Ids of accounts with open holds expired at ``now`` (the expiry sweep's work)."""
    statement = (
        select(Account.account_id)
        .join(Hold, col(Hold.account_pk) == col(Account.id))
        .where(col(Hold.status) == HoldStatus.OPEN, col(Hold.expires_at) <= now)
        .distinct()
        .limit(limit)
    )
    return list(session.exec(statement).all())


def find(session: Session, hold_id: str, *, refresh: bool = False) -> Hold | None:
    """The hold named ``hold_id``; ``refresh`` re-reads a row the session already holds."""
    statement = select(Hold).where(Hold.hold_id == hold_id)
    if refresh:
        statement = statement.execution_options(populate_existing=True)
    return session.exec(statement).first()


def find_by_key(session: Session, idempotency_key: str) -> Hold | None:
    return session.exec(select(Hold).where(Hold.idempotency_key == idempotency_key)).first()


def account_id_of(session: Session, hold: Hold) -> str:
    """The host application's id of the account ``hold`` belongs to."""
    return session.exec(select(Account.account_id).where(Account.id == hold.account_pk)).one()


def create(
    session: Session,
    account: Account,
    *,
    amount_cents: int,
    currency: str,
    idempotency_key: str,
    request_fingerprint: str,
    reason: str | None,
    actor: str,
    created_at: datetime,
    expires_at: datetime,
) -> Hold:
    """A new open hold with a fresh ``hold_...`` id."""
    assert account.id is not None
    hold = Hold(
        hold_id=new_hold_id(),
        account_pk=account.id,
        amount_cents=amount_cents,
        currency=currency,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        reason=reason,
        actor=actor,
        created_at=created_at,
        expires_at=expires_at,
    )
    session.add(hold)
    session.flush()
    return hold


def close(
    session: Session, hold: Hold, *, status: HoldStatus, now: datetime, captured_cents: int = 0
) -> Hold:
    """Mark ``hold`` captured (with the cents taken) or released at ``now``; it stops counting."""
    hold.status = status
    hold.captured_cents = captured_cents
    hold.closed_at = now
    session.add(hold)
    session.flush()
    return hold
