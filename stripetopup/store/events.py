"""The event log: every Stripe event received or fetched, with its outcome and attempts.

The log is written in its own short transactions around the processing transaction, so a
failure that rolls processing back still leaves its record (dj-stripe does the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import WebhookEvent, _now
from stripetopup.store.upsert import insert_ignore

FAILED = "failed"
MAX_ERROR_LENGTH = 2000


def record_received(
    session: Session,
    *,
    event_id: str,
    event_type: str,
    livemode: bool,
    payload: str,
    secret_label: str | None,
) -> None:
    """Insert the event on first sight, and count this delivery as one more attempt."""
    insert_ignore(
        session,
        WebhookEvent,
        {
            "event_id": event_id,
            "type": event_type[:100],
            "livemode": livemode,
            "payload": payload,
            "secret_label": secret_label,
            "received_at": _now(),
            "attempts": 0,
        },
    )
    values: dict[str, object] = {"attempts": WebhookEvent.attempts + 1}
    if secret_label is not None:
        values["secret_label"] = secret_label
    session.execute(
        sa.update(WebhookEvent).where(col(WebhookEvent.event_id) == event_id).values(**values)
    )


def mark_outcome(session: Session, event_id: str, outcome: str, *, keep_first: bool) -> None:
    """Store how processing ended; with ``keep_first`` an earlier success is not overwritten."""
    statement = sa.update(WebhookEvent).where(col(WebhookEvent.event_id) == event_id)
    if keep_first:
        statement = statement.where(
            sa.or_(col(WebhookEvent.outcome).is_(None), col(WebhookEvent.outcome) == FAILED)
        )
    session.execute(statement.values(outcome=outcome, error=None, processed_at=_now()))


def mark_failed(session: Session, event_id: str, error: str) -> None:
    session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.event_id) == event_id)
        .values(outcome=FAILED, error=error[:MAX_ERROR_LENGTH], processed_at=_now())
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
) -> Sequence[WebhookEvent]:
    statement = select(WebhookEvent)
    if failed_only:
        statement = statement.where(WebhookEvent.outcome == FAILED)
    if event_type is not None:
        statement = statement.where(WebhookEvent.type == event_type)
    if since is not None:
        statement = statement.where(col(WebhookEvent.received_at) >= since)
    order = (col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc())
    return session.exec(statement.order_by(*order).limit(limit)).all()


def last_matched_by_label(session: Session) -> dict[str, datetime]:
    """For each secret label, when an event last matched it (for ``doctor``)."""
    rows = session.execute(
        select(WebhookEvent.secret_label, sa.func.max(WebhookEvent.received_at))
        .where(col(WebhookEvent.secret_label).is_not(None))
        .group_by(col(WebhookEvent.secret_label))
    ).all()
    return {str(label): when for label, when in rows}
