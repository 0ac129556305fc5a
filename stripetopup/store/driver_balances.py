"""An account's balance read on the DBAPI driver itself, without sqlalchemy: the statements
of :mod:`stripetopup.store.balances` as their compiled text (``store.balance_sql``), run
in a :class:`~stripetopup.driver_reads.Reader`'s transaction, each part read as
``store.balances`` reads it and put together by the same ``store.balance_parts``.

Parameters and results are converted as the column types' processors convert them on the
engine (``columns.UTCDateTime`` on each dialect; ``tests/test_driver_reads.py`` checks
these against the processors themselves): a timestamp is bound as UTC (on SQLite as
sqlalchemy's DATETIME text) and read back as aware UTC. Imports ``ids`` and the store's
``balance_sql`` and ``balance_parts``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stripetopup import ids
from stripetopup.store.balance_parts import AccountRow, Summary, account_row, summarized
from stripetopup.store.balance_sql import BY_DIALECT

if TYPE_CHECKING:
    from stripetopup.driver_reads import Reader

NO_HOLD = -1  # store.balances.NO_HOLD: no hold is left out of what holds reserve


def get_account(reader: Reader, account_id: str) -> AccountRow:
    """As ``store.balances.get_account``: InvalidAccountId before any SQL, NotFound (how to
    open it) for an account that does not exist."""
    rows = _run(reader, "account", {"account_id": ids.check_account_id(account_id)})
    return account_row(rows[0] if rows else None, account_id)


def summary(reader: Reader, account_pk: int, balance_cents: int, now: datetime) -> Summary:
    """As ``store.balances.summary``: the same statements, in the same order."""
    live = _run(reader, "live", {"account_pk": account_pk})
    deficit = _run(reader, "deficit", {"account_pk": account_pk})
    held = _run(reader, "held", {"account_pk": account_pk, "now": now})
    drawable = _run(
        reader, "drawable_total", {"account_pk": account_pk, "now": now, "except_hold": NO_HOLD}
    )
    return summarized(
        [
            (str(category), int(cents), read_timestamp(reader.dialect, expires))
            for category, cents, expires in live
        ],
        balance_cents=balance_cents,
        deficit_cents=int(deficit[0][0]),
        held_cents=int(held[0][0]),
        drawable_cents=int(drawable[0][0]),
        now=now,
    )


def listed(reader: Reader, *, limit: int) -> list[tuple[str, int]]:
    """As ``store.balances.listed``: up to ``limit`` accounts' ids and balances, by id."""
    return [(str(name), int(cents)) for name, cents in _run(reader, "listing", {"limit": limit})]


def bound_timestamp(dialect: str, value: datetime) -> Any:
    """What ``UTCDateTime`` binds for ``value`` on ``dialect``: the moment in UTC; on SQLite
    as the text sqlalchemy's DATETIME stores (its default storage format)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    utc = value.astimezone(UTC)
    if dialect != "sqlite":
        return utc
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def read_timestamp(dialect: str, value: Any) -> datetime | None:
    """What ``UTCDateTime`` reads back from the driver's ``value``: aware UTC (SQLite's text
    parsed as sqlalchemy's DATETIME parses it)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if dialect == "sqlite" else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _run(reader: Reader, key: str, given: dict[str, Any]) -> list[Any]:
    compiled = BY_DIALECT[reader.dialect][key]
    params = {**compiled.defaults, **given}
    for name in compiled.timestamps:
        params[name] = bound_timestamp(reader.dialect, params[name])
    return reader.rows(compiled.sql, params)
