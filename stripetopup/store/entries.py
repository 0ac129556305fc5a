"""An account's ledger entries, newest first, read on sqlalchemy core alone.

The one query behind ``stripetopup ledger ACCOUNT``, ``TopUpService.ledger`` and the spend
API's entry list; rows carry the entry's columns by name, as a ``LedgerEntry`` does. The
light table is kept in step with :mod:`stripetopup.models` by tests/test_quick_reads.py.
Imports sqlalchemy (core) and ``columns``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from stripetopup.columns import UTCDateTime

if TYPE_CHECKING:
    from stripetopup.store.balances import Executor

ENTRIES = sa.table(
    "ledger_entries",
    sa.column("id", sa.Integer),
    sa.column("account_pk", sa.Integer),
    sa.column("amount_cents", sa.Integer),
    sa.column("currency", sa.String),
    sa.column("kind", sa.String),
    sa.column("source", sa.String),
    sa.column("balance_after_cents", sa.Integer),
    sa.column("reason", sa.String),
    sa.column("actor", sa.String),
    sa.column("checkout_session_id", sa.String),
    sa.column("payment_intent_id", sa.String),
    sa.column("event_id", sa.String),
    sa.column("created_at", UTCDateTime()),
)


def newest_first(
    db: Executor, account_pk: int, *, limit: int, before_id: int | None = None
) -> Sequence[sa.Row[Any]]:
    """The account's entries, newest first, ``limit`` at a time below ``before_id``."""
    params: dict[str, int] = {"account_pk": account_pk, "limit": limit}
    if before_id is not None:
        params["before"] = before_id
    return db.execute(_statement(before_id is not None), params).all()


@functools.cache
def _statement(bounded: bool) -> Any:
    statement = sa.select(*ENTRIES.c).where(ENTRIES.c.account_pk == sa.bindparam("account_pk"))
    if bounded:
        statement = statement.where(ENTRIES.c.id < sa.bindparam("before"))
    return statement.order_by(ENTRIES.c.id.desc()).limit(sa.bindparam("limit"))
