"""The event log: every Stripe event received or fetched, with its outcome and attempts.

``attempts`` counts deliveries (the webhook door); ``replays`` counts ``replay`` runs, which
fetch the event from Stripe themselves and so are not attempts of Stripe's.

The record is written in the processing transaction when processing succeeds, and in a
transaction of its own after the rollback when it fails, so a failure always leaves its
record (dj-stripe does the same).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.dates import utcnow
from stripetopup.models import EventResult, WebhookEvent
from stripetopup.store.upsert import bound_values, dialect_of, insert_for

FAILED = EventResult.FAILED
ALREADY_APPLIED = EventResult.ALREADY_APPLIED
MAX_ERROR_LENGTH = 2000


_EVENTS = WebhookEvent.__table__  # type: ignore[attr-defined]


def record(
    session: Session,
    *,
    event_id: str,
    event_type: str,
    livemode: bool,
    payload: str,
    secret_label: str | None,
    outcome: str,
    error: str | None = None,
    replay: bool = False,
) -> None:
    """Insert the event on first sight or count one more attempt (or replay), with how it ended.

    One statement. An earlier success is kept when this attempt only found the work done
    (``already_applied``), so the log still says what the event did the first time.
    """
    values = record_values(
        event_id=event_id,
        event_type=event_type,
        livemode=livemode,
        payload=payload,
        secret_label=secret_label,
        outcome=outcome,
        error=error,
        replay=replay,
    )
    session.execute(record_statement(dialect_of(session)), values)


def record_values(
    *,
    event_id: str,
    event_type: str,
    livemode: bool,
    payload: str,
    secret_label: str | None,
    outcome: str,
    error: str | None = None,
    replay: bool = False,
) -> dict[str, Any]:
    """The parameters of :func:`record_statement` (also the fast credit's)."""
    now = utcnow()
    return {
        "event_id": event_id,
        "type": event_type[:100],
        "livemode": livemode,
        "payload": payload,
        "secret_label": secret_label,
        "received_at": now,
        "processed_at": now,
        "outcome": outcome,
        "error": storable(error[:MAX_ERROR_LENGTH]) if error else None,
        "attempts": 0 if replay else 1,
        "replays": 1 if replay else 0,
        "keep_first": outcome == ALREADY_APPLIED,
    }


def storable(text: str) -> str:
    """``text`` as every database stores it: no NUL, no unpaired surrogate (both replaced).

    An error message can quote what failed; the failure record must be writable anyway.
    """
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


@functools.cache
def record_statement(dialect: str) -> Any:
    """The event log's insert-or-count-again for ``dialect``, built once."""
    insert = insert_for(dialect, _EVENTS)
    new, old = insert.excluded, _EVENTS.c
    keep_old = sa.and_(
        sa.bindparam("keep_first", type_=sa.Boolean),
        old.outcome.is_not(None),
        old.outcome != FAILED,
    )
    columns = [column.name for column in _EVENTS.c if column.name != "id"]
    return insert.values(bound_values(columns)).on_conflict_do_update(
        index_elements=["event_id"],
        set_={
            "attempts": old.attempts + new.attempts,
            "replays": old.replays + new.replays,
            "secret_label": sa.func.coalesce(new.secret_label, old.secret_label),
            "processed_at": new.processed_at,
            "outcome": sa.case((keep_old, old.outcome), else_=new.outcome),
            "error": sa.case((keep_old, old.error), else_=new.error),
        },
    )


def get(session: Session, event_id: str) -> WebhookEvent | None:
    return session.exec(select(WebhookEvent).where(WebhookEvent.event_id == event_id)).first()


def search(
    session: Session,
    *,
    failed_only: bool = False,
    event_type: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    exclude_types: Sequence[str] = (),
) -> Sequence[WebhookEvent]:
    statement = select(WebhookEvent)
    if exclude_types:
        statement = statement.where(col(WebhookEvent.type).not_in(list(exclude_types)))
    if failed_only:
        statement = statement.where(WebhookEvent.outcome == FAILED)
    if event_type is not None:
        statement = statement.where(WebhookEvent.type == event_type)
    if since is not None:
        statement = statement.where(col(WebhookEvent.received_at) >= since)
    order = (col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc())
    return session.exec(statement.order_by(*order).limit(limit)).all()
