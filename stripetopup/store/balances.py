"""What an account's balance is made of, read on sqlalchemy core alone.

The one definition of the parts of a balance: what open holds take (:func:`held`), the
deficit (:func:`deficit`), the credit of live grants by kind and its next expiry, and what
may be spent now (:func:`spendable`: drawable grants less what holds reserve and the
deficit, never more than the balance less holds). The ORM store delegates here
(``holds.open_total``, ``grant_draws.deficit``, ``grants.spendable``/``summary``), and the
quick ``stripetopup balance`` reads here on a plain connection, without sqlmodel.

The tables are named as light ``sa.table`` clauses with just the columns read here;
``tests/test_quick_reads.py`` keeps them in step with :mod:`stripetopup.models`. Every
function takes what executes a statement: an ORM session (inside its transaction, which
flushes first) or a core connection. Imports sqlalchemy (core), ``columns``, ``ids`` and
``errors``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from stripetopup import ids
from stripetopup.columns import BIGINT, GrantCategory, GrantStatus, HoldStatus, UTCDateTime
from stripetopup.errors import NotFound, StripeTopupError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    Executor = sa.Connection | Session

OPEN_COMMAND = "stripetopup accounts create"

ACCOUNTS = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.String),
    sa.column("balance_cents", sa.Integer),
    sa.column("low_balance_threshold_cents", sa.Integer),
    sa.column("below_threshold", sa.Boolean),
)
HOLDS = sa.table(
    "holds",
    sa.column("id", sa.Integer),
    sa.column("account_pk", sa.Integer),
    sa.column("amount_cents", sa.Integer),
    sa.column("captured_cents", sa.Integer),
    sa.column("status", sa.String),
    sa.column("expires_at", UTCDateTime()),
)
GRANTS = sa.table(
    "credit_grants",
    sa.column("id", sa.Integer),
    sa.column("account_pk", sa.Integer),
    sa.column("remaining_cents", BIGINT),
    sa.column("category", sa.String),
    sa.column("status", sa.String),
    sa.column("effective_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()),
)
DRAWS = sa.table(
    "grant_draws",
    sa.column("account_pk", sa.Integer),
    sa.column("grant_pk", sa.Integer),
    sa.column("amount_cents", BIGINT),
)
RESERVATIONS = sa.table(
    "grant_reservations",
    sa.column("hold_pk", sa.Integer),
    sa.column("grant_pk", sa.Integer),
    sa.column("amount_cents", BIGINT),
)

_NOW = sa.bindparam("now", type_=UTCDateTime())


@dataclass(frozen=True)
class AccountRow:
    """The account columns a balance is read with."""

    id: int
    account_id: str
    balance_cents: int
    low_balance_threshold_cents: int | None
    below_threshold: bool


@dataclass(frozen=True)
class Summary:
    """An account's credit by kind: what live grants hold, the deficit, the next expiry."""

    paid_cents: int
    promotional_cents: int
    deficit_cents: int
    spendable_cents: int
    next_expiry_cents: int | None
    next_expiry_at: datetime | None
    held_cents: int  # what open holds take (read once with the rest)


def unknown(account_id: str, *, alternative: str | None = None) -> StripeTopupError:
    """The error for an account that does not exist: how to open it, or, for an id off the
    rule (which only an earlier release could have opened), the rule."""
    if not ids.follows_account_rule(account_id):
        return ids.invalid_account_id(account_id)
    also = f" (or {alternative})" if alternative else ""
    return NotFound(
        f"unknown account: {account_id}; open it with: {OPEN_COMMAND} {account_id}{also}"
    )


def get_account(db: Executor, account_id: str) -> AccountRow:
    """The account (InvalidAccountId before any SQL for an id none can have; NotFound, with
    how to open it, for one that does not exist)."""
    row = db.execute(_account_statement(), {"account_id": ids.check_account_id(account_id)})
    found = row.first()
    if found is None:
        raise unknown(account_id)
    pk, name, balance, threshold, below = found
    return AccountRow(int(pk), str(name), int(balance), threshold, bool(below))


def listed(db: Executor, *, limit: int) -> list[tuple[str, int]]:
    """Up to ``limit`` accounts' ids and balances, by id (what ``accounts list`` shows)."""
    rows = db.execute(_listing_statement(), {"limit": limit}).all()
    return [(str(name), int(cents)) for name, cents in rows]


def held(db: Executor, account_pk: int, now: datetime) -> int:
    """Cents reserved by holds open and unexpired at ``now`` (what they still may capture)."""
    params = {"account_pk": account_pk, "now": now}
    return int(db.execute(_held_statement(), params).scalar_one())


def deficit(db: Executor, account_pk: int) -> int:
    """The account's uncovered debits not yet settled by a credit (never negative)."""
    return int(db.execute(_deficit_statement(), {"account_pk": account_pk}).scalar_one())


def held_of(account_pk: Any) -> Any:
    """The held cents (:func:`held`) as a scalar subquery, for the account whose key is
    ``account_pk``: a bound parameter, or an accounts column the enclosing statement selects
    from (the pre-built credit and the low-balance state read it with the account)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(HOLDS.c.amount_cents - HOLDS.c.captured_cents), 0))
        .where(
            HOLDS.c.account_pk == account_pk,
            HOLDS.c.status == HoldStatus.OPEN.value,
            HOLDS.c.expires_at > _NOW,
        )
        .scalar_subquery()
    )


def deficit_of(account_pk: Any) -> Any:
    """The deficit (:func:`deficit`) as a scalar subquery, as :func:`held_of`."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(DRAWS.c.amount_cents), 0))
        .where(DRAWS.c.account_pk == account_pk, DRAWS.c.grant_pk.is_(None))
        .scalar_subquery()
    )


NO_HOLD = -1  # ``except_hold``'s value when no hold is left out (no hold has this key)


@functools.cache
def reserved_by_grant_bound() -> Any:
    """A subquery ``(grant_pk, reserved)`` of what open holds unexpired at ``:now`` keep on
    each grant, leaving out the hold ``:except_hold`` (a capture's own; :data:`NO_HOLD`)."""
    return (
        sa.select(
            RESERVATIONS.c.grant_pk.label("grant_pk"),
            sa.func.sum(RESERVATIONS.c.amount_cents).label("reserved"),
        )
        .join(HOLDS, HOLDS.c.id == RESERVATIONS.c.hold_pk)
        .where(
            HOLDS.c.status == HoldStatus.OPEN.value,
            HOLDS.c.expires_at > _NOW,
            RESERVATIONS.c.hold_pk != sa.bindparam("except_hold"),
        )
        .group_by(RESERVATIONS.c.grant_pk)
        .subquery()
    )


def live_with_cents(grants: Any) -> tuple[sa.ColumnElement[bool], ...]:
    """Where a grant of the table ``grants`` is live with cents left (``grants`` is
    :data:`GRANTS` or the ORM's ``credit_grants`` table: the same columns)."""
    return (grants.c.status == GrantStatus.LIVE.value, grants.c.remaining_cents > 0)


def drawable_where(grants: Any) -> tuple[sa.ColumnElement[bool], ...]:
    """Where a grant of ``grants`` is drawable at ``:now`` for the account ``:account_pk``:
    live with cents left, in effect and not expired."""
    return (
        grants.c.account_pk == sa.bindparam("account_pk"),
        *live_with_cents(grants),
        grants.c.effective_at <= _NOW,
        sa.or_(grants.c.expires_at.is_(None), grants.c.expires_at > _NOW),
    )


def drawable_total(db: Executor, account_pk: int, now: datetime) -> int:
    """Cents the account's grants could cover now, beyond what holds reserve (one sum)."""
    params = {"account_pk": account_pk, "now": now, "except_hold": NO_HOLD}
    return int(db.execute(_total_statement(), params).scalar_one())


def spendable(db: Executor, account_pk: int, balance_cents: int, now: datetime) -> int:
    """What a debit may take without going negative: the drawable grants less the deficit,
    and never more than the balance less open holds (a hold from before grants reserved
    nothing)."""
    owed, on_hold = deficit(db, account_pk), held(db, account_pk, now)
    return _spendable(balance_cents, on_hold, drawable_total(db, account_pk, now), owed)


def _spendable(balance_cents: int, held_cents: int, drawable_cents: int, deficit_cents: int) -> int:
    return min(balance_cents - held_cents, drawable_cents - deficit_cents)


def summary(db: Executor, account_pk: int, balance_cents: int, now: datetime) -> Summary:
    """What :class:`Summary` says for the account at ``now`` (each part read once)."""
    live = db.execute(_live_statement(), {"account_pk": account_pk}).all()
    by_kind = {kind: 0 for kind in GrantCategory}
    for category, remaining, _expires in live:
        by_kind[GrantCategory(category)] += int(remaining)
    ahead = [(int(cents), at) for _, cents, at in live if at is not None and at > now]
    soonest = min((at for _, at in ahead), default=None)
    expiring = sum(cents for cents, at in ahead if at == soonest)
    owed, on_hold = deficit(db, account_pk), held(db, account_pk, now)
    return Summary(
        by_kind[GrantCategory.PAID],
        by_kind[GrantCategory.PROMOTIONAL],
        owed,
        _spendable(balance_cents, on_hold, drawable_total(db, account_pk, now), owed),
        expiring if soonest is not None else None,
        soonest,
        on_hold,
    )


# Built on first use (and then once): a read command builds only what it runs.
@functools.cache
def _account_statement() -> Any:
    columns = ACCOUNTS.c
    return sa.select(
        columns.id,
        columns.account_id,
        columns.balance_cents,
        columns.low_balance_threshold_cents,
        columns.below_threshold,
    ).where(columns.account_id == sa.bindparam("account_id"))


@functools.cache
def _listing_statement() -> Any:
    columns = ACCOUNTS.c
    return (
        sa.select(columns.account_id, columns.balance_cents)
        .order_by(columns.account_id)
        .limit(sa.bindparam("limit"))
    )


@functools.cache
def _held_statement() -> Any:
    return sa.select(held_of(sa.bindparam("account_pk")))


@functools.cache
def _deficit_statement() -> Any:
    return sa.select(deficit_of(sa.bindparam("account_pk")))


@functools.cache
def _total_statement() -> Any:
    reserved = reserved_by_grant_bound()
    free = GRANTS.c.remaining_cents - sa.func.coalesce(reserved.c.reserved, 0)
    return (
        sa.select(sa.func.coalesce(sa.func.sum(free), 0))
        .select_from(GRANTS)
        .outerjoin(reserved, reserved.c.grant_pk == GRANTS.c.id)
        .where(*drawable_where(GRANTS), free > 0)
    )


@functools.cache
def _live_statement() -> Any:
    return sa.select(GRANTS.c.category, GRANTS.c.remaining_cents, GRANTS.c.expires_at).where(
        GRANTS.c.account_pk == sa.bindparam("account_pk"), *live_with_cents(GRANTS)
    )
