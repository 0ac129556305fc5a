"""Conflict-safe inserts and upserts (``INSERT ... ON CONFLICT``) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, SQLModel


def dialect_insert(session: Session, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_*``) for the session's database."""
    return insert_for(dialect_of(session), table)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(dialect: str, table: sa.Table) -> Any:
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return builder(table)


def bound_values(columns: Iterable[str], prefix: str = "") -> dict[str, sa.BindParameter[Any]]:
    """``{column: :column}``: a statement built once and executed with parameters, so the
    hot path pays neither statement construction nor compilation (the cache hits).
    ``prefix`` names the parameters ``:<prefix><column>``, for a statement that holds
    several such parts (``credit_statements``' closing writes)."""
    return {name: sa.bindparam(prefix + name) for name in columns}


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same unique key exists; True when inserted."""
    table = model.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(session, table).values(**values).on_conflict_do_nothing()
    result = cast(CursorResult[Any], session.execute(statement))
    return bool(result.rowcount)
