"""The fast credit (``core/events/fast_credit.apply``) writes exactly what the general path
writes, on both databases, or nothing at all.

Each case runs twice on a fresh database: once through ``process.apply`` (the general path)
and once through ``fast_credit.apply`` inside a transaction and a savepoint, as the
group-commit writer will call it (falling back to the general path when it answers None).
Every table is then compared row by row, surrogate ids included (both runs insert in the
same order on a fresh database). Ignored are only the columns stamped by the wall clock
(``dates.utcnow``: when a row was written, which two runs cannot share); the ids drawn at
random (grant and message ids) are compared by where they first appear. Everything the
core's clock decides (grant times, outbound event times) is compared exactly: the clock is
a ``ManualClock``.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from stripetopup.core import TopUpService
from stripetopup.core.events import batch, fast_credit, process
from stripetopup.core.events.credit import credit_session
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.recharge import consent
from stripetopup.core.recharge.types import ConsentDoor
from stripetopup.db import create_db_engine, run_in_transaction
from stripetopup.emulator import EmulatorServer
from stripetopup.errors import InvalidAmount
from stripetopup.models import MAX_INTEGER, EventResult
from stripetopup.stripe_objects import CheckoutSession, Event
from tests.conftest import ACCOUNT, make_settings
from tests.support import stripe_events
from tests.support.clock import ManualClock

# Columns stamped with dates.utcnow (the moment of writing): they must differ between runs.
WALL_CLOCK = {
    "accounts": {"created_at", "updated_at"},
    "ledger_entries": {"created_at"},
    "stripe_payments": {"updated_at", "resolved_at"},
    "webhook_events": {"received_at", "processed_at"},
    "payment_resolutions": {"created_at"},
}
RANDOM_IDS = re.compile(r"grant_[0-9a-f]{24}|msg_[0-9A-HJKMNP-TV-Z]{26}")


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return stripe_events.event(kind, obj)


def paid(amount: int = 500, account: str | None = ACCOUNT, **kw: Any) -> dict[str, Any]:
    return stripe_events.checkout_session(account, amount, **kw)


@dataclass
class Case:
    """Set-up (through the service) and the events, delivered in order."""

    events: list[dict[str, Any]]
    setup: Callable[[TopUpService], None] = lambda service: None
    settings: dict[str, Any] = field(default_factory=dict)
    # How many of the events the fast path must take (the rest answer None).
    fast: int | None = None
    replay: bool = False  # applied as `replay` applies them (counted as replays)


def _with_tax() -> Case:
    session = paid(550)
    session["total_details"] = {"amount_discount": 100, "amount_shipping": 0, "amount_tax": 50}
    return Case(
        [event("checkout.session.completed", session)], settings={"discount_credit": "undiscounted"}
    )


def _duplicate() -> Case:
    first = event("checkout.session.completed", paid())
    return Case([first, copy.deepcopy(first), copy.deepcopy(first)], fast=3)


def _async() -> Case:
    unpaid = paid(700, payment_status="unpaid")
    later = {**unpaid, "payment_status": "paid"}
    return Case(
        [
            event("checkout.session.completed", unpaid),
            event("checkout.session.async_payment_succeeded", later),
        ],
        fast=1,
    )


def _threshold(service: TopUpService) -> None:
    service.set_low_balance_threshold(ACCOUNT, 1000)  # below at once: balance.low


def _deficit(service: TopUpService) -> None:
    service.debit(ACCOUNT, 300, reason="spent first", idempotency_key="debt-1")  # a deficit


def _two_events_one_session() -> Case:
    session = paid(900)
    return Case(
        [
            event("checkout.session.completed", session),
            event("checkout.session.async_payment_succeeded", copy.deepcopy(session)),
        ],
        fast=2,
    )


CASES: dict[str, Callable[[], Case]] = {
    "first credit": lambda: Case([event("checkout.session.completed", paid())], fast=1),
    "tax and discount": _with_tax,
    "paid credit expires": lambda: Case(
        [event("checkout.session.completed", paid(1200))],
        settings={"paid_credit_expires": "30d"},
        fast=1,
    ),
    "duplicate": _duplicate,
    "threshold flips": lambda: Case(
        [event("checkout.session.completed", paid(1500))], setup=_threshold, fast=1
    ),
    "threshold stays below": lambda: Case(
        [event("checkout.session.completed", paid(200))], setup=_threshold, fast=1
    ),
    "settles a deficit": lambda: Case(
        [event("checkout.session.completed", paid(500))], setup=_deficit, fast=1
    ),
    "async payment succeeded": _async,
    "replayed twice": lambda: Case(
        [event("checkout.session.completed", paid(300))] * 2, replay=True, fast=2
    ),
    "second event, same session": _two_events_one_session,
}


@dataclass
class Databases:
    """A fresh database per run: a new SQLite file, or the PostgreSQL database emptied."""

    url: str
    tmp_path: Path
    template: Path | None
    runs: int = 0

    def fresh(self) -> str:
        self.runs += 1
        if self.template is None:
            engine = create_db_engine(self.url)
            names = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
            with engine.begin() as connection:
                tables = ", ".join(f'"{name}"' for name in names)
                connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            engine.dispose()
            return self.url
        path = self.tmp_path / f"run{self.runs}.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"


@pytest.fixture
def databases(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Databases:
    template = None
    if database_url.startswith("sqlite"):
        template = request.getfixturevalue("sqlite_template")
    return Databases(database_url, tmp_path, template)


@dataclass
class Run:
    service: TopUpService
    outcomes: list[EventOutcome] = field(default_factory=list)
    fast: int = 0  # events the fast path took


def general(run: Run, evt: dict[str, Any], *, replay: bool = False) -> EventOutcome:
    """The ORM's way: ``process.apply``'s batch of one, with the fast credit left out (the
    batch would otherwise try it first, and compare it with itself)."""
    ctx = run.service.ctx
    process.check_shape(evt)
    item = batch.prepare(
        ctx, evt, actor="webhook", payload=json.dumps(evt), secret_label="new", replay=replay
    )
    (result,) = batch.apply_batch(ctx, [item], fast=False)
    return process.answer(item, result)


def fast_only(
    service: TopUpService, evt: dict[str, Any], *, replay: bool = False
) -> EventOutcome | None:
    """The fast path as the writer calls it: a transaction, a savepoint, then commit."""
    with service.engine.begin() as connection, connection.begin_nested():
        return fast_credit.apply(
            connection,
            service.ctx,
            Event.parse(evt),
            actor="webhook",
            payload=json.dumps(evt),
            secret_label="new",
            replay=replay,
        )


def fast(run: Run, evt: dict[str, Any], *, replay: bool = False) -> EventOutcome:
    outcome = fast_only(run.service, evt, replay=replay)
    if outcome is None:
        return general(run, evt, replay=replay)
    run.fast += 1
    return outcome


@pytest.fixture
def start(databases: Databases, emulator: EmulatorServer) -> Iterator[Callable[..., TopUpService]]:
    opened: list[TopUpService] = []
    begun = ManualClock()

    def open_service(**overrides: Any) -> TopUpService:
        while opened:
            opened.pop().close()
        settings = make_settings(databases.fresh(), emulator.url, **overrides)
        service = TopUpService.from_settings(settings, clock=ManualClock(begun.now))
        service.open_account(ACCOUNT)
        opened.append(service)
        return service

    yield open_service
    while opened:
        opened.pop().close()


def snapshot(service: TopUpService) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows in key order, wall-clock columns left out, random ids by order."""
    engine = service.engine
    metadata = sa.MetaData()
    metadata.reflect(engine)
    names: dict[str, str] = {}

    def stable(value: Any) -> Any:
        if isinstance(value, str):
            return RANDOM_IDS.sub(lambda m: names.setdefault(m.group(), f"<id{len(names)}>"), value)
        return value

    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name in sorted(metadata.tables):
            if name == "alembic_version":
                continue
            table = metadata.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).mappings().all()
            skip = WALL_CLOCK.get(name, set())
            tables[name] = [
                {key: stable(value) for key, value in row.items() if key not in skip}
                for row in rows
            ]
    return tables


def play(
    start: Callable[..., TopUpService], case: Case, apply: Callable[..., EventOutcome]
) -> tuple[Run, dict[str, Any]]:
    run = Run(start(**case.settings))
    case.setup(run.service)
    for evt in case.events:
        run.outcomes.append(apply(run, copy.deepcopy(evt), replay=case.replay))
    assert run.service.verify_ledger().ok
    return run, snapshot(run.service)


@pytest.mark.parametrize("name", list(CASES))
def test_the_fast_path_writes_what_the_general_path_writes(
    start: Callable[..., TopUpService], name: str
) -> None:
    case = CASES[name]()
    slow_run, slow_rows = play(start, case, general)
    fast_run, fast_rows = play(start, case, fast)
    assert fast_run.fast == (case.fast if case.fast is not None else len(case.events))
    assert fast_run.outcomes == slow_run.outcomes
    for table in slow_rows:
        assert fast_rows[table] == slow_rows[table], table
    assert any(slow_rows["ledger_entries"]), "every case credits something"


def test_the_cases_move_what_they_say(start: Callable[..., TopUpService]) -> None:
    """The comparison above compares something: the rows the common credit writes."""
    case = CASES["threshold flips"]()
    run, rows = play(start, case, fast)
    assert [o.result for o in run.outcomes] == [EventResult.CREDITED]
    assert [e["type"] for e in rows["outbound_events"]] == [
        "balance.low",
        "balance.credited",
        "grant.created",
        "balance.recovered",
    ]
    assert rows["accounts"][0]["balance_cents"] == 1500
    assert rows["accounts"][0]["below_threshold"] in (False, 0)
    assert rows["stripe_payments"][0]["state"] == "credited"
    assert rows["webhook_events"][0]["outcome"] == "credited"
    assert rows["credit_grants"][0]["remaining_cents"] == 1500
    _, deficit_rows = play(start, CASES["settles a deficit"](), fast)
    assert [d["amount_cents"] for d in deficit_rows["grant_draws"]] == [300, -300, 300]
    assert deficit_rows["credit_grants"][0]["remaining_cents"] == 200


def test_a_duplicate_counts_an_attempt_and_answers_the_first_outcome(
    start: Callable[..., TopUpService],
) -> None:
    service = start()
    evt = event("checkout.session.completed", paid(800))
    first = fast_only(service, evt)
    assert first is not None
    assert first.result == EventResult.CREDITED
    again = fast_credit.apply_duplicate
    with service.engine.begin() as connection:
        answer = again(
            connection,
            service.ctx,
            Event.parse(evt),
            actor="webhook",
            payload=json.dumps(evt),
            secret_label="old",
        )
    assert answer is not None
    assert (answer.result, answer.entry_id, answer.amount_cents) == (
        EventResult.ALREADY_APPLIED,
        first.entry_id,
        800,
    )
    record = service.event(evt["id"])
    assert (record.attempts, record.outcome, record.secret_label) == (2, "credited", "old")
    # A new event is no duplicate: nothing counted, nothing written.
    other = event("checkout.session.completed", paid(100))
    with service.engine.begin() as connection:
        assert (
            again(
                connection,
                service.ctx,
                Event.parse(other),
                actor="webhook",
                payload="{}",
                secret_label=None,
            )
            is None
        )
    assert len(service.events()) == 1


def _dismissed(service: TopUpService, evt: dict[str, Any]) -> None:
    unpaid = {**evt["data"]["object"], "payment_status": "unpaid"}
    process.apply(service.ctx, event("checkout.session.completed", unpaid), actor="webhook")
    service.dismiss_payment(unpaid["id"], reason="a test payment")


def _invoiced() -> dict[str, Any]:
    session = paid()
    session["invoice"] = "in_test_123"
    return event("checkout.session.completed", session)


def _saving() -> dict[str, Any]:
    session = paid()
    session["metadata"] = {**session["metadata"], **consent.metadata(ConsentDoor.API)}
    return event("checkout.session.completed", session)


REFUSED: dict[str, tuple[Callable[[], dict[str, Any]], Callable[..., None]]] = {
    "unknown account": (
        lambda: event("checkout.session.completed", paid(account="acct-nobody")),
        lambda service, evt: None,
    ),
    "no account": (
        lambda: event("checkout.session.completed", paid(account=None)),
        lambda service, evt: None,
    ),
    "wrong currency": (
        lambda: event("checkout.session.completed", paid(currency="eur")),
        lambda service, evt: None,
    ),
    "live mode": (
        lambda: event("checkout.session.completed", paid(livemode=True)),
        lambda service, evt: None,
    ),
    "unpaid": (
        lambda: event("checkout.session.completed", paid(payment_status="unpaid")),
        lambda service, evt: None,
    ),
    "expired": (
        lambda: event("checkout.session.expired", paid(payment_status="unpaid")),
        lambda service, evt: None,
    ),
    "refund": (
        lambda: event("charge.refunded", {"id": "ch_1", "object": "charge"}),
        lambda service, evt: None,
    ),
    "dismissed payment": (
        lambda: event("checkout.session.async_payment_succeeded", paid()),
        _dismissed,
    ),
    "an invoice's receipt": (_invoiced, lambda service, evt: None),
    "a card saved with consent": (_saving, lambda service, evt: None),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_it_does_not_handle_answers_none_and_writes_nothing(
    start: Callable[..., TopUpService], name: str
) -> None:
    make, setup = REFUSED[name]
    service = start()
    evt = make()
    setup(service, evt)
    before = snapshot(service)
    assert fast_only(service, evt) is None
    assert snapshot(service) == before


@pytest.mark.parametrize("other", ["fast", "general"])
def test_two_connections_racing_for_one_session_credit_it_once(
    start: Callable[..., TopUpService], other: str
) -> None:
    """Two events of one session at once (a webhook and its async twin, or the webhook and
    a landing's general credit): the unique source and the payment's lock let one credit."""
    service = start()
    session = paid(600)
    events = [
        event("checkout.session.completed", session),
        event("checkout.session.async_payment_succeeded", copy.deepcopy(session)),
    ]
    barrier = threading.Barrier(2)
    results: list[EventOutcome | None] = [None, None]
    errors: list[BaseException] = []

    def deliver(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            if index == 1 and other == "general":
                results[index] = general(Run(service), events[index])
            else:
                results[index] = fast_only(service, events[index])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(str(r.result) for r in results if r is not None) == [
        "already_applied",
        "credited",
    ]
    assert service.balance(ACCOUNT).balance_cents == 600
    rows = snapshot(service)
    assert len(rows["ledger_entries"]) == 1
    assert len(rows["credit_grants"]) == 1
    assert [e["type"] for e in rows["outbound_events"]] == ["balance.credited", "grant.created"]
    assert service.verify_ledger().ok


def test_a_failing_event_rolls_back_alone_in_the_writers_transaction(
    start: Callable[..., TopUpService],
) -> None:
    """The writer's shape: one transaction, a savepoint per event. An event that fails in
    the fast path (here: a credit past what the balance column holds, refused after the
    payment's upsert; on PostgreSQL also a payment intent id too long for its column,
    refused by the database mid-pipeline) leaves nothing once its savepoint is rolled
    back, and the next event in the same transaction commits."""
    service = start()
    service.credit(ACCOUNT, MAX_INTEGER - 100, reason="nearly full", idempotency_key="full-1")
    service.open_account("acct-bob")
    too_much = event("checkout.session.completed", paid(500))
    long_pi = paid(400, account="acct-bob")
    long_pi["payment_intent"] = "pi_" + "x" * 300
    failing: list[tuple[dict[str, Any], type[Exception]]] = [(too_much, InvalidAmount)]
    if service.engine.dialect.name == "postgresql":
        # The driver's error, translated as SQLAlchemy translates the general path's.
        failing.append((event("checkout.session.completed", long_pi), sa.exc.DataError))
    fine = event("checkout.session.completed", paid(700, account="acct-bob"))
    before = snapshot(service)
    with service.engine.begin() as connection:
        for evt, error in failing:
            savepoint = connection.begin_nested()
            with pytest.raises(error):
                fast_credit.apply(
                    connection,
                    service.ctx,
                    Event.parse(evt),
                    actor="webhook",
                    payload=json.dumps(evt),
                    secret_label=None,
                )
            savepoint.rollback()
        with connection.begin_nested():
            outcome = fast_credit.apply(
                connection,
                service.ctx,
                Event.parse(fine),
                actor="webhook",
                payload=json.dumps(fine),
                secret_label=None,
            )
    assert outcome is not None
    assert outcome.result == EventResult.CREDITED
    after = snapshot(service)
    for table in ("ledger_entries", "stripe_payments", "webhook_events", "credit_grants"):
        assert len(after[table]) == len(before[table]) + 1, table
    assert after["stripe_payments"][-1]["checkout_session_id"] == fine["data"]["object"]["id"]
    assert service.balance("acct-bob").balance_cents == 700
    assert service.verify_ledger().ok


@pytest.mark.parametrize("name", ["first credit", "settles a deficit", "threshold flips"])
def test_reconciles_credit_without_an_event_matches_credit_session(
    start: Callable[..., TopUpService], name: str
) -> None:
    """``credit_checkout`` is ``credit_session`` for ``reconcile --fix`` (no event, no event
    record): the same rows and the same answer, delivered twice."""
    case = CASES[name]()
    checkout = CheckoutSession.parse(case.events[0]["data"]["object"])

    def slow(run: Run, evt: dict[str, Any], *, replay: bool = False) -> Any:
        def work(session: Session) -> Any:
            found = credit_session(
                session, run.service.ctx, checkout, actor="reconcile", event_id=None
            )
            return (found.result, found.detail, found.entry_id, found.reported_cents)

        return run_in_transaction(run.service.engine, work)

    def quick(run: Run, evt: dict[str, Any], *, replay: bool = False) -> Any:
        with run.service.engine.begin() as connection, connection.begin_nested():
            found = fast_credit.credit_checkout(
                connection, run.service.ctx, checkout, actor="reconcile", event_id=None
            )
        assert found is not None
        return (found.result, found.detail, found.entry_id, found.amount_cents)

    twice = Case([case.events[0]] * 2, setup=case.setup, settings=case.settings)
    slow_run, slow_rows = play(start, twice, slow)
    quick_run, quick_rows = play(start, twice, quick)
    assert quick_run.outcomes == slow_run.outcomes
    assert [o[0] for o in quick_run.outcomes] == ["credited", "already_applied"]
    assert quick_rows == slow_rows
    assert quick_rows["webhook_events"] == []
