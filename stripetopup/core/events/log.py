"""The event log for operators: list and show the recorded Stripe events."""

from __future__ import annotations

from datetime import datetime

from stripetopup.core.context import Context
from stripetopup.core.events.types import EventRecord
from stripetopup.db import transaction
from stripetopup.errors import NotFound, UsageError
from stripetopup.store import events

PING_TYPE = "stripetopup.doctor.ping"

MAX_LIMIT = 10_000


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")


def list_events(
    ctx: Context,
    *,
    failed_only: bool = False,
    event_type: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    include_doctor: bool = False,
) -> list[EventRecord]:
    """Events newest first; doctor's self-test pings only with ``include_doctor`` (or when
    their type is asked for): a ``doctor`` run in a loop would bury Stripe's events."""
    _check_limit(limit)
    hidden = () if include_doctor or event_type == PING_TYPE else (PING_TYPE,)
    with transaction(ctx.engine) as session:
        rows = events.search(
            session,
            failed_only=failed_only,
            event_type=event_type,
            since=since,
            limit=limit,
            exclude_types=hidden,
        )
        return [EventRecord.of(row) for row in rows]


def get_event(ctx: Context, event_id: str) -> EventRecord:
    with transaction(ctx.engine) as session:
        row = events.get(session, event_id)
        if row is None:
            raise NotFound(f"no event {event_id} in the local log")
        return EventRecord.of(row)
