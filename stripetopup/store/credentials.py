"""User tokens and service keys: random secrets stored only as SHA-256 hashes.

A token carries 256 bits of randomness, so a fast hash is the right tool (no password
stretching needed) and lookups are by hash, never by comparing secrets in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from stripetopup.dates import utcnow
from stripetopup.errors import NotFound
from stripetopup.models import ApiCredential

PREFIXES = {"user": "stu_", "service": "stk_"}
DISPLAY_LENGTH = 12
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(session: Session, kind: str, subject: str) -> tuple[ApiCredential, str]:
    """A new credential; the plaintext is returned once and never stored."""
    secret = PREFIXES[kind] + secrets.token_urlsafe(32)
    row = ApiCredential(
        kind=kind, subject=subject, prefix=secret[:DISPLAY_LENGTH], secret_hash=hash_secret(secret)
    )
    session.add(row)
    session.flush()
    return row, secret


def lookup(session: Session, secret: str) -> ApiCredential | None:
    """The live credential for ``secret`` (any kind), or None."""
    row = session.exec(
        select(ApiCredential).where(ApiCredential.secret_hash == hash_secret(secret))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    # Only write when the stamp is stale: a read-mostly path should not take the write lock.
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
    return row


def search(session: Session, kind: str, subject: str | None = None) -> Sequence[ApiCredential]:
    statement = select(ApiCredential).where(ApiCredential.kind == kind)
    if subject is not None:
        statement = statement.where(ApiCredential.subject == subject)
    return session.exec(statement.order_by(col(ApiCredential.id))).all()


def revoke(session: Session, kind: str, prefix: str) -> ApiCredential:
    """Revoke the credential shown as ``prefix`` in listings."""
    row = session.exec(
        select(ApiCredential).where(ApiCredential.kind == kind, ApiCredential.prefix == prefix)
    ).first()
    if row is None:
        raise NotFound(f"no {kind} credential with id {prefix}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row
