"""One read-only transaction on the DBAPI driver itself (sqlite3, psycopg) for
``DATABASE_URL``, without sqlalchemy: what ``stripetopup balance`` reads through, since
importing sqlalchemy (and its PostgreSQL dialect) cost more than the rest of the command.

:func:`reading` opens the database the engine would (:func:`stripetopup.engines
.create_db_engine`: the same file, the same connect arguments), checks its schema is at
:data:`~stripetopup.schema_head.HEAD_REVISION` with the query
:func:`stripetopup.schema.current_revision` runs, and yields a :class:`Reader` in one
transaction. Where it cannot answer exactly as the engine path would
(:func:`stripetopup.schema.ensure_current`, then :func:`stripetopup.engines.reading`) it
raises :class:`HandOver`, and the caller reads through the engine, which answers as it
always has: a URL past the plain forms (:func:`target_of`), a SQLite file that does not
exist yet (the engine creates and migrates it) or that the driver cannot open or read, a
database at another revision, any error of the driver once PostgreSQL was reached. Only a
PostgreSQL that cannot be reached is answered here, in the engine's words
(:func:`~stripetopup.database_errors.unreachable_at`), so that a server that does not
answer is not waited for twice.

A read never writes. SQLite: the file is opened only if it exists (``mode=rw``), with
``query_only`` and the engine's busy timeout, in a deferred transaction (in WAL mode one
snapshot that neither takes the write lock nor waits for a writer). PostgreSQL: ``READ
ONLY`` and ``REPEATABLE READ``, so that the several reads of a balance see one snapshot.

Imports ``database_errors`` and ``schema_head``, and the URL's driver when it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from stripetopup.database_errors import unreachable_at
from stripetopup.schema_head import HEAD_REVISION

SQLITE_BUSY_TIMEOUT_MS = 30_000  # engines.SQLITE_BUSY_TIMEOUT_MS (a test keeps them equal)
REVISION_SQL = "SELECT version_num FROM alembic_version"  # schema.current_revision's query

# sqlalchemy's own URL pattern (sqlalchemy.engine.url._parse_url), so that a URL read here
# names the database the engine would open (tests/test_driver_reads.py compares the two).
_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


class HandOver(Exception):
    """The driver path cannot answer exactly as the engine path would: read through it."""


@dataclass(frozen=True)
class Target:
    """The database a URL names, as the engine's URL reads it."""

    dialect: str  # "sqlite" or "postgresql"
    database: str | None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    query: tuple[tuple[str, str], ...] = ()  # libpq's keywords (sslmode=, connect_timeout=)

    def connect_args(self) -> dict[str, Any]:
        """psycopg's keywords, as sqlalchemy's psycopg dialect passes them: those set, then
        the query's."""
        named = {
            "host": self.host,
            "dbname": self.database,
            "user": self.username,
            "password": self.password,
            "port": self.port,
        }
        return {key: value for key, value in named.items() if value} | dict(self.query)


def target_of(url: str) -> Target:
    """The database ``url`` (a DATABASE_URL as the settings normalise it) names; HandOver
    for any form the engine path should read (an in-memory SQLite, a SQLite query string,
    a PostgreSQL query with a key given twice or hosts in it, ...)."""
    found = _URL.match(url)
    if found is None:
        raise HandOver(url)
    query = tuple(parse_qsl(found["query"] or ""))  # as sqlalchemy reads it (no blanks)
    keys = [key for key, _ in query]
    if len(set(keys)) < len(keys) or {"host", "port"} & set(keys):
        raise HandOver(url)  # lists of values, or hosts given there: the engine's to read
    user, password, database = (
        None if found[part] is None else unquote(found[part])
        for part in ("username", "password", "database")
    )
    host = found["ipv4host"] or found["ipv6host"]
    port = found["port"]
    if port is not None and not port.isdigit():
        raise HandOver(url)
    if found["name"] == "sqlite":
        plain_file = database and database != ":memory:" and not database.startswith("file:")
        if user is not None or password is not None or host or port or query or not plain_file:
            raise HandOver(url)
        return Target("sqlite", os.path.abspath(database or ""))
    if found["name"] == "postgresql+psycopg":
        given = int(port) if port else None
        return Target("postgresql", database, host, given, user, password, query)
    raise HandOver(url)


class Reader:
    """Statements run inside the open transaction: rows as the driver returns them."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.dialect = dialect
        self._connection = connection

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return list(self._connection.execute(sql, params or {}).fetchall())


@contextmanager
def reading(url: str) -> Iterator[Reader]:
    """One read-only transaction on the database ``url`` names, its schema checked first;
    HandOver where the engine path must answer (see the module's docstring)."""
    target = target_of(url)
    opened = _sqlite if target.dialect == "sqlite" else _postgresql
    with opened(target) as reader:
        revision = reader.rows(REVISION_SQL)
        if [tuple(row) for row in revision] != [(HEAD_REVISION,)]:
            raise HandOver("schema")  # the engine path migrates, or says which it is at
        yield reader


@contextmanager
def _sqlite(target: Target) -> Iterator[Reader]:
    import sqlite3

    assert target.database is not None
    # mode=rw: never create the file (the engine path does, and migrates it on the spot).
    uri = f"file:{quote(target.database)}?mode=rw"
    try:
        connection = sqlite3.connect(
            uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        with closing(connection):
            connection.execute("PRAGMA query_only=ON")
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            connection.execute("BEGIN")
            yield Reader(connection, "sqlite")
            connection.execute("COMMIT")
    except sqlite3.Error as exc:
        raise HandOver(type(exc).__name__) from None


@contextmanager
def _postgresql(target: Target) -> Iterator[Reader]:
    import psycopg

    try:
        connection = psycopg.connect(**target.connect_args())
    except psycopg.Error as exc:  # as schema.current_revision answers any DBAPIError there
        raise unreachable_at("postgresql", target.database, target.host, target.port, exc) from None
    try:
        with closing(connection):
            connection.read_only = True
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            yield Reader(connection, "postgresql")
            connection.rollback()  # read only: nothing to commit
    except psycopg.Error as exc:
        raise HandOver(type(exc).__name__) from None
