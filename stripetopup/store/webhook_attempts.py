"""Webhook attempts (``webhook_attempts``): every try of every delivery, for the operator.

Rows are added with the attempt's outcome, in the worker's transaction that records it,
and never changed. May import models and sqlalchemy/sqlmodel only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import WebhookAttempt, WebhookDelivery

_TABLE = WebhookAttempt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewAttempt:
    delivery_pk: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def add_many(session: Session, attempts: Sequence[NewAttempt]) -> None:
    """Insert these attempts in the caller's transaction (one statement)."""
    if not attempts:
        return
    rows = [
        {
            "delivery_pk": a.delivery_pk,
            "attempt": a.attempt,
            "at": a.at,
            "status_code": a.status_code,
            "error": a.error,
            "duration_ms": a.duration_ms,
        }
        for a in attempts
    ]
    session.execute(sa.insert(_TABLE), rows)


def of_event(
    session: Session, event_id: str, *, limit: int = 10000
) -> list[tuple[WebhookAttempt, WebhookDelivery]]:
    """The attempts of every delivery of ``event_id`` (at most ``limit``), by delivery, then
    in the order they were made."""
    statement = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, col(WebhookDelivery.id) == col(WebhookAttempt.delivery_pk))
        .where(WebhookDelivery.event_id == event_id)
        .order_by(col(WebhookDelivery.id), col(WebhookAttempt.id))
        .limit(limit)
    )
    return [(a, d) for a, d in session.exec(statement).all()]
