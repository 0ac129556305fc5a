"""What was sent where, and sending it again: ``hooks deliveries`` and ``hooks replay``.

A replay (one delivery, every delivery of one event, or every failed and dead one, of an
endpoint or of events since a date; ``hooks retry`` is the same command's old name) puts
deliveries back to pending, due now, on a fresh schedule (attempts from 0): a dead
delivery, a failed one not to wait for, or a delivered one the host lost. The webhook id
stays the event's, so a host that already has it can tell it is a repeat.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.endpoints import check_endpoint_id
from stripetopup.core.outbound.hook_types import Delivery, Retried
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import NotFound, UsageError
from stripetopup.ids import MESSAGE_ID_RULE, is_message_id
from stripetopup.models import DeliveryState
from stripetopup.store import deliveries, outbox
from stripetopup.store import webhook_endpoints as endpoints

_DELIVERY_ID = re.compile(r"dlv_[0-9a-f]{24}")
FAILED_STATES = (DeliveryState.FAILED, DeliveryState.DEAD)
_BATCH = 500


def list_deliveries(
    ctx: Context,
    *,
    endpoint_id: str | None = None,
    failed_only: bool = False,
    event_id: str | None = None,
    limit: int = 200,
) -> list[Delivery]:
    """Deliveries newest first; of one endpoint, failed or dead ones, or of one event."""
    if endpoint_id is not None:
        endpoint_id = check_endpoint_id(endpoint_id)
    if event_id is not None and not is_message_id(event_id):
        raise UsageError(
            f"invalid event id {str(event_id)[:40]!r}: outbound event ids are {MESSAGE_ID_RULE}",
            param="event_id",
        )
    with transaction(ctx.engine) as session:
        names = {e.id: e.endpoint_id for e in endpoints.list_all(session)}
        pk = _pk(session, endpoint_id) if endpoint_id else None
        rows = deliveries.search(
            session,
            endpoint_pk=pk,
            states=FAILED_STATES if failed_only else (),
            event_id=event_id,
            limit=limit,
        )
        return [Delivery.of(row, names[row.endpoint_pk]) for row in rows]


def retry(ctx: Context, delivery_id: str) -> Retried:
    """Send one delivery (``dlv_...``), or every delivery of one event (``msg_...``), again."""
    if is_message_id(delivery_id):
        return _retry_event(ctx, delivery_id)
    if not isinstance(delivery_id, str) or _DELIVERY_ID.fullmatch(delivery_id) is None:
        raise UsageError(
            f"invalid delivery id {str(delivery_id)[:40]!r}: delivery ids are dlv_ and 24 hex "
            "digits (see `stripetopup hooks deliveries`), or give an event's msg_ id",
            param="delivery_id",
        )

    def work(session: Session) -> Retried:
        row = deliveries.find(session, delivery_id)
        if row is None or row.id is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        deliveries.reschedule(session, ctx.clock(), pk=row.id)
        return Retried([row.delivery_id])

    return run_in_transaction(ctx.engine, work)


def _retry_event(ctx: Context, event_id: str) -> Retried:
    def work(session: Session) -> Retried:
        rows = deliveries.search(session, event_id=event_id, limit=1000)
        if not rows:
            raise NotFound(f"no webhook delivery of event {event_id}")
        for row in rows:
            deliveries.reschedule(session, ctx.clock(), pk=row.id)
        return Retried([row.delivery_id for row in rows])

    return run_in_transaction(ctx.engine, work)


def retry_endpoint(ctx: Context, endpoint_id: str) -> Retried:
    """Send every failed or dead delivery of an endpoint again now."""
    return replay_failed(ctx, endpoint_id=endpoint_id)


def replay_failed(
    ctx: Context, *, since: datetime | None = None, endpoint_id: str | None = None
) -> Retried:
    """Send every failed or dead delivery again now (of events created since ``since``, to
    ``endpoint_id``): ``hooks replay --failed``."""
    if endpoint_id is not None:
        endpoint_id = check_endpoint_id(endpoint_id)

    def work(session: Session) -> Retried:
        pk = _pk(session, endpoint_id) if endpoint_id is not None else None
        among = outbox.seqs_since(since) if since is not None else None
        found = deliveries.matching(session, states=FAILED_STATES, endpoint_pk=pk, among_seqs=among)
        for start in range(0, len(found), _BATCH):  # bounded IN lists
            batch = [row_pk for row_pk, _ in found[start : start + _BATCH]]
            deliveries.reschedule(session, ctx.clock(), pks=batch, states=FAILED_STATES)
        return Retried([delivery_id for _, delivery_id in found])

    return run_in_transaction(ctx.engine, work)


def _pk(session: Session, endpoint_id: str) -> int:
    pk = endpoints.get(session, endpoint_id).id
    assert pk is not None
    return pk
