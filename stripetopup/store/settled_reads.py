"""Re-deliveries of applied events, read without the writer, counted a moment later.

Stripe re-delivers an event it did not see answered, and most re-deliveries are of events
we applied already. Their answer needs no write: the event's record says it credited and
the payment is still credited. So :class:`SettledReads` asks exactly that (the condition
``credit_statements``'s duplicate update is guarded by) on a read-only connection of the
event loop's own, and the web door answers from it; the writer thread never sees them.
What a read found is final (a credited payment stays credited), so the caller may remember
it (core.events.redeliveries keeps the recent answers) and never read for that event again.

What such a re-delivery still writes, one more attempt on the event's record (and its
``processed_at`` and ``secret_label``, as ``store.events.record`` stamps them), is not money:
the caller tallies it and :func:`count_attempts` adds a tally's counts in one statement,
a moment later, in a transaction of their own. A crash in that moment loses counts, never
a credit.

SQLite: one ``sqlite3`` connection, ``query_only`` and without a busy wait: in WAL a read
never waits for the writer, and where SQLite says busy all the same (a checkpoint
restarting the log) the delivery simply goes to the writer. PostgreSQL: one psycopg
``AsyncConnection`` per event loop, autocommit, so each read is its own snapshot of what
has committed; an unreachable server is a fallback to the writer too.

Imports sqlalchemy (the statements), sqlite3 and psycopg (the driver of the URL only).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripetopup.engines import sqlite_in_memory
from stripetopup.models import StripePayment, WebhookEvent
from stripetopup.store import credit_statements

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("stripetopup.store.settled_reads")

_EVENTS: sa.Table = WebhookEvent.__table__  # type: ignore[attr-defined]
_PAYMENTS: sa.Table = StripePayment.__table__  # type: ignore[attr-defined]

# The duplicate update's condition, as a read: the event credited (or found its payment
# credited) and the payment it names is credited still; its entry and amount for the answer.
_SETTLED = sa.select(
    _EVENTS.c.outcome,
    credit_statements.payment_of(_PAYMENTS.c.credited_entry_id),
    credit_statements.payment_of(_PAYMENTS.c.amount_total_cents),
).where(
    _EVENTS.c.event_id == sa.bindparam("event_id"),
    sa.or_(*(_EVENTS.c.outcome == done for done in credit_statements.DONE)),
    credit_statements.PAYMENT_CREDITED,
)
# A tally of re-deliveries: counted as the duplicate update counts one.
_COUNT = (
    sa.update(_EVENTS)
    .where(_EVENTS.c.event_id == sa.bindparam("b_event_id"))
    .values(**credit_statements.COUNTED_AGAIN)
)
# The read connection on PostgreSQL: named in pg_stat_activity, and never waited on for
# long (the writer's way answers the delivery instead).
PG_OPTIONS = {"application_name": "stripetopup-settled-reads", "connect_timeout": 5}
PG_READ_TIMEOUT_SECONDS = 2.0
# Per dialect: the settled read, and the tally's count (credit_statements.PREPARED's kind).
PREPARED = {
    dialect: (
        credit_statements.Prepared(_SETTLED, compiled_for),
        credit_statements.Prepared(_COUNT, compiled_for),
    )
    for dialect, compiled_for in credit_statements.DIALECTS.items()
}


@dataclass(frozen=True)
class Attempts:
    """Re-deliveries of one event not counted yet: how many, the last one's time and the
    last secret that verified one (None: keep the record's)."""

    count: int
    last_at: datetime
    secret_label: str | None


def count_attempts(connection: sa.Connection, tally: Mapping[str, Attempts]) -> None:
    """Add ``tally``'s counts to the events' records, in the caller's transaction."""
    _, count = PREPARED[connection.dialect.name]
    rows = [
        {
            "b_event_id": event_id,
            "b_attempts": attempts.count,
            "b_secret_label": attempts.secret_label,
            "b_processed_at": attempts.last_at,
        }
        for event_id, attempts in tally.items()
    ]
    count.run_many(connection, rows)


class SettledReads:
    """The settled-event read for ``engine``, on connections of the event loop's own.

    :meth:`settled` answers None whenever it cannot say (no such settled event, or no
    connection, or any error of the driver): the caller then goes the writer's way,
    which decides everything again. Its connections are closed by :meth:`close`, or
    when it is collected.
    """

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self._select, _ = PREPARED[self.dialect]
        self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._open = _Connections()
        self._closing = weakref.finalize(self, self._open.close)

    @staticmethod
    def usable(engine: Engine) -> bool:
        """False for an in-memory SQLite database: a second connection sees another one."""
        if engine.dialect.name == "postgresql":
            return True
        return engine.dialect.name == "sqlite" and not sqlite_in_memory(engine.url.database)

    async def settled(
        self, event_id: str, checkout_session_id: str
    ) -> credit_statements.Duplicate | None:
        """The event's settled credit, read; None when it has none (or the read failed)."""
        given = {"event_id": event_id, "checkout_session_id": checkout_session_id}
        params = self._select.params(given)
        if self.dialect == "sqlite":
            rows = self._read_sqlite(params)
        else:
            rows = await self._read_postgres(params)
        if not rows:
            return None
        outcome, entry_id, amount = rows[0]
        return credit_statements.Duplicate(str(outcome), entry_id, amount)

    def close(self) -> None:
        """Close every connection (from any thread); a later read opens its own again."""
        self._open.close()

    def _read_sqlite(self, params: dict[str, Any]) -> Sequence[Any]:
        open_ = self._open
        with open_.lock:
            try:
                if open_.sqlite is None:
                    open_.sqlite = self._open_sqlite()
                return open_.sqlite.execute(self._select.sql, params).fetchall()
            except sqlite3.Error as exc:
                log.debug("settled read skipped: %s", type(exc).__name__)
                return ()

    def _open_sqlite(self) -> sqlite3.Connection:
        (database,), options = self._connect_args
        connection = sqlite3.connect(
            database,
            timeout=0,  # never wait on the event loop: busy means "ask the writer"
            check_same_thread=False,  # used under the lock, from the loop's thread
            isolation_level=None,
            uri=bool(options.get("uri")),
        )
        connection.execute("PRAGMA query_only=ON")
        return connection

    async def _read_postgres(self, params: dict[str, Any]) -> Sequence[Any]:
        import psycopg

        loop = asyncio.get_running_loop()
        connecting = self._open.pg.get(loop)
        if connecting is None:  # the first read of this loop connects; the others wait
            _, kwargs = self._connect_args
            options = {**kwargs, **PG_OPTIONS, "autocommit": True}
            connecting = loop.create_task(psycopg.AsyncConnection.connect(**options))
            self._open.pg[loop] = connecting
        try:
            async with asyncio.timeout(PG_READ_TIMEOUT_SECONDS):
                connection = await asyncio.shield(connecting)
                cursor = await connection.execute(self._select.sql, params)
                return await cursor.fetchall()
        except (psycopg.Error, TimeoutError) as exc:
            # A connection the server dropped, or one that hangs: the delivery goes to the
            # writer, and the next read connects afresh.
            log.debug("settled read skipped: %s", type(exc).__name__)
            if self._open.pg.get(loop) is connecting:
                self._open.forget(loop)
            return ()


class _Connections:
    """What :class:`SettledReads` holds open; apart from it, so it can close them when the
    reads object is collected."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # a sqlite3 connection is not for two threads at once
        self.sqlite: sqlite3.Connection | None = None
        # One per event loop (a psycopg AsyncConnection belongs to the loop it was made
        # in), kept as the task that connects it: concurrent first reads share it.
        self.pg: dict[asyncio.AbstractEventLoop, asyncio.Task[psycopg.AsyncConnection[Any]]] = {}

    def forget(self, loop: asyncio.AbstractEventLoop) -> None:
        connecting = self.pg.pop(loop, None)
        if connecting is None:
            return
        if connecting.done():
            _finish(connecting)
        else:  # still connecting: closed the moment it is made
            connecting.add_done_callback(_finish)

    def close(self) -> None:
        with self.lock:
            if self.sqlite is not None:
                self.sqlite.close()
                self.sqlite = None
        for loop in list(self.pg):
            self.forget(loop)


def _finish(connecting: asyncio.Task[psycopg.AsyncConnection[Any]]) -> None:
    """Close the connection a finished connect made (libpq's own close: synchronous, from
    any thread); a connect that failed leaves nothing to close."""
    if not connecting.cancelled() and connecting.exception() is None:
        connecting.result().pgconn.finish()
