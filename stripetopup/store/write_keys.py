"""A lock on one caller's idempotency key, so a check across tables cannot race.

A debit keeps its key in ``ledger_entries.source`` and a hold in ``holds.idempotency_key``;
no unique constraint spans both, so "is this key already a hold?" and "write the debit"
must not interleave with the same key's other write. PostgreSQL: a transaction-scoped
advisory lock named by a hash of the key (released at commit or rollback). SQLite admits
one writer at a time (``BEGIN IMMEDIATE``), so there is nothing to add. Imports sqlalchemy
and sqlmodel only.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlmodel import Session

_LOCK = sa.text("SELECT pg_advisory_xact_lock(:lock_id)")


def lock(session: Session, actor: str, key: str) -> None:
    """Hold ``actor``'s ``key`` until this transaction ends (take it before any row lock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(_LOCK, {"lock_id": lock_id(actor, key)})


def lock_id(actor: str, key: str) -> int:
    """A signed 64-bit id for the pair; a collision only makes two writers queue."""
    digest = hashlib.sha256(f"idempotency\x1f{actor}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
