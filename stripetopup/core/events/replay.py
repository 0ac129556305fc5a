"""``replay``: fetch an event from Stripe and run it through the webhook's own handler.

A thin loop over :func:`stripetopup.core.events.apply` (or ``preview`` for a dry run), as
djstripe_process_events is: the event is fetched fresh from Stripe even when it is in the
local log, and the ledger's unique sources make any number of replays move money once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stripetopup.core.context import Context
from stripetopup.core.events import process as events
from stripetopup.core.events.types import EventOutcome, ReplayBatch
from stripetopup.db import transaction
from stripetopup.errors import NotFound, ProcessingError, UsageError
from stripetopup.models import EventResult
from stripetopup.store import events as event_log

ACTOR = "replay"
MAX_FAILED = 10_000
GONE = (
    "Stripe has no event {event_id}: events are kept for 30 days. "
    "Use `stripetopup reconcile --since DATE --fix` to find and fix that period's payments"
)


def fetch(ctx: Context, event_id: str) -> dict[str, Any]:
    """The event as Stripe has it now; NotFound pointing to ``reconcile`` when it is gone."""
    if not event_id.startswith("evt_"):
        raise UsageError(f"{event_id!r} is not an event id (evt_...)", param="event_id")
    try:
        return ctx.stripe.retrieve_event(event_id)
    except NotFound:
        raise NotFound(GONE.format(event_id=event_id)) from None


def replay(ctx: Context, event_id: str, *, dry_run: bool = False) -> EventOutcome:
    """Apply (or with ``dry_run`` preview) one event; a processing failure is an outcome."""
    event = fetch(ctx, event_id)
    if dry_run:
        return events.preview(ctx, event, actor=ACTOR)
    try:
        return events.apply(ctx, event, actor=ACTOR, replay=True)
    except ProcessingError as exc:
        return EventOutcome(event_id, str(event.get("type")), EventResult.FAILED, exc.message)


def replay_failed(
    ctx: Context,
    *,
    since: datetime | None = None,
    dry_run: bool = False,
    on_outcome: Callable[[EventOutcome], None] | None = None,
) -> ReplayBatch:
    """Replay every stored event whose processing failed (oldest first)."""
    with transaction(ctx.engine) as session:
        rows = event_log.search(session, failed_only=True, since=since, limit=MAX_FAILED)
        pending = [(row.event_id, row.type) for row in reversed(rows)]
    outcomes = []
    for event_id, event_type in pending:
        try:
            outcome = replay(ctx, event_id, dry_run=dry_run)
        except NotFound as exc:
            outcome = EventOutcome(event_id, event_type, EventResult.FAILED, exc.message)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return ReplayBatch(tuple(outcomes))
