"""What became of each outbound event: ``hooks events`` and ``hooks attempts``.

``events`` lists the outbox newest first with every endpoint's delivery of each event
(``failed_only``: events with a delivery not delivered after at least one attempt, or
dead); ``attempts`` is every try of every delivery of one event, from
``webhook_attempts``. Read-only. Imports the room's answers, store, db, errors and ids.
"""

from __future__ import annotations

from datetime import datetime

from stripetopup.core.context import Context
from stripetopup.core.outbound.endpoints import check_endpoint_id
from stripetopup.core.outbound.hook_types import Delivery, DeliveryAttempt, EventDeliveries
from stripetopup.db import transaction
from stripetopup.errors import NotFound, UsageError
from stripetopup.ids import MESSAGE_ID_RULE, is_message_id
from stripetopup.models import DeliveryState
from stripetopup.store import deliveries, outbox, webhook_attempts
from stripetopup.store import webhook_endpoints as endpoints

FAILED_STATES = (DeliveryState.FAILED, DeliveryState.DEAD)
MAX_LIMIT = 10000


def check_event_id(event_id: str) -> str:
    """``event_id`` if it is an outbound event id (``msg_...``), else a clean UsageError."""
    if not isinstance(event_id, str) or not is_message_id(event_id):
        raise UsageError(
            f"invalid event id {str(event_id)[:40]!r}: outbound event ids are {MESSAGE_ID_RULE}",
            param="event_id",
        )
    return event_id


def events(
    ctx: Context,
    *,
    failed_only: bool = False,
    endpoint_id: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[EventDeliveries]:
    """Outbound events newest first, each with its deliveries (of ``endpoint_id`` only)."""
    if endpoint_id is not None:
        endpoint_id = check_endpoint_id(endpoint_id)
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be 1 to {MAX_LIMIT}", param="limit")
    with transaction(ctx.engine) as session:
        names = {e.id: e.endpoint_id for e in endpoints.list_all(session)}
        pk = endpoints.get(session, endpoint_id).id if endpoint_id else None
        among = None
        if failed_only or pk is not None:
            among = deliveries.event_seqs(
                endpoint_pk=pk, states=FAILED_STATES if failed_only else ()
            )
        rows = outbox.newest(session, since=since, among_seqs=among, limit=limit)
        seqs = [row.seq for row in rows if row.seq is not None]
        by_event: dict[int, list[Delivery]] = {}
        for d in deliveries.of_events(session, seqs, endpoint_pk=pk):
            by_event.setdefault(d.event_seq, []).append(Delivery.of(d, names[d.endpoint_pk]))
        return [
            EventDeliveries(
                id=row.message_id,
                type=row.type,
                created_at=row.created_at,
                account_id=row.account_id,
                deliveries=by_event.get(row.seq or 0, []),
            )
            for row in rows
        ]


def attempts(ctx: Context, event_id: str) -> list[DeliveryAttempt]:
    """Every attempt of every delivery of ``event_id``, by delivery, oldest first."""
    check_event_id(event_id)
    with transaction(ctx.engine) as session:
        if outbox.find(session, event_id) is None:
            raise NotFound(f"no outbound event {event_id}")
        names = {e.id: e.endpoint_id for e in endpoints.list_all(session)}
        return [
            DeliveryAttempt.of(row, parent, names[parent.endpoint_pk])
            for row, parent in webhook_attempts.of_event(session, event_id)
        ]
