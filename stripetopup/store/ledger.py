"""The ledger: the one function that moves money, and the reads around it.

:func:`post` is the exactly-once path. Under the account's row lock (PostgreSQL) or the
database write lock (SQLite ``BEGIN IMMEDIATE``) it looks the entry's ``source`` up, and
only when it is new updates the cached balance and appends the entry. The unique
constraint on ``source`` backs this up: a racing writer that slipped past the lookup fails
its insert and its whole transaction is retried, finding the entry this time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from stripetopup.dates import utcnow
from stripetopup.errors import Conflict, InvalidAmount, NotFound
from stripetopup.models import MAX_INTEGER, Account, CreditGrant, LedgerEntry, LedgerKind
from stripetopup.store import grants
from stripetopup.store.upsert import bound_values, dialect_of, insert_for


@dataclass(frozen=True)
class Posting:
    """What to write: a signed amount for an account, keyed by a unique source."""

    account_id: str
    amount_cents: int
    currency: str
    kind: LedgerKind
    source: str
    actor: str
    reason: str | None = None
    checkout_session_id: str | None = None
    payment_intent_id: str | None = None
    event_id: str | None = None
    request_fingerprint: str | None = None
    # How the entry meets the account's credit grants, judged at ``at`` (the core's clock).
    grants: grants.GrantRule = field(default_factory=grants.GrantRule)
    at: datetime | None = None


@dataclass(frozen=True)
class PostResult:
    entry: LedgerEntry
    created: bool
    grant: CreditGrant | None = None  # the grant a new credit made


def find_by_source(session: Session, source: str) -> LedgerEntry | None:
    return session.exec(select(LedgerEntry).where(LedgerEntry.source == source)).first()


_ENTRIES = LedgerEntry.__table__  # type: ignore[attr-defined]
_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]


def post(session: Session, posting: Posting) -> PostResult:
    """Append ``posting`` unless its source exists; the balance moves in the same transaction.

    Raises NotFound for an unknown account and Conflict when the source exists with a
    different request fingerprint (an idempotency key reused for other input). Runs as
    three Core statements on the new-entry path: lock the account, insert the entry if its
    source is new, move the cached balance; then the entry's draws on the account's credit
    grants (:func:`stripetopup.store.grants.settle_posting`, the one place they are written).
    """
    account_pk, balance = _lock_account(session, posting.account_id)
    balance_after = balance + posting.amount_cents
    if out_of_range(posting.amount_cents, balance_after):
        return _out_of_range(session, posting)
    values = entry_values(posting, account_pk, balance_after)
    inserted = session.execute(insert_statement(dialect_of(session)), values).scalar()
    if inserted is None:
        existing = find_by_source(session, posting.source)
        assert existing is not None  # the conflict was on this source
        _check_same_request(existing, posting)
        return PostResult(existing, created=False)
    session.execute(
        sa.update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id == account_pk)
        .values(balance_cents=balance_after, updated_at=values["created_at"])
    )
    move = grants.Movement(
        account_pk,
        inserted,
        posting.amount_cents,
        posting.currency,
        posting.source,
        posting.at or values["created_at"],
    )
    made = grants.settle_posting(session, move, posting.grants)
    return PostResult(LedgerEntry(id=inserted, **values), created=True, grant=made)


def out_of_range(amount_cents: int, balance_after_cents: int) -> bool:
    """True when an amount or the balance it leaves is beyond what the ledger holds."""
    return max(abs(amount_cents), abs(balance_after_cents)) > MAX_INTEGER


def entry_values(posting: Posting, account_pk: int, balance_after: int) -> dict[str, Any]:
    """The new entry's columns (the parameters of :func:`insert_statement`)."""
    return {
        "account_pk": account_pk,
        "amount_cents": posting.amount_cents,
        "currency": posting.currency,
        "kind": posting.kind,
        "source": posting.source,
        "balance_after_cents": balance_after,
        "reason": posting.reason,
        "actor": posting.actor,
        "checkout_session_id": posting.checkout_session_id,
        "payment_intent_id": posting.payment_intent_id,
        "event_id": posting.event_id,
        "request_fingerprint": posting.request_fingerprint,
        "created_at": utcnow(),
    }


@functools.cache
def insert_statement(dialect: str) -> Any:
    """The entry's insert for ``dialect``: nothing on a known source, else RETURNING its id."""
    columns = [column.name for column in _ENTRIES.c if column.name != "id"]
    return (
        insert_for(dialect, _ENTRIES)
        .values(bound_values(columns))
        .on_conflict_do_nothing(index_elements=["source"])
        .returning(_ENTRIES.c.id)
    )


def _out_of_range(session: Session, posting: Posting) -> PostResult:
    """A retry still finds its entry; new money past what a balance column holds is refused."""
    existing = find_by_source(session, posting.source)
    if existing is None:
        raise beyond_range()
    _check_same_request(existing, posting)
    return PostResult(existing, created=False)


def beyond_range() -> InvalidAmount:
    """The refusal of new money past what a balance column holds."""
    return InvalidAmount(
        "the amount would take the balance beyond what the ledger can hold "
        f"(±{MAX_INTEGER // 100:,}.{MAX_INTEGER % 100:02d})",
        param="amount_cents",
    )


def _lock_account(session: Session, account_id: str) -> tuple[int, int]:
    """The account's key and balance, row-locked until commit (PostgreSQL; SQLite holds
    the database write lock already)."""
    row = session.execute(
        sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.balance_cents)
        .where(_ACCOUNTS.c.account_id == account_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"unknown account: {account_id}")
    return int(row[0]), int(row[1])


def _check_same_request(existing: LedgerEntry, posting: Posting) -> None:
    if posting.request_fingerprint is None:
        return
    if existing.request_fingerprint != posting.request_fingerprint:
        raise Conflict(
            f"idempotency key already used for a different request ({existing.source}); "
            "use a new key for a new operation"
        )


@dataclass(frozen=True)
class BalanceMismatch:
    account_id: str
    cached_cents: int
    entries_cents: int


def verify_balances(session: Session) -> list[BalanceMismatch]:
    """Every account whose cached balance differs from the sum of its entries."""
    sums = (
        select(
            LedgerEntry.account_pk,
            func.sum(LedgerEntry.amount_cents).label("total"),
        )
        .group_by(col(LedgerEntry.account_pk))
        .subquery()
    )
    rows = session.execute(
        select(Account.account_id, Account.balance_cents, func.coalesce(sums.c.total, 0)).outerjoin(
            sums, sums.c.account_pk == Account.id
        )
    ).all()
    return [
        BalanceMismatch(account_id, cached, int(total))
        for account_id, cached, total in rows
        if cached != int(total)
    ]
