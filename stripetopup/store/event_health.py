"""Read-only questions ``doctor`` asks of the event log: failure streaks and secret use.

Every query can leave out some event types (the doctor's own signed test events), so that
running ``doctor`` neither breaks a failure streak nor makes a signing secret look in use.
May import models, store.events and sqlalchemy/sqlmodel only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from stripetopup.models import WebhookEvent
from stripetopup.store.events import FAILED


def recent_outcomes(
    session: Session, *, limit: int, exclude_types: Sequence[str] = ()
) -> list[str | None]:
    """The outcomes of the ``limit`` most recently received events, newest first."""
    statement = select(WebhookEvent.outcome)
    if exclude_types:
        statement = statement.where(col(WebhookEvent.type).not_in(list(exclude_types)))
    order = (col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc())
    return list(session.exec(statement.order_by(*order).limit(limit)).all())


def failed_since(session: Session, since: datetime, *, exclude_types: Sequence[str] = ()) -> int:
    """How many events received since ``since`` are still failed."""
    statement = select(func.count()).where(
        WebhookEvent.outcome == FAILED, col(WebhookEvent.received_at) >= since
    )
    if exclude_types:
        statement = statement.where(col(WebhookEvent.type).not_in(list(exclude_types)))
    return int(session.exec(statement).one())


def last_matched_by_label(
    session: Session, *, exclude_types: Sequence[str] = ()
) -> dict[str, datetime]:
    """For each secret label, when an event (other than ``exclude_types``) last matched it."""
    statement = (
        select(WebhookEvent.secret_label, sa.func.max(WebhookEvent.received_at))
        .where(col(WebhookEvent.secret_label).is_not(None))
        .group_by(col(WebhookEvent.secret_label))
    )
    if exclude_types:
        statement = statement.where(col(WebhookEvent.type).not_in(list(exclude_types)))
    return {str(label): when for label, when in session.execute(statement).all()}
