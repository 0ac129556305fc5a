"""Engines for SQLite and PostgreSQL, and the errors for a database we cannot use.

SQLite: WAL, a busy timeout, ``synchronous=FULL`` and ``BEGIN IMMEDIATE`` on every
transaction, so concurrent writers (several uvicorn workers on one file) queue on the write
lock instead of failing half-way; threads of one process queue on :func:`write_lock` first.
PostgreSQL: a pre-pinged pool. :func:`reading` is one transaction on a plain connection, for
the reads that run on sqlalchemy core alone (``stripetopup balance``); the ORM sessions of
:mod:`stripetopup.db` are built on the same engine and lock.

Imports sqlalchemy (core only, never the ORM or sqlmodel), ``stripetopup.errors`` and
``stripetopup.redact``.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from stripetopup.errors import DatabaseError
from stripetopup.redact import redact

SQLITE_BUSY_TIMEOUT_MS = 30_000

# SQLite admits one writer at a time. Threads of one process queue on this lock instead of
# on SQLite's busy handler, which sleeps in growing steps and wastes most of the wait;
# other processes still meet the busy timeout.
_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = (
    weakref.WeakKeyDictionary()
)


def create_db_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with the per-dialect settings exactly-once relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        _sqlite_write_locks[engine] = threading.RLock()
        return engine
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite so that we can issue BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk before we answer. With NORMAL a committed credit can vanish
    # on power loss after Stripe got its 200 and stopped retrying.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # IMMEDIATE takes the write lock up front: two writers never both read-then-upgrade,
    # which is what makes SQLITE_BUSY mid-transaction (and lost retries) impossible.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """The process's lock on ``engine``'s SQLite file (nothing to take on PostgreSQL)."""
    return _sqlite_write_locks.get(engine) or nullcontext()


@contextmanager
def reading(engine: Engine) -> Iterator[sa.Connection]:
    """One transaction on a connection, as :func:`stripetopup.db.transaction` opens one
    (``BEGIN IMMEDIATE`` under the write lock on SQLite, so it reads one moment), committed
    at the end; a database that cannot be reached is a DatabaseError."""
    try:
        with write_lock(engine), engine.begin() as connection:
            yield connection
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(exc) from None


def unavailable(exc: DBAPIError) -> DatabaseError:
    """The domain error for a driver failure: its class and message, never its SQL."""
    detail = redact(str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "")
    return DatabaseError(f"database unavailable: {type(exc.orig).__name__}: {detail[:200]}")


# psycopg wraps the reason in 'connection failed: connection to server at "h", port p failed:'.
_PG_PREFIX = re.compile(
    r'^(connection failed: )?(connection to server at "[^"]*", port \d+ failed: )?'
)


def unreachable(engine: Engine, exc: DBAPIError) -> DatabaseError:
    """The error for a database we could not open: where we tried (never the user or the
    password), the driver's reason in a few words, and what to check."""
    first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
    cause = redact(_PG_PREFIX.sub("", first).replace("FATAL:  ", "").strip())[:200]
    url = engine.url
    if url.get_backend_name() == "sqlite":
        path = url.database
        where = f"SQLite file {os.path.abspath(path)}" if path and path != ":memory:" else "SQLite"
        check = "check DATABASE_URL (a SQLite file, in a directory that exists and is writable)"
    else:
        where = f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        check = "check DATABASE_URL and that PostgreSQL is running there and accepts connections"
    reason = cause or type(exc.orig).__name__
    return DatabaseError(f"database unreachable at {where}: {reason}; {check}")
