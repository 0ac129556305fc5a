"""The webhook's common credit as pre-built statements on a connection: no ORM, no Session.

:mod:`stripetopup.core.events.fast_credit` credits a paid Checkout Session with these
functions, each one statement (built once per dialect at import, RETURNING where a row's
key or state is needed) executed on the caller's ``sqlalchemy.Connection`` inside its open
transaction. They write exactly the rows the general path writes
(``store.payments.upsert_from_stripe``, ``store.ledger.post``, ``store.grants``'s credit,
``store.outbox.add``, ``store.events.record``), and the payment upsert, the entry's insert
and the event log's record are literally the same statements. The unique ``source`` and
every other constraint are the database's, as on the general path.

Locks, on PostgreSQL, in the general path's order: the payment row (the upsert), the
account row (``FOR UPDATE``), then the outbox's shared commit-order lock
(``store.outbox``). The account's held cents and deficit are read in a statement *after*
the lock, so under READ COMMITTED they see what the transaction we waited for committed.
On SQLite the caller's ``BEGIN IMMEDIATE`` holds the database write lock already, so the
account, its holds and its deficit are read in one statement.

Imports sqlalchemy, ``stripetopup.models`` and the store's statements it shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from stripetopup.models import (
    Account,
    CreditGrant,
    EventResult,
    GrantDraw,
    LedgerEntry,
    OutboundEvent,
    PaymentState,
    StripePayment,
    WebhookEvent,
)
from stripetopup.store import balances, events, ledger, outbox, payments
from stripetopup.store.upsert import bound_values

_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_PAYMENTS: sa.Table = StripePayment.__table__  # type: ignore[attr-defined]
_EVENTS: sa.Table = WebhookEvent.__table__  # type: ignore[attr-defined]
_ENTRIES: sa.Table = LedgerEntry.__table__  # type: ignore[attr-defined]
_GRANTS: sa.Table = CreditGrant.__table__  # type: ignore[attr-defined]
_DRAWS: sa.Table = GrantDraw.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboundEvent.__table__  # type: ignore[attr-defined]

# An event that credited (or found its payment credited) has nothing left to do.
DONE = (EventResult.CREDITED.value, EventResult.ALREADY_APPLIED.value)


def payment_of(column: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    """One column of the session's payment, found by its unique key and nothing else.

    Statements that ask about a payment's state do it through this, never with ``state``
    beside the key in a WHERE: the planner may then walk ``ix_stripe_payments_state``
    (every credited payment) instead of the unique key, and on a table not analyzed yet
    PostgreSQL did, which made each new credit's duplicate check grow with the ledger.
    """
    return (
        sa.select(column)
        .where(_PAYMENTS.c.checkout_session_id == sa.bindparam("checkout_session_id"))
        .scalar_subquery()
    )


# The session's payment is credited (still): by its unique key, as payment_of says.
PAYMENT_CREDITED = payment_of(_PAYMENTS.c.state) == PaymentState.CREDITED.value


# One more delivery on an event's record, as ``store.events.record`` counts it: its
# attempts, the secret that verified it (if any) and the time it was processed.
COUNTED_AGAIN: dict[str, Any] = {
    "attempts": _EVENTS.c.attempts + sa.bindparam("b_attempts"),
    "secret_label": sa.func.coalesce(
        sa.bindparam("b_secret_label", type_=sa.String), _EVENTS.c.secret_label
    ),
    "processed_at": sa.bindparam("b_processed_at", type_=_EVENTS.c.processed_at.type),
}

# A re-delivery of an event already applied: count the attempt (or replay) on its record,
# keep its outcome, and answer from the credited payment, in one statement. The record is
# only touched when the payment it credited is still credited.
_DUPLICATE = (
    sa.update(_EVENTS)
    .where(
        _EVENTS.c.event_id == sa.bindparam("b_event_id"),
        sa.or_(*(_EVENTS.c.outcome == done for done in DONE)),  # no expanding IN: raw SQL
        PAYMENT_CREDITED,
    )
    .values(**COUNTED_AGAIN, replays=_EVENTS.c.replays + sa.bindparam("b_replays"))
    .returning(
        _EVENTS.c.outcome,
        payment_of(_PAYMENTS.c.credited_entry_id),
        payment_of(_PAYMENTS.c.amount_total_cents),
    )
)

# Before anything is written: does the account exist, and what state is the payment in?
_LOOK = sa.select(
    sa.select(_ACCOUNTS.c.id)
    .where(_ACCOUNTS.c.account_id == sa.bindparam("account_id"))
    .scalar_subquery(),
    payment_of(_PAYMENTS.c.state),
)

# The balance's parts, as the balance itself defines them, read with the account.
_HELD = balances.held_of(_ACCOUNTS.c.id)
_DEFICIT = balances.deficit_of(_ACCOUNTS.c.id)
_ACCOUNT_COLUMNS = (
    _ACCOUNTS.c.id,
    _ACCOUNTS.c.balance_cents,
    _ACCOUNTS.c.low_balance_threshold_cents,
    _ACCOUNTS.c.below_threshold,
)
_BY_ACCOUNT_ID = _ACCOUNTS.c.account_id == sa.bindparam("account_id")
# SQLite: the write lock is held, so one read of the account with its holds and deficit.
_SQLITE_ACCOUNT = sa.select(*_ACCOUNT_COLUMNS, _HELD, _DEFICIT).where(_BY_ACCOUNT_ID)
# PostgreSQL: lock the row first, then read the holds and the deficit (and take the
# outbox's shared order lock, which a new entry's events need, after the account's as the
# general path does).
_PG_LOCK = sa.select(*_ACCOUNT_COLUMNS).where(_BY_ACCOUNT_ID).with_for_update()
_PG_AROUND = (
    sa.select(_HELD, _DEFICIT, sa.func.pg_advisory_xact_lock_shared(outbox.ORDER_LOCK))
    .select_from(_ACCOUNTS)
    .where(_BY_ACCOUNT_ID)  # by account id: sent with the lock, before its key is known
)

_ENTRY_BY_SOURCE = sa.select(_ENTRIES.c.id).where(_ENTRIES.c.source == sa.bindparam("source"))


def _move_balance(prefix: str = "") -> sa.Update:
    return (
        sa.update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id == sa.bindparam(prefix + "account_pk"))
        .values(
            balance_cents=sa.bindparam(prefix + "b_balance_cents"),
            updated_at=sa.bindparam(prefix + "b_updated_at", type_=_ACCOUNTS.c.updated_at.type),
            below_threshold=sa.bindparam(prefix + "b_below_threshold", type_=sa.Boolean),
        )
    )


def _insert_grant(prefix: str = "") -> sa.Insert:
    return sa.insert(_GRANTS).values(bound_values(_GRANT_COLUMNS, prefix))


_GRANT_COLUMNS = [c.name for c in _GRANTS.c if c.name != "id"]
_MOVE_BALANCE = _move_balance()
_INSERT_GRANT = _insert_grant().returning(_GRANTS.c.id)
_INSERT_DRAW = sa.insert(_DRAWS)
_INSERT_OUTBOX = sa.insert(_OUTBOX)
_MARK_CREDITED = (
    sa.update(_PAYMENTS)
    .where(_PAYMENTS.c.id == sa.bindparam("payment_pk"))
    .values(
        state=PaymentState.CREDITED.value,
        credited_entry_id=sa.bindparam("entry_id"),
        updated_at=sa.bindparam("b_updated_at", type_=_PAYMENTS.c.updated_at.type),
    )
)

# PostgreSQL: a credit's closing writes as one statement, none of them answered: the
# balance, the paid grant and the outbox rows as data-modifying CTEs of the payment's
# mark. Each runs exactly once and to completion, all in one snapshot, which is safe
# because none reads what another writes (the rows they change are locked already: the
# payment by its upsert, the account by its lock, the outbox's order by its lock). The
# outbox rows are one VALUES list, so their ``seq`` follows their order. The parts are
# the statements of move_balance, insert_grant and insert_outbox with their parameters
# prefixed (CLOSING_PREFIXES); one compiled per number of outbox rows a credit writes.
CLOSING_PREFIXES = {"balance": "m_", "grant": "g_", "outbox": "o{}_"}
CLOSING_OUTBOX_ROWS = (2, 3)  # balance.credited and grant.created; a flipped threshold's


def _closing(outbox_rows: int) -> sa.Update:
    queued = [
        bound_values(_OUTBOX_COLUMNS, CLOSING_PREFIXES["outbox"].format(row))
        for row in range(outbox_rows)
    ]
    return (
        _MARK_CREDITED.add_cte(_move_balance(CLOSING_PREFIXES["balance"]).cte("moved"))
        .add_cte(_insert_grant(CLOSING_PREFIXES["grant"]).cte("granted"))
        .add_cte(_INSERT_OUTBOX.values(queued).cte("queued"))
    )


class Prepared:
    """One statement compiled once for a dialect, run on the DBAPI connection.

    The SQL text is SQLAlchemy's own compilation of the statement above (so it is the
    statement the general path runs, where it is shared); what is skipped is SQLAlchemy's
    per-execution work: the compiled cache lookup, the execution context and the result
    object. Parameters go through the same bind processors the column types define (a
    UTC timestamp's conversion and SQLite's text form, SQLite's 0/1 booleans).
    """

    def __init__(self, statement: Any, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.defaults: dict[str, Any] = {}
        self.required: list[str] = []
        self.processors: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if bind.required:
                self.required.append(name)
            else:
                self.defaults[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        values = {**self.defaults, **given}
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        return values

    def run(
        self, connection: sa.Connection, given: dict[str, Any], *, fetch: bool = True
    ) -> list[Any]:
        """Execute on the connection's DBAPI connection, in its open transaction; the rows
        it returned (none read when not ``fetch``: in a pipeline, no round trip)."""
        cursor = self.send(connection, given)
        return self.rows(connection, cursor) if fetch else []

    def send(self, connection: sa.Connection, given: dict[str, Any]) -> Any:
        """Execute without reading the answer: the cursor :meth:`rows` reads it from (in a
        pipeline, nothing has waited for the server yet)."""
        raw = connection.connection.driver_connection
        assert raw is not None
        try:
            return raw.execute(self.sql, self.params(given))
        except connection.dialect.loaded_dbapi.Error as exc:
            raise translated(connection, exc, self.sql) from None

    def rows(self, connection: sa.Connection, cursor: Any) -> list[Any]:
        try:
            return list(cursor.fetchall())
        except connection.dialect.loaded_dbapi.Error as exc:
            raise translated(connection, exc, self.sql) from None

    def run_many(self, connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        raw = connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.executemany(self.sql, [self.params(row) for row in rows])
        except connection.dialect.loaded_dbapi.Error as exc:
            raise translated(connection, exc, self.sql) from None
        finally:
            cursor.close()


def translated(connection: sa.Connection, exc: Exception, sql: str | None) -> sa.exc.StatementError:
    """The driver's error as SQLAlchemy's (IntegrityError, OperationalError, ...), as the
    general path raises it, so ``db.run_in_transaction``'s retry rules and the doors'
    translation treat both paths alike (a lost connection included: invalidated, and said
    so in ``connection_invalidated``). Parameters are left out of it."""
    dialect = connection.dialect
    # A connection the driver found dead is invalidated, as SQLAlchemy does for what it
    # executes itself: its pool then never hands it out again.
    lost = isinstance(exc, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
        exc, connection.connection.dbapi_connection, None
    )
    if lost:
        connection.invalidate(exc)
    return sa.exc.DBAPIError.instance(
        sql,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )


def _prepare(dialect: sa.Dialect) -> dict[str, Prepared]:
    name = dialect.name
    shared = {
        "duplicate": _DUPLICATE,
        "look": _LOOK,
        "payment_upsert": payments.upsert_statement(name),
        "entry_insert": ledger.insert_statement(name),
        "entry_by_source": _ENTRY_BY_SOURCE,
        "move_balance": _MOVE_BALANCE,
        "grant_insert": _INSERT_GRANT,
        "draw_insert": _INSERT_DRAW.values(bound_values(_DRAW_COLUMNS)),
        "outbox_insert": _INSERT_OUTBOX.values(bound_values(_OUTBOX_COLUMNS)),
        "mark_credited": _MARK_CREDITED,
        "event_record": events.record_statement(name),
    }
    if name == "postgresql":
        shared |= {"account_lock": _PG_LOCK, "account_around": _PG_AROUND}
        shared |= {f"closing_{rows}": _closing(rows) for rows in CLOSING_OUTBOX_ROWS}
    else:
        shared |= {"account": _SQLITE_ACCOUNT}
    return {key: Prepared(statement, dialect) for key, statement in shared.items()}


_DRAW_COLUMNS = ("entry_id", "account_pk", "grant_pk", "amount_cents")
_OUTBOX_COLUMNS = ("message_id", "type", "schema_version", "account_id", "created_at", "payload")
_PAYMENT_COLUMNS = tuple(column.name for column in _PAYMENTS.c)
# Named parameters on both drivers (sqlite3's :name, psycopg's %(name)s), built at import.
DIALECTS: dict[str, sa.Dialect] = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
}
PREPARED = {name: _prepare(dialect) for name, dialect in DIALECTS.items()}


@contextmanager
def pipelined(connection: sa.Connection) -> Iterator[None]:
    """psycopg's pipeline mode on PostgreSQL: statements are sent without waiting, and a
    round trip is made only when an answer is read (or at the end, where every error
    surfaces, before the caller's savepoint is released). SQLite: nothing (no network)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    try:
        with raw.pipeline():
            yield
    except connection.dialect.loaded_dbapi.Error as exc:
        raise translated(connection, exc, None) from None


def _run(
    connection: sa.Connection, key: str, params: dict[str, Any], *, fetch: bool = True
) -> list[Any]:
    return PREPARED[connection.dialect.name][key].run(connection, params, fetch=fetch)


def _run_together(
    connection: sa.Connection, steps: Sequence[tuple[str, dict[str, Any]]]
) -> list[list[Any]]:
    """Each statement's rows, in order. On PostgreSQL, inside :func:`pipelined`, all are
    sent before any answer is read: one round trip for them all, executed in this order
    (so their locks are taken in it). On SQLite (no network) one after another."""
    prepared = PREPARED[connection.dialect.name]
    if connection.dialect.name != "postgresql":
        return [prepared[key].run(connection, params) for key, params in steps]
    sent = [(prepared[key], prepared[key].send(connection, params)) for key, params in steps]
    return [statement.rows(connection, cursor) for statement, cursor in sent]


@dataclass(frozen=True)
class Duplicate:
    """An applied event's earlier outcome, and what its payment's credit was."""

    outcome: str
    entry_id: int | None
    amount_total_cents: int | None


def count_duplicate(
    connection: sa.Connection,
    *,
    event_id: str,
    checkout_session_id: str,
    secret_label: str | None,
    replay: bool,
    now: datetime,
) -> Duplicate | None:
    """Count a re-delivery of an applied event, or None (and nothing written) if it is not."""
    params = _duplicate_params(event_id, checkout_session_id, secret_label, replay, now)
    return _duplicate_of(_run(connection, "duplicate", params))


def duplicate_or_look(
    connection: sa.Connection,
    *,
    event_id: str,
    checkout_session_id: str,
    account_id: str,
    secret_label: str | None,
    replay: bool,
    now: datetime,
) -> tuple[Duplicate | None, tuple[int | None, str | None]]:
    """:func:`count_duplicate` and :func:`look` together (one round trip in a pipeline):
    the look's answer is for a delivery that turns out not to be a duplicate."""
    duplicate = _duplicate_params(event_id, checkout_session_id, secret_label, replay, now)
    look = {"account_id": account_id, "checkout_session_id": checkout_session_id}
    counted, looked = _run_together(connection, [("duplicate", duplicate), ("look", look)])
    ((account_pk, state),) = looked
    return _duplicate_of(counted), (account_pk, state)


def _duplicate_params(
    event_id: str, checkout_session_id: str, secret_label: str | None, replay: bool, now: datetime
) -> dict[str, Any]:
    return {
        "b_event_id": event_id,
        "checkout_session_id": checkout_session_id,
        "b_attempts": 0 if replay else 1,
        "b_replays": 1 if replay else 0,
        "b_secret_label": secret_label,
        "b_processed_at": now,
    }


def _duplicate_of(rows: list[Any]) -> Duplicate | None:
    if not rows:
        return None
    outcome, entry_id, amount = rows[0]
    return Duplicate(str(outcome), entry_id, amount)


def look(
    connection: sa.Connection, account_id: str, checkout_session_id: str
) -> tuple[int | None, str | None]:
    """The account's key (None: no such account) and the payment's state (None: no row)."""
    params = {"account_id": account_id, "checkout_session_id": checkout_session_id}
    ((account_pk, state),) = _run(connection, "look", params)
    return account_pk, state


@dataclass(frozen=True)
class PaymentRow:
    """What the credit needs of the payment row the upsert returned."""

    id: int
    state: str
    amount_total_cents: int | None
    credited_entry_id: int | None
    payment_intent_id: str | None


def upsert_payment_and_lock(
    connection: sa.Connection, values: dict[str, Any], account_id: str, now: datetime
) -> tuple[PaymentRow, AccountState | None]:
    """``store.payments``'s upsert (``upsert_values``), its row as it now is, then the
    account under its lock (None when there is none), in the general path's lock order:
    the payment row, the account row, then (PostgreSQL) the outbox's order lock. One round
    trip in a pipeline; the account's holds and deficit are read after its lock (see the
    module), so under READ COMMITTED they see what the transaction we waited for wrote."""
    account = {"account_id": account_id, "now": now}
    if connection.dialect.name == "postgresql":
        upserted, locked, around = _run_together(
            connection,
            [("payment_upsert", values), ("account_lock", account), ("account_around", account)],
        )
        account_row = (*locked[0], *around[0][:2]) if locked else None
    else:
        upserted, found = _run_together(
            connection, [("payment_upsert", values), ("account", account)]
        )
        account_row = tuple(found[0]) if found else None
    (row,) = upserted
    return _payment_row(row), None if account_row is None else _account_state(account_row)


def _payment_row(row: Sequence[Any]) -> PaymentRow:
    found = dict(zip(_PAYMENT_COLUMNS, row, strict=True))
    return PaymentRow(
        int(found["id"]),
        str(found["state"]),
        found["amount_total_cents"],
        found["credited_entry_id"],
        found["payment_intent_id"],
    )


@dataclass(frozen=True)
class AccountState:
    """The locked account: balance, threshold and flag, what holds take, its deficit."""

    account_pk: int
    balance_cents: int
    threshold_cents: int | None
    below: bool
    held_cents: int
    deficit_cents: int


def _account_state(row: Sequence[Any]) -> AccountState:
    pk, balance, threshold, below, held, deficit = row
    return AccountState(int(pk), int(balance), threshold, bool(below), int(held), int(deficit))


def insert_entry(connection: sa.Connection, values: dict[str, Any]) -> int | None:
    """``store.ledger``'s insert (``entry_values``): the new entry's id, None if its source
    exists already."""
    rows = _run(connection, "entry_insert", values)
    return int(rows[0][0]) if rows else None


def entry_by_source(connection: sa.Connection, source: str) -> int | None:
    found = _run(connection, "entry_by_source", {"source": source})
    return int(found[0][0]) if found else None


@dataclass(frozen=True)
class BalanceMove:
    """The account's cached balance and low-balance flag as a credit leaves them."""

    account_pk: int
    balance_cents: int
    below: bool
    at: datetime

    def params(self) -> dict[str, Any]:
        return {
            "account_pk": self.account_pk,
            "b_balance_cents": self.balance_cents,
            "b_updated_at": self.at,
            "b_below_threshold": self.below,
        }


def move_balance(connection: sa.Connection, move: BalanceMove) -> None:
    """The cached balance and the low-balance flag, in one update."""
    _run(connection, "move_balance", move.params(), fetch=False)


def insert_grant(connection: sa.Connection, values: dict[str, Any]) -> int:
    """A new grant (every column but ``id``); returns its key."""
    (row,) = _run(connection, "grant_insert", values)
    return int(row[0])


def insert_draws(connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Grant draws (``entry_id, account_pk, grant_pk, amount_cents``), in order."""
    PREPARED[connection.dialect.name]["draw_insert"].run_many(connection, rows)


def insert_outbox(connection: sa.Connection, rows: Sequence[outbox.NewEvent]) -> None:
    """Outbox rows in order (their ``seq`` follows it); on PostgreSQL the caller holds the
    shared order lock (:func:`upsert_payment_and_lock` took it)."""
    PREPARED[connection.dialect.name]["outbox_insert"].run_many(connection, _outbox_values(rows))


def _outbox_values(rows: Sequence[outbox.NewEvent]) -> list[dict[str, Any]]:
    return [{name: getattr(event, name) for name in _OUTBOX_COLUMNS} for event in rows]


def mark_credited(connection: sa.Connection, payment_pk: int, entry_id: int, at: datetime) -> None:
    _run(connection, "mark_credited", _mark_params(payment_pk, entry_id, at), fetch=False)


def _mark_params(payment_pk: int, entry_id: int, at: datetime) -> dict[str, Any]:
    return {"payment_pk": payment_pk, "entry_id": entry_id, "b_updated_at": at}


def close_credit(
    connection: sa.Connection,
    move: BalanceMove,
    grant: dict[str, Any],
    rows: Sequence[outbox.NewEvent],
    *,
    payment_pk: int,
    entry_id: int,
    at: datetime,
) -> None:
    """A credit's closing writes: :func:`move_balance`, :func:`insert_grant` (its key not
    wanted), :func:`insert_outbox` and :func:`mark_credited` (at ``at``). On PostgreSQL one
    statement, none of it answered (``_closing``: one execution instead of five);
    elsewhere, or for a number of outbox rows it was not compiled for, those four in that
    order."""
    closing = PREPARED[connection.dialect.name].get(f"closing_{len(rows)}")
    if closing is None:
        move_balance(connection, move)
        insert_grant(connection, grant)
        insert_outbox(connection, rows)
        mark_credited(connection, payment_pk, entry_id, at)
        return
    params = _mark_params(payment_pk, entry_id, at)
    params |= _prefixed(move.params(), CLOSING_PREFIXES["balance"])
    params |= _prefixed(grant, CLOSING_PREFIXES["grant"])
    for row, values in enumerate(_outbox_values(rows)):
        params |= _prefixed(values, CLOSING_PREFIXES["outbox"].format(row))
    closing.run(connection, params, fetch=False)


def _prefixed(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + name: value for name, value in values.items()}


def record_event(connection: sa.Connection, values: dict[str, Any]) -> None:
    """``store.events``'s record (``record_values``): insert, or count one more attempt."""
    _run(connection, "event_record", values, fetch=False)
