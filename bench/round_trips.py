"""Round trips and statements per webhook credit on PostgreSQL, counted in libpq's own trace.

Run: .venv/bin/python bench/round_trips.py [--events 50]
     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

On a database of its own (created, migrated and dropped on the server of
``--postgres-url``), the events of bench/fast_credit.py (new paid sessions for 20 accounts)
go through each way, then again (duplicates):

- ``general``: ``process.apply`` (the ORM path: a transaction and commit per event);
- ``fast, one by one``: ``batch.apply_batch`` of one event at a time;
- ``fast, batched``: all of them in one ``apply_batch``, as the group-commit writer does.

Every connection either way opens is traced (``PQtrace``, through psycopg's
``pgconn.trace``). A round trip is a turn of the conversation: messages sent, then the
server's answers read (psycopg's pipeline sends several statements in one); a statement is
an ``Execute`` or a simple ``Query`` (BEGIN, COMMIT and SAVEPOINT included). Printed per
event. Unlike a timing this does not move with the machine's load: a change that adds a
round trip shows here exactly. Nothing here checks it: it reports it.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fast_credit import (  # bench/, beside this
    ACCOUNTS,
    events,
    fast,
    fast_batched,
    general,
    scratch_database,
)

from stripetopup import schema
from stripetopup.core import TopUpService
from stripetopup.db import create_db_engine

WAYS: dict[str, Callable[[TopUpService, list[dict[str, Any]]], None]] = {
    "general": general,
    "fast, one by one": fast,
    "fast, batched": fast_batched,
}


class Tracer:
    """Traces the driver connections the engines it watches hand out, into one file at a
    time (each connection from its first checkout inside :meth:`tracing`)."""

    def __init__(self) -> None:
        self._traced: list[Any] = []
        self._file: Any = None

    def watch(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "checkout", self._checked_out)

    def _checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self._file is None or any(c is dbapi_connection for c in self._traced):
            return
        from psycopg import pq

        dbapi_connection.pgconn.trace(self._file.fileno())
        flags = pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        dbapi_connection.pgconn.set_trace_flags(flags)
        self._traced.append(dbapi_connection)

    @contextmanager
    def tracing(self) -> Iterator[list[str]]:
        """The trace's lines of what runs inside the block (filled in when it ends)."""
        lines: list[str] = []
        with tempfile.TemporaryFile("w+") as self._file:
            try:
                yield lines
            finally:
                for connection in self._traced:
                    if not connection.closed:
                        connection.pgconn.untrace()  # flushes libpq's stream
                self._traced.clear()
                self._file.seek(0)
                lines.extend(self._file.read().splitlines())
                self._file = None


def counted(lines: list[str]) -> tuple[int, int]:
    """(round trips, statements) in a trace: each turn from sending to reading is one."""
    trips = statements = 0
    sending = False
    for line in lines:
        direction, _, message, *_ = [*line.split("\t"), "", "", ""]
        if direction == "F":
            sending = True
            statements += message in ("Execute", "Query")
        elif direction == "B" and sending:
            trips += 1
            sending = False
    return trips, statements


def bench(url: str, count: int) -> None:
    service = TopUpService.from_settings(database_url=url)
    tracer = Tracer()
    tracer.watch(service.ctx.engine)
    tracer.watch(service.ctx.batch_engine)
    for account in ACCOUNTS:
        service.open_account(account)
    for way in WAYS.values():
        way(service, events(3))  # first connections, statement caches: not counted
    print(f"{'per event':<28}{'round trips':>12}{'statements':>12}")
    try:
        for name, way in WAYS.items():
            batch = events(count)
            for kind in ("new", "duplicate"):
                with tracer.tracing() as lines:
                    way(service, batch)
                trips, statements = counted(lines)
                print(f"{kind + ': ' + name:<28}{trips / count:>12.2f}{statements / count:>12.2f}")
        assert service.verify_ledger().ok
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    with scratch_database(args.postgres_url, "round_trips") as url:
        engine = create_db_engine(url)
        schema.upgrade(engine)
        engine.dispose()
        bench(url, args.events)


if __name__ == "__main__":
    main()
