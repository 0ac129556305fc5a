"""Engines and transactions for SQLite and PostgreSQL.

SQLite: WAL, a busy timeout and ``BEGIN IMMEDIATE`` on every transaction, so concurrent
writers (several uvicorn workers on one file) queue on the write lock instead of failing
half-way. PostgreSQL: READ COMMITTED with row locks taken by the store; serialization
failures, deadlocks and unique-key races are retried by :func:`run_in_transaction`.

The engine itself, the SQLite write lock and the errors for a database we cannot use are
in :mod:`stripetopup.engines` (sqlalchemy core only, for the reads that skip the ORM) and
are named here too. Imports sqlalchemy/sqlmodel, ``engines`` and ``stripetopup.errors`` only.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlmodel import Session

# Named here too (``X as X``: re-exported), for the callers of db.
from stripetopup.engines import SQLITE_BUSY_TIMEOUT_MS as SQLITE_BUSY_TIMEOUT_MS
from stripetopup.engines import create_db_engine as create_db_engine
from stripetopup.engines import unavailable as unavailable
from stripetopup.engines import unreachable as unreachable
from stripetopup.engines import write_lock as write_lock

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8
# PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
_RETRYABLE_PG = {"40001", "40P01"}
_UNIQUE_VIOLATION = "23505"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One database transaction: commit on success, roll back on any exception.

    A database that cannot be reached (or fails under us) is a DatabaseError.
    """
    try:
        with _transaction(engine) as session:
            yield session
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(exc) from None


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    with write_lock(engine), Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def is_retryable(exc: DBAPIError) -> bool:
    """True for a race the database reports (deadlock, serialization, busy, unique key)."""
    return _is_retryable(exc)


def run_in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction, retrying it whole on races the database reports.

    ``work`` must be safe to re-run: it re-reads what it needs, and a unique-key race
    means another writer got there first, which the next attempt will see.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with _transaction(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == MAX_ATTEMPTS or not _is_retryable(exc):
                if isinstance(exc, OperationalError | InterfaceError):
                    raise unavailable(exc) from None
                raise
            log.info("retrying transaction after %s (attempt %d)", type(exc.orig).__name__, attempt)
            time.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
    raise AssertionError("unreachable")


def _is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_PG:
        return True
    message = str(exc.orig).lower()
    if isinstance(exc, IntegrityError):
        # Only a unique-key race is another writer getting there first; any other
        # integrity failure would fail the same way again.
        return sqlstate == _UNIQUE_VIOLATION or "unique constraint failed" in message
    return "database is locked" in message or "database is busy" in message


def check_connection(engine: Engine) -> None:
    """Raise DatabaseError unless a trivial query succeeds."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except DBAPIError as exc:
        raise unreachable(engine, exc) from None
