"""Accounts: lookup, conflict-safe creation and the row lock that serializes money moves."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from stripetopup.errors import NotFound, UsageError
from stripetopup.models import Account, _now
from stripetopup.store.upsert import insert_ignore

MAX_ACCOUNT_ID_LENGTH = 200


def validate_account_id(account_id: str) -> str:
    """Refuse account ids that are empty, too long or contain control characters."""
    cleaned = account_id.strip()
    if not cleaned or len(cleaned) > MAX_ACCOUNT_ID_LENGTH:
        raise UsageError(
            f"account id must be 1 to {MAX_ACCOUNT_ID_LENGTH} characters", param="account"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise UsageError("account id must not contain control characters", param="account")
    return cleaned


def find(session: Session, account_id: str, *, lock: bool = False) -> Account | None:
    statement = select(Account).where(Account.account_id == account_id)
    if lock:
        # populate_existing: a row already in the session must be re-read under the lock.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).first()


def get(session: Session, account_id: str, *, lock: bool = False) -> Account:
    account = find(session, account_id, lock=lock)
    if account is None:
        raise NotFound(f"unknown account: {account_id}")
    return account


def ensure(session: Session, account_id: str) -> tuple[Account, bool]:
    """The account, created if missing; True when this call created it."""
    account_id = validate_account_id(account_id)
    now = _now()
    created = insert_ignore(
        session,
        Account,
        {"account_id": account_id, "balance_cents": 0, "created_at": now, "updated_at": now},
    )
    return get(session, account_id), created


def list_all(session: Session, *, limit: int = 1000) -> Sequence[Account]:
    return session.exec(select(Account).order_by(col(Account.account_id)).limit(limit)).all()
