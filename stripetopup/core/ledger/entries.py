"""An account's ledger entries as the ledger room answers them, newest first.

:func:`read` is ``TopUpService.ledger`` and ``stripetopup ledger ACCOUNT`` alike: its bounds
checked, then one transaction on sqlalchemy core alone (no ORM). Imports ``core.context``,
the room's types, ``store.balances`` (the account), ``store.entries``, ``columns``, ``engines``
and ``errors``.
"""

from __future__ import annotations

from stripetopup.columns import MAX_INTEGER
from stripetopup.core.context import Context
from stripetopup.core.ledger.types import Entry
from stripetopup.engines import reading
from stripetopup.errors import UsageError
from stripetopup.store import balances, entries

MAX_LIMIT = 1000


def read(
    ctx: Context, account_id: str, *, limit: int = 50, before_id: int | None = None
) -> list[Entry]:
    """Up to ``limit`` (1 to 1000) of the account's entries below ``before_id``, newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
    if before_id is not None and not 1 <= before_id <= MAX_INTEGER:
        raise UsageError(f"an entry id is between 1 and {MAX_INTEGER}", param="starting_after")
    with reading(ctx.engine) as connection:
        account = balances.get_account(connection, account_id)
        rows = entries.newest_first(connection, account.id, limit=limit, before_id=before_id)
        return [Entry.of(row, account.account_id) for row in rows]
