"""The pull feed: committed events after a cursor, oldest first, for hosts that poll.

The cursor is an event's ``msg_`` id; following ``next_after`` never skips or repeats an
event, even while other transactions commit (``store.outbox.after`` reads in commit
order). Inputs are bounded here: the cursor's shape, ``limit`` 1 to 100, at most 20 type
filters, each a known type or a family such as ``balance.*``.

Imports ``core.context``, the room's catalogue and types, store, db, errors and ids.
"""

from __future__ import annotations

from collections.abc import Sequence

from stripetopup.core.context import Context
from stripetopup.core.outbound.catalogue import EventType
from stripetopup.core.outbound.types import EVENT_ADAPTER, EventPage
from stripetopup.db import transaction
from stripetopup.errors import NotFound, UsageError
from stripetopup.ids import MESSAGE_ID_RULE, check_account_id, is_message_id, shown
from stripetopup.store import outbox

MAX_LIMIT = 100
MAX_TYPES = 20
_FAMILIES = {t.value.split(".")[0] + ".*" for t in EventType} | {"*"}


def check_types(types: Sequence[str]) -> list[str]:
    """The type filters, each a known type or family; ``*`` alone means every type."""
    if len(types) > MAX_TYPES:
        raise UsageError(f"at most {MAX_TYPES} event types at once", param="type")
    known = {t.value for t in EventType} | _FAMILIES
    for wanted in types:
        if wanted not in known:
            raise UsageError(
                f"unknown event type {shown(wanted)}: one of {', '.join(sorted(known))}",
                param="type",
            )
    return [] if "*" in types else list(types)


def events(
    ctx: Context,
    *,
    after: str | None = None,
    limit: int = MAX_LIMIT,
    types: Sequence[str] = (),
    account_id: str | None = None,
) -> EventPage:
    """Up to ``limit`` events after the event ``after`` (from the start when None)."""
    if after is not None and not is_message_id(after):
        raise UsageError(f"invalid cursor {shown(after)}: {MESSAGE_ID_RULE}", param="after")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be a whole number from 1 to {MAX_LIMIT}", param="limit")
    wanted = check_types(types)
    account = None if account_id is None else check_account_id(account_id)
    with transaction(ctx.engine) as session:
        seq = None
        if after is not None:
            row = outbox.find(session, after)
            if row is None:
                raise NotFound(f"unknown event: {after}")
            seq = row.seq
        rows = outbox.after(session, seq, limit=limit + 1, types=wanted, account_id=account)
    page = tuple(EVENT_ADAPTER.validate_json(row.payload) for row in rows[:limit])
    next_after = page[-1].id if page else after
    return EventPage(page, has_more=len(rows) > limit, next_after=next_after)
