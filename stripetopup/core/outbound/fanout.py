"""Fan-out: give each enabled endpoint a delivery row for every new event it takes.

The worker does this, not the transaction that wrote the event, so the Stripe webhook and
the spend API never do per-endpoint work. The outbox is read once per pass, from the
lowest endpoint cursor, in commit order (``store.outbox.after``, a short transaction of its
own), and only when an event newer than that cursor has committed (an idle worker never
takes the ordered read's lock); then each endpoint, locked ``SKIP LOCKED`` so two workers
never fan out the same one, gets rows for the events past its own cursor that match its
filter, and its cursor moves to the last event read. Rows are unique per event and
endpoint, so a race writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound import urls
from stripetopup.db import run_in_transaction
from stripetopup.models import OutboundEvent
from stripetopup.store import deliveries, outbox
from stripetopup.store import webhook_endpoints as endpoints

BATCH = 500


def fan_out(ctx: Context) -> tuple[int, bool]:
    """One batch of new events onto every enabled endpoint: (rows written, more to read)."""
    cursors, newest = run_in_transaction(ctx.engine, _cursors)
    if not cursors:
        return 0, False
    start = min(cursors.values())
    if newest <= start:
        # Nothing committed past every cursor: skip the ordered read, whose lock would make
        # writers wait a moment (an event still being written shows up next pass).
        return 0, False
    events = run_in_transaction(ctx.engine, lambda s: outbox.after(s, start, limit=BATCH))
    if not events:
        return 0, False
    written = sum(_onto_endpoint(ctx, pk, events) for pk in cursors)
    return written, len(events) == BATCH


def _cursors(session: Session) -> tuple[dict[int, int], int]:
    """Each enabled endpoint's cursor, and the newest committed event's ``seq``."""
    cursors = {e.id: e.fanout_seq for e in endpoints.enabled(session) if e.id is not None}
    return cursors, outbox.last_seq(session) if cursors else 0


def _onto_endpoint(ctx: Context, pk: int, events: Sequence[OutboundEvent]) -> int:
    return run_in_transaction(ctx.engine, lambda s: _onto(ctx, s, pk, events))


def _onto(ctx: Context, session: Session, pk: int, events: Sequence[OutboundEvent]) -> int:
    endpoint = endpoints.lock_for_fanout(session, pk)
    if endpoint is None:  # another worker has it, or it was disabled or removed meanwhile
        return 0
    last = events[-1].seq or 0
    if endpoint.fanout_seq >= last:
        return 0
    patterns = endpoint.event_types.split(",")
    wanted = [
        deliveries.NewDelivery(event.message_id, event.seq or 0, event.type)
        for event in events
        if (event.seq or 0) > endpoint.fanout_seq and urls.matches(patterns, event.type)
    ]
    written = deliveries.add_many(session, pk, wanted, ctx.clock())
    endpoint.fanout_seq = last
    session.add(endpoint)
    return written
