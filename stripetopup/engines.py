"""Engines for SQLite and PostgreSQL, and the errors for a database we cannot use.

SQLite: WAL, a busy timeout, ``synchronous=FULL`` and ``BEGIN IMMEDIATE`` on every
transaction, so concurrent writers (several uvicorn workers on one file) queue on the write
lock instead of failing half-way; writers queue on :func:`write_lock` first (threads on a
lock of the process, processes on an flock of a sidecar file).
PostgreSQL: a pre-pinged pool, and for group commit's batches a pool of their own without
the ping (:func:`batch_engine_for`). :func:`reading` is one transaction on a plain connection, for
the reads that run on sqlalchemy core alone (``stripetopup balance``); the ORM sessions of
:mod:`stripetopup.db` are built on the same engine and lock.

Imports sqlalchemy (core only, never the ORM or sqlmodel), ``stripetopup.errors``,
``stripetopup.redact`` and ``stripetopup.database_errors``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from stripetopup.database_errors import unreachable_at
from stripetopup.errors import DatabaseError
from stripetopup.redact import redact

log = logging.getLogger("stripetopup.db")
SQLITE_BUSY_TIMEOUT_MS = 30_000

# SQLite admits one writer at a time. Writers queue on a lock instead of on SQLite's busy
# handler, which sleeps in growing steps and wastes most of the wait (with two `serve`
# workers on one file, most of both): threads of one process on a lock of the process,
# processes on an flock(2) of a sidecar file, which the kernel hands on the moment it is
# released. A process that does not take it (sqlite3 at a prompt) still meets the busy
# timeout, so the sidecar is a speed-up, never a correctness requirement.
_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, SQLiteWriteLock] = (
    weakref.WeakKeyDictionary()
)


class SQLiteWriteLock:
    """One SQLite file's write lock: reentrant in a thread, exclusive across processes.

    The sidecar (``<database>.writelock``, next to the file) is opened on first use and
    again after a fork (a child must not share its parent's open file, or the lock).
    Where it cannot be opened (a directory we may not write, an in-memory database) the
    process lock alone is taken.
    """

    def __init__(self, database: str | None) -> None:
        memory = sqlite_in_memory(database)
        self.path = None if memory else f"{os.path.abspath(database or '')}.writelock"
        self._thread_lock = threading.RLock()
        self._depth = 0  # only read and written while _thread_lock is held
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> SQLiteWriteLock:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                self._lock_file()
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _lock_file(self) -> None:
        if self.path is None:
            return
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                log.debug("no SQLite write-lock file (%s); the busy timeout only", exc.strerror)
                self.path = None
                return
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks in the kernel until the holder is done


def sqlite_in_memory(database: str | None) -> bool:
    """True for a SQLite database that lives in one connection's memory (``sqlite://``,
    ``:memory:``, a ``file::memory:`` or ``mode=memory`` URI): no file, and a second
    connection opens another database."""
    if not database or database == ":memory:":
        return True
    return database.startswith("file::memory") or "mode=memory" in database


def create_db_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with the per-dialect settings exactly-once relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        _sqlite_write_locks[engine] = SQLiteWriteLock(engine.url.database)
        return engine
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


# How the batch pool's connections are named in pg_stat_activity (unless the URL names them).
BATCH_APPLICATION_NAME = "stripetopup-writer"


def batch_engine_for(engine: Engine) -> Engine:
    """The engine group commit's batches run on (``core.events.batch``): on PostgreSQL a
    small pool of its own, on the same URL, without the pre-ping. The ping is a round trip
    on every checkout, and a batch checks out a connection for every few deliveries; a
    connection found dead instead fails the batch's first statement, which is retried on a
    fresh one, as the ping would have. SQLite: ``engine`` itself (its write lock, and the
    file, are per engine; it is never pinged)."""
    if engine.dialect.name != "postgresql":
        return engine
    connect_args = (
        {}
        if "application_name" in engine.url.query
        else {"application_name": BATCH_APPLICATION_NAME}
    )
    return sa.create_engine(
        engine.url,
        pool_size=2,  # the writer's one connection, and a replay's beside it
        max_overflow=10,
        pool_recycle=1800,
        connect_args=connect_args,
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
    # MEMORY: the statement journal a savepoint needs (the webhook's batch opens one per
    # event) stays in memory instead of a temporary file made, written page by page and
    # deleted for every commit: two thirds of a busy writer's writes to the disk.
    cursor.execute("PRAGMA temp_store=MEMORY")
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


def unreachable(engine: Engine, exc: DBAPIError) -> DatabaseError:
    """The error for a database we could not open: where we tried (never the user or the
    password), the driver's reason in a few words, and what to check (the words are
    ``database_errors``', which the reads on the driver itself say too)."""
    url = engine.url
    return unreachable_at(url.get_backend_name(), url.database, url.host, url.port, exc.orig)
