"""Group commit: the webhook's writer applies queued deliveries as one transaction.

Real uvicorn on 127.0.0.1, real signed deliveries, both databases. To put several
deliveries in one batch for certain, the test holds the database's write path (SQLite:
the write-lock file every writer takes; PostgreSQL: the accounts table, which every
credit locks a row of) while a first delivery starts a batch, queues the others behind
it, then lets go: the writer takes all that is queued as the next batch.

Failures are made for real by the database: a trigger refuses a credit of 6.66 when it
is inserted (that event fails alone), and another makes a credit of 7.77 violate a
deferred foreign key, which the database reports at COMMIT (the whole batch fails).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.engines import BATCH_APPLICATION_NAME
from stripetopup.web.app import create_app
from stripetopup.web.webhook_writer import WebhookWriter
from tests.conftest import ACCOUNT, NEW_SECRET
from tests.support.servers import serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign

REFUSED_CENTS = 666  # refused by a trigger when inserted: the event fails alone
AT_COMMIT_CENTS = 777  # violates a deferred foreign key: the COMMIT fails
OTHER = "acct-bob"

SQLITE_GUARDS = [
    "CREATE TABLE test_missing (id INTEGER PRIMARY KEY)",
    "CREATE TABLE test_commit_guard (id INTEGER PRIMARY KEY, missing INTEGER"
    " REFERENCES test_missing(id) DEFERRABLE INITIALLY DEFERRED)",
    f"CREATE TRIGGER test_refuse BEFORE INSERT ON ledger_entries"
    f" WHEN NEW.amount_cents = {REFUSED_CENTS}"
    " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
    f"CREATE TRIGGER test_refuse_at_commit AFTER INSERT ON ledger_entries"
    f" WHEN NEW.amount_cents = {AT_COMMIT_CENTS}"
    " BEGIN INSERT INTO test_commit_guard (missing) VALUES (1); END",
]
SQLITE_DROPS = [
    "DROP TRIGGER IF EXISTS test_refuse",
    "DROP TRIGGER IF EXISTS test_refuse_at_commit",
    "DROP TABLE IF EXISTS test_commit_guard",
    "DROP TABLE IF EXISTS test_missing",
]
PG_GUARDS = [
    "CREATE TABLE test_missing (id INTEGER PRIMARY KEY)",
    "CREATE TABLE test_commit_guard (id SERIAL PRIMARY KEY, missing INTEGER"
    " REFERENCES test_missing(id) DEFERRABLE INITIALLY DEFERRED)",
    "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation';"
    " END $$",
    "CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO test_commit_guard (missing) VALUES (1); RETURN NEW; END $$",
    f"CREATE TRIGGER test_refuse BEFORE INSERT ON ledger_entries FOR EACH ROW"
    f" WHEN (NEW.amount_cents = {REFUSED_CENTS}) EXECUTE FUNCTION test_refuse()",
    f"CREATE TRIGGER test_refuse_at_commit AFTER INSERT ON ledger_entries FOR EACH ROW"
    f" WHEN (NEW.amount_cents = {AT_COMMIT_CENTS}) EXECUTE FUNCTION test_refuse_at_commit()",
]
PG_DROPS = [
    "DROP TRIGGER IF EXISTS test_refuse ON ledger_entries",
    "DROP TRIGGER IF EXISTS test_refuse_at_commit ON ledger_entries",
    "DROP FUNCTION IF EXISTS test_refuse()",
    "DROP FUNCTION IF EXISTS test_refuse_at_commit()",
    "DROP TABLE IF EXISTS test_commit_guard",
    "DROP TABLE IF EXISTS test_missing",
]


@pytest.fixture
def reader(database_url: str) -> Iterator[sa.Engine]:
    """A plain engine of the test's own: reads what is committed, as another process would."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def guarded(service: TopUpService, reader: sa.Engine) -> Iterator[TopUpService]:
    """``service`` with the two test triggers installed (and removed after)."""
    postgres = reader.dialect.name == "postgresql"
    with reader.begin() as connection:
        for statement in PG_GUARDS if postgres else SQLITE_GUARDS:
            connection.exec_driver_sql(statement)
    try:
        yield service
    finally:
        with reader.begin() as connection:
            for statement in PG_DROPS if postgres else SQLITE_DROPS:
                connection.exec_driver_sql(statement)


@pytest.fixture
def app_url(guarded: TopUpService) -> Iterator[tuple[str, WebhookWriter]]:
    guarded.open_account(OTHER)
    app = create_app(guarded)
    with serve_in_thread(app) as url:
        yield url, app.state.webhook_writer
        app.state.webhook_writer.stop()


def paid(account: str, cents: int) -> dict[str, Any]:
    return event("checkout.session.completed", checkout_session(account, cents))


def post(url: str, evt: dict[str, Any]) -> httpx.Response:
    payload = body(evt)
    headers = {"Stripe-Signature": sign(payload, NEW_SECRET)}
    return httpx.post(url + "/billing/webhook", content=payload, headers=headers, timeout=60)


def source_of(evt: dict[str, Any]) -> str:
    return f"checkout_session:{evt['data']['object']['id']}"


def credits(reader: sa.Engine, evt: dict[str, Any]) -> int:
    with reader.connect() as connection:
        query = sa.text("SELECT count(*) FROM ledger_entries WHERE source = :source")
        return int(connection.execute(query, {"source": source_of(evt)}).scalar_one())


def outcome_of(reader: sa.Engine, evt: dict[str, Any]) -> str | None:
    with reader.connect() as connection:
        query = sa.text("SELECT outcome FROM webhook_events WHERE event_id = :id")
        row = connection.execute(query, {"id": evt["id"]}).first()
    return None if row is None else str(row[0])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextmanager
def write_path_held(service: TopUpService, reader: sa.Engine) -> Iterator[None]:
    """Every webhook writer of this database waits until the block ends."""
    if reader.dialect.name == "postgresql":
        with reader.connect() as connection:
            transaction = connection.begin()
            connection.exec_driver_sql("LOCK TABLE accounts IN EXCLUSIVE MODE")
            try:
                yield
            finally:
                transaction.rollback()
        return
    path = f"{os.path.abspath(str(service.engine.url.database))}.writelock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def one_batch(
    url: str,
    writer: WebhookWriter,
    service: TopUpService,
    reader: sa.Engine,
    events: list[dict[str, Any]],
    on_answer: Callable[[dict[str, Any], httpx.Response], Any] | None = None,
) -> list[Any]:
    """Deliver ``events`` concurrently so that the writer applies them as one batch.

    Returns what ``on_answer`` made of each answer, the moment it arrived (the answer
    itself without it).
    """

    def send(evt: dict[str, Any]) -> Any:
        answer = post(url, evt)
        return on_answer(evt, answer) if on_answer is not None else answer

    with ThreadPoolExecutor(len(events) + 1) as pool:
        with write_path_held(service, reader):
            blocker: Future[Any] = pool.submit(send, paid(OTHER, 100))
            wait_until(lambda: writer.applying() == 1, "the first batch to start")
            futures = [pool.submit(send, evt) for evt in events]
            wait_until(lambda: writer.queued() == len(events), "every delivery to queue")
        first = blocker.result(60)
        assert (first.status_code if isinstance(first, httpx.Response) else 200) == 200
        return [future.result(60) for future in futures]


def test_each_answer_comes_after_its_commit(
    app_url: tuple[str, WebhookWriter], guarded: TopUpService, reader: sa.Engine
) -> None:
    url, writer = app_url
    events = [paid(ACCOUNT, 100 + n) for n in range(20)]

    def seen_on_answer(evt: dict[str, Any], answer: httpx.Response) -> tuple[int, int]:
        # Read from another connection the moment the 200 arrives: the credit is there.
        return answer.status_code, credits(reader, evt)

    answers = one_batch(url, writer, guarded, reader, events, seen_on_answer)
    assert answers == [(200, 1)] * len(events)
    assert guarded.balance(ACCOUNT).balance_cents == sum(100 + n for n in range(20))
    assert [outcome_of(reader, evt) for evt in events] == ["credited"] * len(events)
    assert guarded.verify_ledger().ok


def test_an_event_the_database_refuses_fails_alone(
    app_url: tuple[str, WebhookWriter], guarded: TopUpService, reader: sa.Engine
) -> None:
    url, writer = app_url
    good = [paid(ACCOUNT, 200 + n) for n in range(6)]
    bad = paid(ACCOUNT, REFUSED_CENTS)
    events = [*good[:3], bad, *good[3:]]
    answers = one_batch(url, writer, guarded, reader, events)
    codes = {evt["id"]: answer.status_code for evt, answer in zip(events, answers, strict=True)}
    assert codes == {**{evt["id"]: 200 for evt in good}, bad["id"]: 500}
    assert answers[3].json()["error"]["code"] == "processing_failed"
    assert [credits(reader, evt) for evt in good] == [1] * len(good)
    assert credits(reader, bad) == 0
    assert outcome_of(reader, bad) == "failed"
    assert guarded.balance(ACCOUNT).balance_cents == sum(200 + n for n in range(6))
    assert guarded.verify_ledger().ok


def test_a_failed_commit_fails_every_delivery_of_the_batch(
    app_url: tuple[str, WebhookWriter], guarded: TopUpService, reader: sa.Engine
) -> None:
    url, writer = app_url
    good = [paid(ACCOUNT, 300 + n) for n in range(5)]
    poison = paid(ACCOUNT, AT_COMMIT_CENTS)
    answers = one_batch(url, writer, guarded, reader, [*good, poison])
    assert all(answer.status_code >= 500 for answer in answers), [a.text for a in answers]
    assert [credits(reader, evt) for evt in [*good, poison]] == [0] * 6
    assert {outcome_of(reader, evt) for evt in good} == {"failed"}
    # Stripe retries: without the poison in its batch, each is credited, once.
    assert [post(url, evt).status_code for evt in good] == [200] * 5
    assert [credits(reader, evt) for evt in good] == [1] * 5
    assert guarded.balance(ACCOUNT).balance_cents == sum(300 + n for n in range(5))
    assert guarded.verify_ledger().ok


def test_duplicates_inside_one_batch_credit_once(
    app_url: tuple[str, WebhookWriter], guarded: TopUpService, reader: sa.Engine
) -> None:
    url, writer = app_url
    first, second = paid(ACCOUNT, 400), paid(OTHER, 401)
    events = [first, second] * 8
    answers = one_batch(url, writer, guarded, reader, events)
    assert [answer.status_code for answer in answers] == [200] * len(events)
    results = sorted(answer.json()["result"] for answer in answers)
    assert results == ["already_applied"] * 14 + ["credited"] * 2
    assert (credits(reader, first), credits(reader, second)) == (1, 1)
    assert guarded.balance(ACCOUNT).balance_cents == 400
    assert guarded.balance(OTHER).balance_cents == 100 + 401  # the blocker's 1.00 too
    assert guarded.verify_ledger().ok


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_connection_killed_mid_batch_is_retried_on_a_fresh_one(
    app_url: tuple[str, WebhookWriter], guarded: TopUpService, reader: sa.Engine
) -> None:
    """pg_terminate_backend of the writer's connection while it waits inside a batch: the
    batch pool does not ping, so the batch finds the connection dead, and applies again
    on a new one (every delivery answered 200, credited once)."""
    url, writer = app_url
    events = [paid(ACCOUNT, 500 + n) for n in range(5)]
    with ThreadPoolExecutor(len(events)) as pool, reader.connect() as locker:
        held = locker.begin()
        locker.exec_driver_sql("LOCK TABLE accounts IN EXCLUSIVE MODE")
        futures = [pool.submit(post, url, evt) for evt in events]
        waiting = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND application_name = :name"
        )
        pids: list[int] = []

        def writer_waits() -> bool:
            # A connection of its own each time: inside the locker's transaction,
            # pg_stat_activity stays as it was at its first read.
            with reader.connect() as watcher:
                found = watcher.execute(waiting, {"name": BATCH_APPLICATION_NAME}).scalars()
                pids[:] = [int(p) for p in found]
            return bool(pids) and writer.applying() + writer.queued() == len(events)

        wait_until(writer_waits, "the writer to wait on the lock with every delivery")
        assert writer.applying() >= 1
        for pid in pids:
            locker.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        held.rollback()
        answers = [future.result(60) for future in futures]
    assert [a.status_code for a in answers] == [200] * len(events)
    assert {a.json()["result"] for a in answers} == {"credited"}
    assert [credits(reader, evt) for evt in events] == [1] * len(events)
    assert [post(url, evt).json()["result"] for evt in events] == ["already_applied"] * 5
    assert guarded.verify_ledger().ok


def test_the_writer_drains_its_queue_on_stop(guarded: TopUpService, reader: sa.Engine) -> None:
    app = create_app(guarded)
    writer: WebhookWriter = app.state.webhook_writer
    events = [paid(ACCOUNT, 600 + n) for n in range(4)]
    with serve_in_thread(app) as url, ThreadPoolExecutor(4) as pool:
        with write_path_held(guarded, reader):
            futures = [pool.submit(post, url, evt) for evt in events]
            wait_until(lambda: writer.applying() + writer.queued() == 4, "the deliveries")
            stopper = threading.Thread(target=writer.stop)
            stopper.start()
        stopper.join(30)
        assert [future.result(60).status_code for future in futures] == [200] * 4
    assert [credits(reader, evt) for evt in events] == [1] * 4
