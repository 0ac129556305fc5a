"""A re-delivery of an event already applied: answered from a read on the event loop (or
from what the process remembers of its own credits), never waiting for the writer, with
the first credit's answer; its attempt is counted a moment later, and before the writer
ends. Both databases, uvicorn on loopback, every delivery really signed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.core.events import redeliveries
from stripetopup.core.events.redeliveries import FRESH_SECONDS, Answers, Tally
from stripetopup.core.events.types import EventOutcome
from stripetopup.models import EventResult
from stripetopup.store.settled_reads import PG_OPTIONS, SettledReads
from stripetopup.stripe_objects import Event
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, OLD_SECRET, Running
from tests.support.clock import ManualClock
from tests.support.servers import serve_in_thread, wait_for
from tests.support.stripe_events import body, checkout_session, event, sign

# Waits on the real clock (the count's moment, a held lock) get generous margins: the
# answers themselves never depend on them.
DEADLINE_SECONDS = 30


def deliver(http: httpx.Client, payload: bytes, secret: str = NEW_SECRET) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)}
    return http.post("/billing/webhook", content=payload, headers=headers)


def retried(amount: int) -> dict[str, Any]:
    """A paid session's event as Stripe retries it: created an hour ago (an event younger
    than ``FRESH_SECONDS`` is on its first delivery, and is not read for)."""
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, amount))
    evt["created"] -= 3600
    return evt


def entries(service: TopUpService) -> int:
    with service.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar_one())


def attempts_become(service: TopUpService, event_id: str, expected: int) -> int:
    """The record's attempts once they reach ``expected`` (or whatever they are at the
    deadline, for the assertion to show)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (seen := service.event(event_id).attempts) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def test_a_redelivery_answers_already_applied_and_its_attempts_are_counted(
    running: Running,
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 700))
    payload = body(evt)
    first = deliver(running.http, payload)
    assert (first.status_code, first.json()["result"]) == (200, "credited")
    for secret in (NEW_SECRET, OLD_SECRET):  # Stripe's retries, signed again each time
        again = deliver(running.http, payload, secret)
        assert again.status_code == 200, again.text
        expected = {"received": True, "result": "already_applied", "event_id": evt["id"]}
        assert again.json() == expected
    assert running.service.balance(ACCOUNT).balance_cents == 700
    assert entries(running.service) == 1
    assert attempts_become(running.service, evt["id"], 3) == 3
    record = running.service.event(evt["id"])
    assert (record.outcome, record.secret_label) == ("credited", "old")  # the last to verify


@contextmanager
def writer_held(service: TopUpService, event_id: str) -> Iterator[None]:
    """The database's write side held by another connection: SQLite's write lock, or on
    PostgreSQL the event's record locked. A delivery that needs the writer waits."""
    if service.engine.dialect.name == "sqlite":
        database = service.engine.url.database
        assert database is not None
        holder = sqlite3.connect(database, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    with service.engine.connect() as connection, connection.begin():
        connection.execute(
            sa.text("SELECT id FROM webhook_events WHERE event_id = :e FOR UPDATE"),
            {"e": event_id},
        )
        yield


@pytest.mark.parametrize(
    "first_door",
    [
        # Credited in-process (another door): the server knows nothing of it, so it reads.
        "in-process",
        # Credited by this server: it remembers its own credit and reads nothing.
        "this server",
    ],
)
def test_a_redelivery_is_answered_while_the_writer_waits_for_a_lock(
    running: Running, first_door: str
) -> None:
    evt = retried(300)
    payload = body(evt)
    if first_door == "in-process":
        first = running.service.handle_webhook(payload, sign(payload, NEW_SECRET)).result
    else:
        first = deliver(running.http, payload).json()["result"]
    assert first == "credited"
    # The writer's way would wait for the lock (SQLite: its 30 s busy timeout; PostgreSQL:
    # as long as it is held), past this client's timeout; the read does not.
    with (
        writer_held(running.service, evt["id"]),
        httpx.Client(base_url=running.url, timeout=DEADLINE_SECONDS / 2) as http,
    ):
        again = deliver(http, payload)
        assert (again.status_code, again.json()["result"]) == (200, "already_applied")
    assert attempts_become(running.service, evt["id"], 2) == 2  # counted once it was let go
    assert running.service.balance(ACCOUNT).balance_cents == 300


def test_attempts_tallied_before_shutdown_are_counted_when_the_writer_stops(
    service: TopUpService,
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 400))
    payload = body(evt)
    with (
        serve_in_thread(create_app(service), lifespan="on") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert deliver(http, payload).json()["result"] == "credited"
        for _ in range(3):
            assert deliver(http, payload).json()["result"] == "already_applied"
    # The server has stopped: its lifespan stopped the writer, which counted what it held.
    assert service.event(evt["id"]).attempts == 4


def test_the_same_event_id_on_another_body_is_not_answered_from_memory(
    running: Running,
) -> None:
    """A body that reuses a credited event's id for another session (only a holder of the
    signing secret can make one) is not answered from what the server keeps: the writer
    decides it, as it would on a server that kept nothing (a session is credited once,
    whatever event names it)."""
    evt = retried(600)
    assert deliver(running.http, body(evt)).json()["result"] == "credited"
    other = retried(900)
    other["id"] = evt["id"]
    assert deliver(running.http, body(other)).json()["result"] == "credited"
    assert deliver(running.http, body(other)).json()["result"] == "already_applied"
    assert running.service.balance(ACCOUNT).balance_cents == 1500
    assert entries(running.service) == 2


def _outcome(event_id: str, event_type: str = "checkout.session.completed") -> EventOutcome:
    return EventOutcome(event_id, event_type, EventResult.ALREADY_APPLIED, "again", entry_id=1)


def _event(event_id: str, session_id: str, event_type: str) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "data": {"object": {"id": session_id}}}


def test_kept_answers_match_the_event_id_session_and_type_and_forget_the_oldest() -> None:
    answers = Answers(most=2)
    completed = "checkout.session.completed"
    answers.add("cs_a", _outcome("evt_a"))
    assert answers.of(_event("evt_a", "cs_a", completed)) == _outcome("evt_a")
    assert answers.of(_event("evt_a", "cs_other", completed)) is None
    assert answers.of(_event("evt_a", "cs_a", "checkout.session.expired")) is None
    assert answers.of(_event("evt_b", "cs_a", completed)) is None
    answers.add("cs_b", _outcome("evt_b"))
    answers.add("cs_c", _outcome("evt_c"))  # over the limit: evt_a, the oldest, goes
    assert answers.of(_event("evt_a", "cs_a", completed)) is None
    assert answers.of(_event("evt_b", "cs_b", completed)) is not None
    assert answers.of(_event("evt_c", "cs_c", completed)) is not None


def test_a_tally_merges_by_event_and_keeps_the_last_verifying_secret() -> None:
    tally = Tally(count_after=60)
    assert tally.due_in() is None
    assert tally.add("evt_a", "new") is True  # the first: the writer is told
    assert tally.add("evt_a", None) is False
    assert tally.add("evt_b", "old") is False
    due = tally.due_in()
    assert due is not None
    assert 0 < due <= 60
    taken = tally.take()
    assert (taken["evt_a"].count, taken["evt_a"].secret_label) == (2, "new")
    assert (taken["evt_b"].count, taken["evt_b"].secret_label) == (1, "old")
    assert tally.due_in() is None
    tally.add("evt_a", "old")  # counted again while the first count failed
    tally.give_back(taken, retry_after=5)
    again = tally.take()
    assert (again["evt_a"].count, again["evt_a"].secret_label) == (3, "old")
    assert again["evt_b"].count == 1


def test_a_count_that_failed_waits_its_retry_even_when_more_attempts_come() -> None:
    tally = Tally(count_after=0.25)
    tally.add("evt_a", None)
    taken = tally.take()  # the count is attempted, and fails
    tally.add("evt_b", None)  # a re-delivery meanwhile: due in a quarter second by itself
    tally.give_back(taken, retry_after=120)
    due = tally.due_in()
    assert due is not None
    assert due > 60  # the retry's wait, not the quarter second (margin for a slow machine)
    assert set(tally.take()) == {"evt_a", "evt_b"}


def test_an_in_memory_sqlite_database_has_no_settled_reads() -> None:
    # A second connection to sqlite:// opens another, empty database: every delivery
    # then goes to the writer.
    assert not SettledReads.usable(sa.create_engine("sqlite://"))
    assert SettledReads.usable(sa.create_engine("sqlite:////tmp/stripetopup.db"))


_OURS = "datname = current_database() AND application_name = :name"


def _terminate_settled_reads(service: TopUpService) -> datetime:
    """Kill every settled-read connection to the test database from PostgreSQL's side, as
    a restart or an idle timeout would; PostgreSQL's time just after."""
    with service.engine.connect() as connection:
        killed = connection.execute(
            sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {_OURS}"),
            {"name": PG_OPTIONS["application_name"]},
        ).all()
        assert killed  # the server had one open
        moment: datetime = connection.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
    return moment


def _settled_reads_opened_since(service: TopUpService, moment: datetime) -> int:
    with service.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    f"SELECT count(*) FROM pg_stat_activity WHERE {_OURS} AND backend_start > :t"
                ),
                {"name": PG_OPTIONS["application_name"], "t": moment},
            ).scalar_one()
        )


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_read_connection_postgresql_dropped_is_replaced_and_no_delivery_is_lost(
    service: TopUpService,
) -> None:
    payloads = []
    for amount in (100, 200, 300):
        payload = body(retried(amount))
        assert service.handle_webhook(payload, sign(payload, NEW_SECRET)).result == "credited"
        payloads.append(payload)
    with (
        serve_in_thread(create_app(service), lifespan="on") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert deliver(http, payloads[0]).json()["result"] == "already_applied"  # read
        killed_at = _terminate_settled_reads(service)
        # The read fails on the dead connection: the writer answers it, the same way.
        assert deliver(http, payloads[1]).json()["result"] == "already_applied"
        assert deliver(http, payloads[2]).json()["result"] == "already_applied"  # reconnected
        assert _settled_reads_opened_since(service, killed_at) == 1
    assert [service.event(json.loads(p)["id"]).attempts for p in payloads] == [2, 2, 2]
    assert service.balance(ACCOUNT).balance_cents == 600


def test_a_fresh_event_is_left_to_the_writer_and_answered_the_same(
    service: TopUpService,
) -> None:
    """Credited in-process, then re-delivered at once to a server that knows nothing of
    it: an event that young is on its first delivery nearly always, so it is not read for
    (on either database); it waits for the writer, whose duplicate check answers it
    ``already_applied`` once the write side is free, and credits nothing twice."""
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 400))
    assert evt["created"] > time.time() - FRESH_SECONDS / 2  # margin on a loaded machine
    payload = body(evt)
    assert service.handle_webhook(payload, sign(payload, NEW_SECRET)).result == "credited"
    app = create_app(service)
    writer = app.state.webhook_writer
    with (
        serve_in_thread(app, lifespan="on") as url,
        httpx.Client(base_url=url, timeout=DEADLINE_SECONDS) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        with writer_held(service, evt["id"]):
            again = pool.submit(deliver, http, payload)
            # It reached the writer's batch (a read would have answered it, writer or not).
            reached = wait_for(lambda: writer.applying() > 0 or again.done(), DEADLINE_SECONDS)
            assert reached, "the delivery never reached the writer"
            assert not again.done()
        answer = again.result(DEADLINE_SECONDS)
        assert (answer.status_code, answer.json()["result"]) == (200, "already_applied")
    assert attempts_become(service, evt["id"], 2) == 2
    assert service.balance(ACCOUNT).balance_cents == 400
    assert entries(service) == 1


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (0, True),  # this very second
        (-int(FRESH_SECONDS) + 1, True),
        (-int(FRESH_SECONDS), False),  # from FRESH_SECONDS on, Stripe may be retrying
        (3600, True),  # "in the future": a clock behind Stripe's
        ("0", False),  # not a number of seconds: read, as before
        (True, False),
        (None, False),
    ],
)
def test_fresh_is_the_events_age_on_the_services_clock(
    clocked: TopUpService, clock: ManualClock, created: object, expected: bool
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT))
    seconds = isinstance(created, int) and not isinstance(created, bool)
    evt["created"] = clock.timestamp() + created if seconds else created
    assert redeliveries.fresh(clocked.ctx, Event.parse(evt)) is expected
