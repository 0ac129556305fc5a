"""Webhook deliveries (``webhook_deliveries``): one outbound event to one endpoint.

A worker *claims* due deliveries by writing its name and a lease into them; on PostgreSQL
the rows are read ``FOR UPDATE SKIP LOCKED``, so two workers claiming at once take different
rows and neither waits. A claim is good until ``lease_until``: a worker that dies leaves
its rows to be claimed again once the lease has passed. The outcome of an attempt is
written only while the worker still owns the row. Every time is the caller's ``now``.
May import models, ``store.upsert`` and sqlalchemy/sqlmodel only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import OPEN_DELIVERY_STATES, DeliveryState, WebhookDelivery
from stripetopup.store.upsert import dialect_insert, dialect_of

DELIVERY_PREFIX = "dlv_"
_TABLE = WebhookDelivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewDelivery:
    event_id: str
    event_seq: int
    event_type: str


def add_many(
    session: Session, endpoint_pk: int, events: Sequence[NewDelivery], now: datetime
) -> int:
    """A pending delivery of each event to the endpoint, unless it has one; how many new."""
    if not events:
        return 0
    rows = [
        {
            "delivery_id": DELIVERY_PREFIX + secrets.token_hex(12),
            "endpoint_pk": endpoint_pk,
            "event_id": event.event_id,
            "event_seq": event.event_seq,
            "event_type": event.event_type,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
    ]
    statement = (
        dialect_insert(session, _TABLE)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(_TABLE.c.id)  # rowcount is -1 for a multi-row insert on psycopg
    )
    return len(session.execute(statement).all())


def claim(
    session: Session, endpoint_pk: int, *, owner: str, now: datetime, until: datetime, limit: int
) -> list[WebhookDelivery]:
    """Up to ``limit`` due deliveries of the endpoint, oldest due first, leased to ``owner``."""
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_pk == endpoint_pk,
            col(WebhookDelivery.state).in_(OPEN_DELIVERY_STATES),
            col(WebhookDelivery.next_attempt_at) <= now,
            sa.or_(
                col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) <= now
            ),
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.exec(statement.execution_options(populate_existing=True)).all())
    for row in rows:
        row.lease_owner, row.lease_until = owner, until
        session.add(row)
    session.flush()
    return rows


def finish(session: Session, pk: int, owner: str, values: dict[str, Any]) -> bool:
    """Write an attempt's outcome and end the lease, if ``owner`` still holds it."""
    result = session.execute(
        sa.update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == pk, col(WebhookDelivery.lease_owner) == owner)
        .values(**values, lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_delivered(
    session: Session, pks: Sequence[int], owner: str, *, status_code: int, now: datetime
) -> list[int]:
    """Mark these deliveries delivered (answered ``status_code``) in one statement, those
    ``owner`` still holds; returns their pks (an attempt is recorded for each)."""
    if not pks:
        return []
    result = session.execute(
        sa.update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(list(pks)), col(WebhookDelivery.lease_owner) == owner)
        .values(
            state=DeliveryState.DELIVERED,
            attempts=WebhookDelivery.attempts + 1,
            last_attempt_at=now,
            last_status_code=status_code,
            last_error=None,
            delivered_at=now,
            next_attempt_at=None,
            lease_owner=None,
            lease_until=None,
        )
        .returning(col(WebhookDelivery.id))
    )
    return [int(pk) for pk in result.scalars().all()]


def release(session: Session, pks: Sequence[int], owner: str) -> None:
    """Give back claimed rows not tried (a worker stopping, an endpoint that failed)."""
    if pks:
        session.execute(
            sa.update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(list(pks)), col(WebhookDelivery.lease_owner) == owner
            )
            .values(lease_owner=None, lease_until=None)
        )


def find(session: Session, delivery_id: str) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
    return session.exec(statement).first()


def search(
    session: Session,
    *,
    endpoint_pk: int | None = None,
    states: Sequence[str] = (),
    event_id: str | None = None,
    limit: int = 200,
) -> list[WebhookDelivery]:
    """Deliveries newest first, of one endpoint, in some states or of one event."""
    statement = select(WebhookDelivery)
    if endpoint_pk is not None:
        statement = statement.where(WebhookDelivery.endpoint_pk == endpoint_pk)
    if states:
        statement = statement.where(col(WebhookDelivery.state).in_(list(states)))
    if event_id is not None:
        statement = statement.where(WebhookDelivery.event_id == event_id)
    ordered = statement.order_by(col(WebhookDelivery.id).desc()).limit(limit)
    return list(session.exec(ordered).all())


def ids(session: Session, *, endpoint_pk: int, states: Sequence[str]) -> list[str]:
    """The delivery ids of an endpoint in ``states``, oldest first."""
    statement = select(WebhookDelivery.delivery_id).where(
        WebhookDelivery.endpoint_pk == endpoint_pk, col(WebhookDelivery.state).in_(list(states))
    )
    return list(session.exec(statement.order_by(col(WebhookDelivery.id))).all())


def event_seqs(
    *, endpoint_pk: int | None = None, states: Sequence[str] = ()
) -> sa.Select[tuple[int]]:
    """The ``seq`` of every event with a delivery (of the endpoint, in ``states``): a
    subquery for the outbox's reads."""
    statement = sa.select(_TABLE.c.event_seq)
    if endpoint_pk is not None:
        statement = statement.where(_TABLE.c.endpoint_pk == endpoint_pk)
    if states:
        statement = statement.where(_TABLE.c.state.in_(list(states)))
    return statement


def of_events(
    session: Session, seqs: Sequence[int], *, endpoint_pk: int | None = None
) -> list[WebhookDelivery]:
    """The deliveries of these events (of one endpoint), in the order they were made."""
    if not seqs:
        return []
    statement = select(WebhookDelivery).where(col(WebhookDelivery.event_seq).in_(list(seqs)))
    if endpoint_pk is not None:
        statement = statement.where(WebhookDelivery.endpoint_pk == endpoint_pk)
    return list(session.exec(statement.order_by(col(WebhookDelivery.id))).all())


def matching(
    session: Session,
    *,
    states: Sequence[str],
    endpoint_pk: int | None = None,
    among_seqs: sa.Select[tuple[int]] | None = None,
) -> list[tuple[int, str]]:
    """(pk, delivery id) of the deliveries in ``states``, of one endpoint or of the events
    ``among_seqs`` selects, oldest first."""
    statement = select(WebhookDelivery.id, WebhookDelivery.delivery_id).where(
        col(WebhookDelivery.state).in_(list(states))
    )
    if endpoint_pk is not None:
        statement = statement.where(WebhookDelivery.endpoint_pk == endpoint_pk)
    if among_seqs is not None:
        statement = statement.where(col(WebhookDelivery.event_seq).in_(among_seqs))
    rows = session.exec(statement.order_by(col(WebhookDelivery.id))).all()
    return [(int(pk), str(delivery_id)) for pk, delivery_id in rows if pk is not None]


def reschedule(
    session: Session,
    now: datetime,
    *,
    pk: int | None = None,
    pks: Sequence[int] | None = None,
    endpoint_pk: int | None = None,
    states: Sequence[str] = (),
) -> int:
    """Send deliveries again now, on a fresh schedule (``hooks replay``): the one ``pk``,
    those ``pks``, or an endpoint's in ``states``."""
    statement = sa.update(WebhookDelivery)
    if pk is not None:
        statement = statement.where(col(WebhookDelivery.id) == pk)
    if pks is not None:
        statement = statement.where(col(WebhookDelivery.id).in_(list(pks)))
    if endpoint_pk is not None:
        statement = statement.where(col(WebhookDelivery.endpoint_pk) == endpoint_pk)
    if states:
        statement = statement.where(col(WebhookDelivery.state).in_(list(states)))
    result = session.execute(
        statement.values(
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_owner=None,
            lease_until=None,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def endpoints_with_due(session: Session, now: datetime) -> set[int]:
    """The endpoints that have a delivery due at ``now`` and not leased."""
    statement = (
        select(WebhookDelivery.endpoint_pk)
        .where(
            col(WebhookDelivery.state).in_(OPEN_DELIVERY_STATES),
            col(WebhookDelivery.next_attempt_at) <= now,
            sa.or_(
                col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) <= now
            ),
        )
        .distinct()
    )
    return {int(pk) for pk in session.exec(statement).all()}
