"""Webhook endpoints (``webhook_endpoints``): the host application's URLs for our events.

Every time is the caller's ``now`` (the core's clock). May import models, errors,
``store.upsert`` and sqlalchemy/sqlmodel only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.errors import NotFound
from stripetopup.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from stripetopup.store.upsert import dialect_of

ENDPOINT_PREFIX = "ep_"


def new_endpoint_id() -> str:
    return ENDPOINT_PREFIX + secrets.token_hex(12)


def add(session: Session, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    session.add(endpoint)
    session.flush()
    return endpoint


def get(session: Session, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    """The endpoint ``endpoint_id`` (locked for update with ``lock``), or NotFound."""
    statement = select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id == endpoint_id)
    if lock:
        statement = statement.with_for_update()
    row = session.exec(statement).first()
    if row is None:
        raise NotFound(f"no webhook endpoint {endpoint_id[:40]!r} (see `stripetopup hooks list`)")
    return row


def by_idempotency_key(session: Session, key: str) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.idempotency_key == key)
    return session.exec(statement).first()


def list_all(session: Session) -> Sequence[WebhookEndpoint]:
    return session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))).all()


def enabled(session: Session) -> Sequence[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(col(WebhookEndpoint.enabled).is_(True))
    return session.exec(statement.order_by(col(WebhookEndpoint.id))).all()


def lock_for_fanout(session: Session, pk: int) -> WebhookEndpoint | None:
    """The enabled endpoint ``pk``, locked; None when another worker holds it or it is off.

    ``SKIP LOCKED``: two workers never fan out one endpoint at once, and neither waits.
    """
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.id == pk, col(WebhookEndpoint.enabled).is_(True)
    )
    if dialect_of(session) == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return session.exec(statement.execution_options(populate_existing=True)).first()


def remove(session: Session, endpoint: WebhookEndpoint) -> int:
    """Delete the endpoint and its deliveries; returns how many deliveries went with it."""
    owned = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_pk == endpoint.id)
    session.execute(sa.delete(WebhookAttempt).where(col(WebhookAttempt.delivery_pk).in_(owned)))
    deleted = session.execute(
        sa.delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_pk) == endpoint.id)
    )
    session.delete(endpoint)
    session.flush()
    return int(deleted.rowcount)  # type: ignore[attr-defined]


def mark_failing(session: Session, pk: int, now: datetime) -> None:
    """Start the failure clock of endpoint ``pk`` unless it is already running."""
    session.execute(
        sa.update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == pk, col(WebhookEndpoint.failing_since).is_(None))
        .values(failing_since=now)
    )


def mark_healthy(session: Session, pk: int) -> None:
    session.execute(
        sa.update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == pk, col(WebhookEndpoint.failing_since).is_not(None))
        .values(failing_since=None)
    )


def disable_if_failing_since(
    session: Session, pk: int, before: datetime, now: datetime, reason: str
) -> bool:
    """Disable endpoint ``pk`` when it has been failing since ``before`` or earlier."""
    result = session.execute(
        sa.update(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.id) == pk,
            col(WebhookEndpoint.enabled).is_(True),
            col(WebhookEndpoint.failing_since) <= before,
        )
        .values(enabled=False, disabled_at=now, disabled_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unhealthy(session: Session, failing_before: datetime) -> Sequence[WebhookEndpoint]:
    """Endpoints disabled, or failing without a success since ``failing_before``."""
    statement = select(WebhookEndpoint).where(
        sa.or_(
            col(WebhookEndpoint.enabled).is_(False),
            col(WebhookEndpoint.failing_since) <= failing_before,
        )
    )
    return session.exec(statement.order_by(col(WebhookEndpoint.id))).all()


def count(session: Session) -> int:
    return int(session.exec(select(sa.func.count()).select_from(WebhookEndpoint)).one())
