"""What an account's balance is made of, read on sqlalchemy core alone.

The one definition of the parts of a balance: what open holds take (:func:`held`), the
deficit (:func:`deficit`), the credit of live grants by kind and its next expiry, and what
may be spent now (:func:`spendable`: drawable grants less what holds reserve and the
deficit, never more than the balance less holds). The ORM store delegates here
(``holds.open_total``, ``grant_draws.deficit``, ``grants.spendable``/``summary``),
``TopUpService.balance`` reads here on a plain connection, without sqlmodel, and the quick
``stripetopup balance`` runs these statements' compiled text (``store.balance_sql``) on
the driver itself (``store.driver_balances``), without sqlalchemy.

The tables are named as light ``sa.table`` clauses with just the columns read here;
``tests/test_quick_reads.py`` keeps them in step with :mod:`stripetopup.models`. Every
function takes what executes a statement: an ORM session (inside its transaction, which
flushes first) or a core connection. What is read is put together by
``store.balance_parts``, for both. Imports sqlalchemy (core), ``columns``, ``ids`` and
``store.balance_parts``.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from stripetopup import ids
from stripetopup.columns import BIGINT, GrantStatus, HoldStatus, UTCDateTime
from stripetopup.store.balance_parts import OPEN_COMMAND as OPEN_COMMAND
from stripetopup.store.balance_parts import AccountRow as AccountRow
from stripetopup.store.balance_parts import Summary as Summary
from stripetopup.store.balance_parts import account_row, summarized
from stripetopup.store.balance_parts import spendable as _spendable
from stripetopup.store.balance_parts import unknown as unknown

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    Executor = sa.Connection | Session

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


def get_account(db: Executor, account_id: str) -> AccountRow:
    """The account (InvalidAccountId before any SQL for an id none can have; NotFound, with
    how to open it, for one that does not exist)."""
    row = db.execute(_account_statement(), {"account_id": ids.check_account_id(account_id)})
    return account_row(row.first(), account_id)


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


def summary(db: Executor, account_pk: int, balance_cents: int, now: datetime) -> Summary:
    """What :class:`Summary` says for the account at ``now`` (each part read once)."""
    live = db.execute(_live_statement(), {"account_pk": account_pk}).all()
    return summarized(
        [(str(category), int(cents), expires) for category, cents, expires in live],
        balance_cents=balance_cents,
        deficit_cents=deficit(db, account_pk),
        held_cents=held(db, account_pk, now),
        drawable_cents=drawable_total(db, account_pk, now),
        now=now,
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
