"""Accounts: lookup, conflict-safe creation and the row lock that serializes money moves.

Account ids are checked against :mod:`stripetopup.ids` here, where every door's lookups and
creations meet: the rule for new accounts, the looser bounds for lookups. The account row
also keeps its low-balance threshold and flag (:func:`low_balance_state` reads them with
the balance and what open holds take, in one statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, select

from stripetopup import ids
from stripetopup.dates import utcnow
from stripetopup.models import Account
from stripetopup.store.balances import OPEN_COMMAND as OPEN_COMMAND
from stripetopup.store.balances import held_of
from stripetopup.store.balances import unknown as unknown
from stripetopup.store.upsert import insert_ignore


def find(session: Session, account_id: str, *, lock: bool = False) -> Account | None:
    """The account, or None; InvalidAccountId (before any SQL) for an id none can have."""
    statement = select(Account).where(Account.account_id == ids.check_account_id(account_id))
    if lock:
        # populate_existing: a row already in the session must be re-read under the lock.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).first()


def get_by_pk(session: Session, account_pk: int, *, lock: bool = False) -> Account:
    """The account with primary key ``account_pk`` (it must exist), locked if asked."""
    statement = select(Account).where(Account.id == account_pk)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).one()


def get(session: Session, account_id: str, *, lock: bool = False) -> Account:
    account = find(session, account_id, lock=lock)
    if account is None:
        raise unknown(account_id)
    return account


def ensure(session: Session, account_id: str) -> tuple[Account, bool]:
    """The account, created if missing; True when this call created it.

    An existing account is returned whatever its id; a new one must follow the rule.
    """
    existing = find(session, account_id)
    if existing is not None:
        return existing, False
    ids.check_new_account_id(account_id)
    now = utcnow()
    created = insert_ignore(
        session,
        Account,
        {"account_id": account_id, "balance_cents": 0, "created_at": now, "updated_at": now},
    )
    return get(session, account_id), created


def set_low_balance(
    session: Session,
    account_pk: int,
    *,
    below: bool | None = None,
    threshold_cents: int | Literal["keep"] | None = "keep",
) -> None:
    """Write the account's below-threshold flag and/or its own threshold (None: the default)."""
    changes: dict[str, object] = {}
    if below is not None:
        changes["below_threshold"] = below
    if threshold_cents != "keep":
        changes["low_balance_threshold_cents"] = threshold_cents
    if changes:
        session.execute(sa.update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_pk).values(**changes))


@dataclass(frozen=True)
class LowBalanceState:
    """What the low-balance check reads: the balance, what open holds take, the flag."""

    account_pk: int
    account_id: str
    balance_cents: int
    held_cents: int
    threshold_cents: int | None  # the account's own; None: the default applies
    below: bool


_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]
_HELD = held_of(_ACCOUNTS.c.id)  # what open holds take, as the balance defines it
_STATE = sa.select(
    _ACCOUNTS.c.id,
    _ACCOUNTS.c.account_id,
    _ACCOUNTS.c.balance_cents,
    _HELD,
    _ACCOUNTS.c.low_balance_threshold_cents,
    _ACCOUNTS.c.below_threshold,
).where(_ACCOUNTS.c.account_id == sa.bindparam("account_id"))


def low_balance_state(session: Session, account_id: str, now: datetime) -> LowBalanceState:
    """One statement (the caller holds the account's lock); NotFound for no such account."""
    row = session.execute(_STATE, {"account_id": account_id, "now": now}).first()
    if row is None:
        raise unknown(account_id)
    pk, found_id, balance, held, threshold, below = row
    return LowBalanceState(int(pk), str(found_id), int(balance), int(held), threshold, bool(below))
