"""``stripetopup balance`` on the DBAPI driver itself: the same SQL as the statements of
``store.balances`` (compiled and compared), the same conversions as the column types'
processors, the URL read as the engine reads it, the same answer as
``TopUpService.balance`` field by field (both databases), no sqlalchemy imported, a read
that never writes, and the engine path's answers wherever the driver hands over.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripetopup import driver_reads, engines, schema
from stripetopup.columns import GrantCategory, UTCDateTime
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.core.ledger import balances as ledger_balances
from stripetopup.core.ledger.balance_types import Balance
from stripetopup.driver_reads import HandOver, target_of
from stripetopup.emulator import EmulatorServer
from stripetopup.errors import DatabaseError, NotFound
from stripetopup.store import balance_parts, balance_sql, balances, driver_balances
from stripetopup.store.credit_statements import DIALECTS
from tests.conftest import ACCOUNT, make_settings, settings_env
from tests.support import balance_sql as expected_sql
from tests.support.clock import ManualClock
from tests.support.servers import cli_env, free_port, imported_by_cli, run_cli

BROKE, EMPTY, GONE = "acct-broke", "acct-empty", "acct-nobody"
MOMENTS = [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-7))),
    datetime(999, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


# The SQL and its conversions -------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_constants_are_the_statements_compiled(dialect: str) -> None:
    """balance_sql holds exactly what store.balances' statements compile to (when this
    fails: ``python -m tests.support.balance_sql`` prints the constants anew)."""
    assert balance_sql.BY_DIALECT[dialect] == expected_sql.compiled(dialect)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_timestamp_is_bound_and_read_as_the_column_type_converts_it(dialect: str) -> None:
    held = expected_sql.prepared(dialect, "held")
    for moment in MOMENTS:
        by_engine = held.params({"account_pk": 1, "now": moment})["now"]
        assert driver_balances.bound_timestamp(dialect, moment) == by_engine
    with pytest.raises(ValueError, match="naive"):
        held.params({"account_pk": 1, "now": datetime(2026, 1, 2)})
    with pytest.raises(ValueError, match="naive"):
        driver_balances.bound_timestamp(dialect, datetime(2026, 1, 2))

    engine_dialect = DIALECTS[dialect]
    column_type = UTCDateTime().dialect_impl(engine_dialect)
    by_engine_reader = column_type.result_processor(engine_dialect, None)
    assert by_engine_reader is not None
    if dialect == "sqlite":
        stored = [driver_balances.bound_timestamp(dialect, m) for m in MOMENTS]
        stored += ["2026-01-02 03:04:05", "2026-01-02"]
    else:
        stored = [*MOMENTS, datetime(2026, 1, 2, 3, 4, 5)]  # naive: the type says UTC
    for value in [*stored, None]:
        assert driver_balances.read_timestamp(dialect, value) == by_engine_reader(value)


def test_the_names_shared_with_the_engine_path_are_its_own() -> None:
    assert driver_balances.NO_HOLD == balances.NO_HOLD
    assert {balance_parts.PAID, balance_parts.PROMOTIONAL} == {c.value for c in GrantCategory}
    assert driver_reads.SQLITE_BUSY_TIMEOUT_MS == engines.SQLITE_BUSY_TIMEOUT_MS
    assert driver_reads.REVISION_SQL in inspect.getsource(schema.current_revision)


URLS = [
    "postgresql+psycopg://bob:s%40krit%2F@db.example.com:6543/ledger",
    "postgresql+psycopg://bob@127.0.0.1/ledger?sslmode=require&connect_timeout=5",
    "postgresql+psycopg://[::1]:5432/ledger",
    "postgresql+psycopg://h1,h2/ledger",
    "postgresql+psycopg:///ledger",
    "postgresql+psycopg://bob:@localhost",
    "sqlite:///relative/stripetopup.db",
    "sqlite:////tmp/with%20space/x.db",
]
HANDED_OVER = [
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:///file:x.db?mode=ro&uri=true",
    "sqlite:///x.db?timeout=3",
    "sqlite://host/x.db",
    "postgresql+psycopg://bob@localhost:notaport/ledger",
    "postgresql+psycopg://bob@localhost/ledger?host=/tmp",
    "postgresql+psycopg://bob@localhost/ledger?options=a&options=b",
    "mysql://bob@localhost/ledger",
]


@pytest.mark.parametrize("url", URLS)
def test_a_url_names_what_the_engine_would_open(url: str) -> None:
    target, parsed = target_of(url), sa.make_url(url)
    engine_dialect = DIALECTS[target.dialect]
    _, connect_args = engine_dialect.create_connect_args(parsed)
    if target.dialect == "sqlite":
        assert target.database == connect_args.get("database", os.path.abspath(parsed.database))
        assert (target.host, target.port, target.username, target.password) == (None,) * 4
        return
    connect_args.pop("context", None)  # sqlalchemy's adapters: none for a balance's types
    assert target.connect_args() == connect_args
    where = (target.database, target.host, target.port)
    assert where == (parsed.database, parsed.host, parsed.port)


@pytest.mark.parametrize("url", HANDED_OVER)
def test_a_url_past_the_plain_forms_is_the_engines_to_read(url: str) -> None:
    with pytest.raises(HandOver):
        target_of(url)


# The answer, both databases ----------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, emulator: EmulatorServer) -> Settings:
    """A default low-balance threshold, which an account's own replaces."""
    return make_settings(database_url, emulator.url, low_balance_threshold_cents=500)


@pytest.fixture
def clock() -> ManualClock:
    """Two days ago: what was made to expire within a day has, by the time it is read."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))


@pytest.fixture
def built(clocked: TopUpService, settings: Settings) -> Iterator[TopUpService]:
    """Accounts with paid and promotional grants, an expiring one and one past its expiry
    (not yet written off), a grant not yet in effect, open holds (one past its expiry),
    a debit drawing on the grants, a deficit and thresholds; built on a clock two days
    behind, read with the real one (the returned service's)."""
    day = timedelta(days=1)
    now = clocked.ctx.clock()
    clocked.credit(ACCOUNT, 1_000, reason="paid")
    clocked.credit(ACCOUNT, 250, reason="promo", category="promotional", expires_at=now + 3 * day)
    clocked.credit(ACCOUNT, 40, reason="soon", category="promotional", expires_at=now + day / 2)
    clocked.credit(ACCOUNT, 60, reason="same", category="promotional", expires_at=now + 3 * day)
    clocked.grant(ACCOUNT, 70, idempotency_key="later", effective_at=now + 5 * day)
    clocked.grant(ACCOUNT, 30, idempotency_key="first", priority=0)
    clocked.place_hold(ACCOUNT, 300, idempotency_key="hold-1", ttl_seconds=5 * 86_400)
    clocked.place_hold(ACCOUNT, 100, idempotency_key="hold-2", ttl_seconds=3_600)  # past
    clocked.debit(ACCOUNT, 45, reason="spent")
    clocked.set_low_balance_threshold(ACCOUNT, 2_000)
    clocked.open_account(BROKE)
    clocked.credit(BROKE, 100, reason="paid")
    clocked.debit(BROKE, 350, reason="over")
    clocked.open_account(EMPTY)
    service = TopUpService.from_settings(settings)
    yield service
    service.close()


def on_driver(settings: Settings, account_id: str) -> Balance:
    def handed_over() -> ledger_balances.Context:
        raise AssertionError("the driver path handed over")

    return ledger_balances.read_on_driver(settings, account_id, handed_over)


def test_the_driver_reads_the_balance_the_service_answers(
    settings: Settings, built: TopUpService
) -> None:
    for account in (ACCOUNT, BROKE, EMPTY):
        quick, full = on_driver(settings, account), built.balance(account)
        for field in dataclasses.fields(Balance):
            name = field.name
            assert getattr(quick, name) == getattr(full, name), (account, name)
        assert quick == full
    rich = built.balance(ACCOUNT)  # the case is what it says it is
    assert rich.promotional_cents
    assert rich.held_cents == 300
    assert rich.next_expiry
    assert rich.available_cents < rich.balance_cents
    assert rich.low_balance_threshold_cents == 2_000
    assert rich.below_threshold
    broke = built.balance(BROKE)
    assert (broke.deficit_cents, broke.low_balance_threshold_cents) == (250, 500)
    with pytest.raises(NotFound) as missing:
        on_driver(settings, GONE)
    with pytest.raises(NotFound) as by_service:
        built.balance(GONE)
    assert missing.value.message == by_service.value.message


def test_the_command_prints_the_service_answer_without_importing_sqlalchemy(
    settings: Settings, built: TopUpService
) -> None:
    env = cli_env(settings_env(settings)) | {"STRIPETOPUP_LOW_BALANCE_THRESHOLD_CENTS": "500"}
    for account in (ACCOUNT, BROKE, EMPTY):
        shown = run_cli(["balance", account, "--json"], env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == built.balance(account).to_json()
    for args in (["balance", ACCOUNT], ["balance", ACCOUNT, "--json"], ["balance", GONE]):
        _, loaded = imported_by_cli(args, env)
        assert not [name for name in loaded if name.split(".")[0] == "sqlalchemy"], args
        assert ("psycopg" if "postgresql" in settings.database_url else "sqlite3") in loaded


# A read that never writes, in one snapshot ------------------------------------------------


def test_a_read_is_read_only_in_one_snapshot(settings: Settings, built: TopUpService) -> None:
    with driver_reads.reading(settings.database_url) as reader:
        if reader.dialect == "sqlite":
            assert reader.rows("PRAGMA query_only") == [(1,)]
        else:
            assert reader.rows("SHOW transaction_read_only") == [("on",)]
            assert reader.rows("SHOW transaction_isolation") == [("repeatable read",)]


def test_a_missing_sqlite_file_is_not_created_but_migrated_by_the_engine_as_ever(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    path = tmp_path / "new.db"
    with pytest.raises(HandOver), driver_reads.reading(f"sqlite:///{path}"):
        pass
    assert not path.exists()
    env = cli_env(settings_env(make_settings(f"sqlite:///{path}", emulator.url)))
    shown = run_cli(["balance", GONE], env)
    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr == (
        f"Error: unknown account: {GONE}; open it with: stripetopup accounts create {GONE}\n"
    )
    engine = engines.create_db_engine(f"sqlite:///{path}")
    assert schema.current_revision(engine) == schema.HEAD_REVISION
    engine.dispose()


# The engine path's answers where the driver hands over -----------------------------------


def test_a_schema_at_another_revision_is_refused_as_by_every_command(
    settings: Settings, built: TopUpService
) -> None:
    with built.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0009_earlier'")
    try:
        env = cli_env(settings_env(settings))
        quick, full = run_cli(["balance", ACCOUNT], env), run_cli(["ledger", ACCOUNT], env)
        assert quick.returncode == full.returncode == 1
        assert quick.stderr == full.stderr
        assert quick.stderr.startswith("Error: database schema is at 0009_earlier, this version")
        with pytest.raises(DatabaseError):
            on_driver_or_engine(settings, ACCOUNT)
    finally:
        with built.engine.begin() as connection:
            connection.exec_driver_sql(
                f"UPDATE alembic_version SET version_num = '{schema.HEAD_REVISION}'"
            )


def on_driver_or_engine(settings: Settings, account_id: str) -> Balance:
    """The CLI's read: the driver, else a bare context's engine (its schema checked)."""
    from stripetopup.cli import context

    try:
        return ledger_balances.read_on_driver(settings, account_id, lambda: context.reads(settings))
    finally:
        context.close_all()


@pytest.mark.parametrize("query", ["", "?connect_timeout=5"])
def test_an_unreachable_postgres_is_said_as_the_engine_says_it_without_secrets(
    query: str, emulator: EmulatorServer
) -> None:
    url = f"postgresql://bob:sekrit@127.0.0.1:{free_port()}/ledger{query}"
    env = cli_env(settings_env(make_settings("sqlite:///unused.db", emulator.url)))
    env["DATABASE_URL"] = url
    quick, full = run_cli(["balance", ACCOUNT], env), run_cli(["ledger", ACCOUNT], env)
    assert (quick.returncode, quick.stdout) == (1, "")
    assert quick.stderr == full.stderr
    assert quick.stderr.startswith("Error: database unreachable at PostgreSQL 127.0.0.1:")
    assert "sekrit" not in quick.stderr
    assert "bob" not in quick.stderr
    assert "Traceback" not in quick.stderr


def test_an_sqlite_file_that_cannot_be_opened_is_said_as_the_engine_says_it(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'stripetopup.db'}"
    env = cli_env(settings_env(make_settings(url, emulator.url)))
    quick, full = run_cli(["balance", ACCOUNT], env), run_cli(["ledger", ACCOUNT], env)
    assert (quick.returncode, quick.stdout) == (1, "")
    assert quick.stderr == full.stderr
    assert quick.stderr.startswith("Error: database unreachable at SQLite file ")


def test_a_sqlite_file_that_is_not_a_database_is_said_as_the_engine_says_it(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, but long enough to be read as one's header\n" * 20)
    with pytest.raises(HandOver), driver_reads.reading(f"sqlite:///{path}"):
        pass
    env = cli_env(settings_env(make_settings(f"sqlite:///{path}", emulator.url)))
    quick, full = run_cli(["balance", ACCOUNT], env), run_cli(["ledger", ACCOUNT], env)
    assert quick.returncode == full.returncode
    assert quick.stderr == full.stderr
    assert "Traceback" not in quick.stderr
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT 1 FROM sqlite_master").fetchall()
