"""The outbox: outbound events written in the caller's transaction, and read in order.

:func:`add` inserts one event into ``outbound_events`` inside the transaction that makes
the change it describes, so the event exists if and only if that change commits.

Order. ``seq`` numbers rows as they are inserted, which on PostgreSQL is not by itself the
order they commit in: a reader could pass ``seq`` 10 while the transaction holding ``seq``
9 is still running, and never see 9. So on PostgreSQL a writer takes a *shared* advisory
lock before it draws a ``seq`` (writers never wait for each other) and a reader takes the
same lock *exclusively* before it reads (:func:`after`): it waits until every transaction
that has drawn a ``seq`` has ended, and every ``seq`` drawn after that is larger than any
it reads. Following ``seq`` therefore never skips or repeats an event. The lock is per
database and held by a reader only for its one short read. On SQLite writers take turns
(``BEGIN IMMEDIATE``), so insertion order is commit order already.

Imports sqlalchemy/sqlmodel and ``stripetopup.models``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import OutboundEvent
from stripetopup.store.upsert import dialect_of

_TABLE = OutboundEvent.__table__  # type: ignore[attr-defined]
# The advisory lock's key: any fixed 64-bit number no other code of ours uses.
ORDER_LOCK = 0x5354_4F55_5442_4F58  # "STOUTBOX"
_INSERT = sa.insert(_TABLE).returning(_TABLE.c.seq)


@dataclass(frozen=True)
class NewEvent:
    """One event to write: its id, type and version, the account it is about, its JSON."""

    message_id: str
    type: str
    schema_version: int
    account_id: str | None
    created_at: datetime
    payload: str


def add(session: Session, event: NewEvent) -> int:
    """Insert ``event`` in the caller's transaction; returns its ``seq``."""
    if _is_pg(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(ORDER_LOCK)))
    values = {
        "message_id": event.message_id,
        "type": event.type,
        "schema_version": event.schema_version,
        "account_id": event.account_id,
        "created_at": event.created_at,
        "payload": event.payload,
    }
    return int(session.execute(_INSERT, values).scalar_one())


def find(session: Session, message_id: str) -> OutboundEvent | None:
    return session.exec(select(OutboundEvent).where(OutboundEvent.message_id == message_id)).first()


def after(
    session: Session,
    after_seq: int | None,
    *,
    limit: int,
    types: Sequence[str] = (),
    account_id: str | None = None,
) -> list[OutboundEvent]:
    """Up to ``limit`` committed events after ``after_seq``, oldest first.

    ``types`` keeps events whose type is one of them; a type ending in ``.*`` keeps a
    family (``balance.*``). On PostgreSQL this first waits for the transactions writing
    events to end (see the module docstring); call it in a transaction of its own.
    """
    if _is_pg(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(ORDER_LOCK)))
    statement = select(OutboundEvent)
    if after_seq is not None:
        statement = statement.where(col(OutboundEvent.seq) > after_seq)
    if types:
        statement = statement.where(sa.or_(*(_type_matches(t) for t in types)))
    if account_id is not None:
        statement = statement.where(OutboundEvent.account_id == account_id)
    ordered = statement.order_by(col(OutboundEvent.seq)).limit(limit)
    return list(session.exec(ordered).all())


def newest(
    session: Session,
    *,
    since: datetime | None = None,
    among_seqs: sa.Select[tuple[int]] | None = None,
    limit: int,
) -> list[OutboundEvent]:
    """Up to ``limit`` events newest first, created at or after ``since``, of those
    ``among_seqs`` selects (an operator's listing: no ordering lock)."""
    statement = select(OutboundEvent)
    if since is not None:
        statement = statement.where(col(OutboundEvent.created_at) >= since)
    if among_seqs is not None:
        statement = statement.where(col(OutboundEvent.seq).in_(among_seqs))
    ordered = statement.order_by(col(OutboundEvent.seq).desc()).limit(limit)
    return list(session.exec(ordered).all())


def seqs_since(since: datetime) -> sa.Select[tuple[int]]:
    """The ``seq`` of every event created at or after ``since``: a subquery."""
    return sa.select(_TABLE.c.seq).where(_TABLE.c.created_at >= since)


def last_seq(session: Session) -> int:
    """The newest event's ``seq`` (0 for an empty outbox): where a new reader starts."""
    newest = session.execute(sa.select(sa.func.max(_TABLE.c.seq))).scalar()
    return int(newest or 0)


def payloads(session: Session, seqs: Sequence[int]) -> dict[int, str]:
    """The JSON envelope of each event named by ``seq`` (the delivery worker's bodies)."""
    if not seqs:
        return {}
    statement = sa.select(_TABLE.c.seq, _TABLE.c.payload).where(_TABLE.c.seq.in_(list(seqs)))
    return {int(seq): str(payload) for seq, payload in session.execute(statement).all()}


def _type_matches(pattern: str) -> sa.ColumnElement[bool]:
    if pattern.endswith(".*"):
        return col(OutboundEvent.type).startswith(pattern[:-1], autoescape=True)
    return col(OutboundEvent.type) == pattern


def for_account(session: Session, account_id: str) -> list[OutboundEvent]:
    """Every event about ``account_id`` in insertion order (tests and operators)."""
    statement = select(OutboundEvent).where(OutboundEvent.account_id == account_id)
    return list(session.exec(statement.order_by(col(OutboundEvent.seq))).all())


def _is_pg(session: Session) -> bool:
    return dialect_of(session) == "postgresql"
