"""Read-only views for operators: payments and the event log."""

from __future__ import annotations

from datetime import datetime

from stripetopup import ids
from stripetopup.core.context import Context
from stripetopup.core.results import EventRecord, Payment
from stripetopup.db import transaction
from stripetopup.errors import NotFound, UsageError
from stripetopup.store import events, payments

MAX_LIMIT = 10_000


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")


def list_payments(
    ctx: Context,
    *,
    since: datetime | None = None,
    account_id: str | None = None,
    state: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Payment]:
    _check_limit(limit)
    if state is not None and state not in payments.STATES:
        raise UsageError(
            f"unknown state {state!r}; one of: {', '.join(payments.STATES)}", param="state"
        )
    if account_id is not None:
        ids.check_account_id(account_id)  # a filter, but still never NUL into the database
    with transaction(ctx.engine) as session:
        rows = payments.search(
            session, since=since, account_id=account_id, state=state, status=status, limit=limit
        )
        return [Payment.of(row) for row in rows]


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
    from stripetopup.core.doctor_checks import PING_TYPE

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
