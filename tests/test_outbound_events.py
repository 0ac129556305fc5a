"""Outbound events, on both databases: each type is emitted exactly when its change commits
(a really signed webhook, manual credit and debit, the spend API, holds on a ManualClock,
refunds, disputes, pending, failed and attention payments), never for a change rolled back
or applied already, and balance.low / balance.recovered once per crossing.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.dates import utcnow
from stripetopup.emulator import EmulatorControl, EmulatorServer
from stripetopup.errors import InsufficientFunds
from stripetopup.ids import is_message_id
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, Running, make_settings
from tests.support import outbound as feed
from tests.support.clock import ManualClock
from tests.support.ledger import paid_session
from tests.support.servers import serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign

# This module's events; grant.created / grant.expired have their own (test_grant_events.py).
TYPES = ("balance.*", "payment.*", "hold.*")


def outbound(service: TopUpService, account_id: str | None = None) -> list[dict[str, Any]]:
    return feed.outbound(service, account_id, types=TYPES)


def types_of(service: TopUpService, account_id: str | None = None) -> list[str]:
    return feed.types_of(service, account_id, types=TYPES)


def deliver(running: Running, evt: dict[str, object]) -> httpx.Response:
    payload = body(evt)
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, NEW_SECRET)}
    return running.http.post("/billing/webhook", content=payload, headers=headers)


def test_a_signed_top_up_emits_one_balance_credited_and_its_duplicate_nothing(
    running: Running,
) -> None:
    checkout = checkout_session(ACCOUNT, 700)
    evt = event("checkout.session.completed", checkout)
    assert deliver(running, evt).json()["result"] == "credited"
    assert deliver(running, evt).json()["result"] == "already_applied"
    [credited] = outbound(running.service)
    assert credited["type"] == "balance.credited"
    assert is_message_id(credited["id"])
    assert credited["schema_version"] == 1
    assert credited["data"] == {
        "entry_id": credited["data"]["entry_id"],
        "account_id": ACCOUNT,
        "amount_cents": 700,
        "currency": "usd",
        "balance_after_cents": 700,
        "kind": "topup",
        "source": f"checkout_session:{checkout['id']}",
        "reason": None,
        "actor": "webhook",
        "checkout_session_id": checkout["id"],
        "payment_intent_id": checkout["payment_intent"],
        "stripe_event_id": evt["id"],
    }


def test_manual_credit_and_debit_emit_once_whatever_their_retries(service: TopUpService) -> None:
    service.credit(ACCOUNT, 1000, reason="goodwill", idempotency_key="c1")
    service.credit(ACCOUNT, 1000, reason="goodwill", idempotency_key="c1")
    service.debit(ACCOUNT, 300, reason="correction", idempotency_key="d1")
    service.debit(ACCOUNT, 300, reason="correction", idempotency_key="d1")
    events = outbound(service, ACCOUNT)
    assert [(e["type"], e["data"]["amount_cents"], e["data"]["kind"]) for e in events] == [
        ("balance.credited", 1000, "manual_credit"),
        ("balance.debited", -300, "manual_debit"),
    ]
    assert [e["data"]["balance_after_cents"] for e in events] == [1000, 700]
    assert {e["data"]["actor"] for e in events} == {"operator"}


def test_a_spend_api_debit_emits_and_an_insufficient_one_emits_nothing(
    service: TopUpService,
) -> None:
    service.credit(ACCOUNT, 500, reason="funds", idempotency_key="fund")
    _, key = service.create_service_key("billing-worker")
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http,
    ):
        path = f"/api/v1/accounts/{ACCOUNT}/debits"
        spent = http.post(path, json={"amount_cents": 200}, headers={"Idempotency-Key": "s1"})
        assert spent.status_code == 201, spent.text
        again = http.post(path, json={"amount_cents": 200}, headers={"Idempotency-Key": "s1"})
        assert again.headers["Idempotent-Replayed"] == "true"
        refused = http.post(path, json={"amount_cents": 900}, headers={"Idempotency-Key": "s2"})
        assert refused.status_code == 402
    events = outbound(service, ACCOUNT)
    assert [(e["type"], e["data"]["kind"], e["data"]["actor"]) for e in events[1:]] == [
        ("balance.debited", "spend", "service:billing-worker")
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked(settings: Settings, clock: ManualClock) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    yield service
    service.close()


def test_a_captured_hold_emits_its_debit_and_an_expired_one_hold_expired_once(
    clocked: TopUpService, clock: ManualClock
) -> None:
    captured = clocked.place_hold(ACCOUNT, 300, idempotency_key="h1", ttl_seconds=60)
    clocked.capture_hold(captured.hold.hold_id, 200, idempotency_key="cap")
    lapsing = clocked.place_hold(ACCOUNT, 400, idempotency_key="h2", ttl_seconds=60, reason="x")
    clock.advance(59)
    assert clocked.expire_holds() == 0
    clock.advance(1)
    assert clocked.expire_holds() == 1
    assert clocked.expire_holds() == 0
    clocked.release_hold(lapsing.hold.hold_id, idempotency_key="r")  # expired: nothing new
    events = outbound(clocked, ACCOUNT)
    assert [e["type"] for e in events] == ["balance.credited", "balance.debited", "hold.expired"]
    assert events[1]["data"]["kind"] == "hold_capture"
    assert events[1]["data"]["amount_cents"] == -200
    expired = events[2]["data"]
    assert (expired["hold_id"], expired["amount_cents"], expired["reason"]) == (
        lapsing.hold.hold_id,
        400,
        "x",
    )
    assert events[2]["created"] == clock.now.isoformat()


def test_a_hold_expiring_is_told_when_the_account_next_places_one(
    clocked: TopUpService, clock: ManualClock
) -> None:
    clocked.place_hold(ACCOUNT, 100, idempotency_key="h1", ttl_seconds=10)
    clock.advance(10)
    clocked.place_hold(ACCOUNT, 100, idempotency_key="h2", ttl_seconds=10)
    assert types_of(clocked, ACCOUNT) == ["balance.credited", "hold.expired"]


def test_a_refund_emits_its_debit(running: Running) -> None:
    control = running.control
    control.configure_delivery(duplicates=1)
    session_id = paid_session(control, ACCOUNT, 500)
    control.wait_idle()
    refund = control.refund(session_id, amount=200)
    control.wait_idle()
    events = outbound(running.service, ACCOUNT)
    assert [(e["type"], e["data"]["source"]) for e in events] == [
        ("balance.credited", f"checkout_session:{session_id}"),
        ("balance.debited", f"refund:{refund['id']}"),
    ]
    assert events[1]["data"]["stripe_event_id"].startswith("evt_")


@pytest.mark.parametrize(("outcome", "credited_back"), [("lost", False), ("won", True)])
def test_a_dispute_emits_its_debit_and_when_won_its_credit(
    running: Running, outcome: str, credited_back: bool
) -> None:
    control = running.control
    session_id = paid_session(control, ACCOUNT, 500)
    dispute_id = str(control.dispute(session_id)["id"])
    control.close_dispute(dispute_id, outcome)
    control.wait_idle()
    events = outbound(running.service, ACCOUNT)
    expected = [("balance.credited", "topup"), ("balance.debited", "dispute")]
    if credited_back:
        expected.append(("balance.credited", "dispute_reinstated"))
    assert [(e["type"], e["data"]["kind"]) for e in events] == expected


def test_a_delayed_payment_emits_pending_then_failed_once_each(running: Running) -> None:
    checkout = checkout_session(ACCOUNT, 900, payment_status="unpaid")
    completed = event("checkout.session.completed", checkout)
    failed = event("checkout.session.async_payment_failed", checkout)
    for evt in (completed, completed, failed, failed):
        assert deliver(running, evt).status_code == 200
    events = outbound(running.service)
    assert [e["type"] for e in events] == ["payment.pending", "payment.failed"]
    assert events[0]["data"] == {
        "checkout_session_id": checkout["id"],
        "account_id": ACCOUNT,
        "amount_total_cents": 900,
        "currency": "usd",
        "state": "pending",
        "payment_intent_id": checkout["payment_intent"],
        "attention_reason": None,
    }


def test_a_stray_payment_emits_attention_once(running: Running) -> None:
    stray = event("checkout.session.completed", checkout_session("acct-nobody", 500))
    assert deliver(running, stray).json()["result"] == "attention"
    assert deliver(running, stray).status_code == 200  # delivered again: nothing new
    [attention] = outbound(running.service)
    assert attention["type"] == "payment.attention"
    assert attention["data"]["account_id"] == "acct-nobody"
    assert "unknown account" in attention["data"]["attention_reason"]


# Rolled back: no event --------------------------------------------------------------------


def _fail_when_credited(running: Running) -> None:
    """A statement that fails after the credit and its event were written: the payment's
    move to credited, the last write of the webhook's transaction."""
    with running.service.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_credited BEFORE UPDATE ON stripe_payments "
                "WHEN NEW.state = 'credited' BEGIN SELECT RAISE(FAIL, 'disk on fire'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION fail_credited() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_credited BEFORE UPDATE ON stripe_payments FOR EACH ROW "
                "WHEN (NEW.state = 'credited') EXECUTE FUNCTION fail_credited()"
            )


def _drop_failure(running: Running) -> None:
    with running.service.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER fail_credited")
        else:
            connection.exec_driver_sql("DROP TRIGGER fail_credited ON stripe_payments")
            connection.exec_driver_sql("DROP FUNCTION fail_credited()")


def test_a_credit_rolled_back_after_its_event_emits_nothing_and_its_retry_one(
    running: Running,
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 1200))
    _fail_when_credited(running)
    try:
        assert deliver(running, evt).status_code == 500
        assert outbound(running.service) == []
    finally:
        _drop_failure(running)
    assert deliver(running, evt).json()["result"] == "credited"
    assert types_of(running.service) == ["balance.credited"]


def test_a_refused_debit_emits_nothing(service: TopUpService) -> None:
    with pytest.raises(InsufficientFunds):
        service.spend(ACCOUNT, 100, idempotency_key="broke")
    assert outbound(service) == []


# Low balance: once per crossing ----------------------------------------------------------


def test_low_and_recovered_are_emitted_once_per_crossing(service: TopUpService) -> None:
    service.credit(ACCOUNT, 1000, reason="funds", idempotency_key="fund")
    service.set_low_balance_threshold(ACCOUNT, 500)
    steps = [-300, -300, -100, 50, 200, -100, -1000, 2000]
    for number, cents in enumerate(steps):
        move = service.credit if cents > 0 else service.debit
        move(ACCOUNT, cents, reason="step", idempotency_key=f"step-{number}")
    crossings = [
        (e["type"], e["data"]["available_cents"])
        for e in outbound(service, ACCOUNT)
        if e["type"] in ("balance.low", "balance.recovered")
    ]
    # 700, 400 (low), 300, 350, 550 (recovered), 450 (low), -550, 1450 (recovered)
    assert crossings == [
        ("balance.low", 400),
        ("balance.recovered", 550),
        ("balance.low", 450),
        ("balance.recovered", 1450),
    ]
    assert service.balance(ACCOUNT).below_threshold is False


def test_holds_count_against_the_threshold_and_releasing_one_recovers(
    clocked: TopUpService,
) -> None:
    clocked.set_low_balance_threshold(ACCOUNT, 1000)
    hold = clocked.place_hold(ACCOUNT, 4500, idempotency_key="big")
    clocked.release_hold(hold.hold.hold_id, idempotency_key="r")
    events = [e for e in outbound(clocked, ACCOUNT) if e["type"] != "balance.credited"]
    assert [(e["type"], e["data"]["held_cents"], e["data"]["available_cents"]) for e in events] == [
        ("balance.low", 4500, 500),
        ("balance.recovered", 0, 5000),
    ]


def test_setting_a_threshold_re_evaluates_at_once(service: TopUpService) -> None:
    service.credit(ACCOUNT, 300, reason="funds", idempotency_key="fund")
    assert service.set_low_balance_threshold(ACCOUNT, 300).below_threshold is False
    low = service.set_low_balance_threshold(ACCOUNT, 301)
    assert (low.low_balance_threshold_cents, low.below_threshold) == (301, True)
    assert service.set_low_balance_threshold(ACCOUNT, 301).below_threshold is True
    back = service.set_low_balance_threshold(ACCOUNT, None)  # no default: alerts off
    assert (back.low_balance_threshold_cents, back.below_threshold) == (None, False)
    assert types_of(service, ACCOUNT) == ["balance.credited", "balance.low"]


def test_the_default_threshold_applies_until_an_account_has_its_own(
    database_url: str, emulator: EmulatorServer
) -> None:
    service = TopUpService.from_settings(
        make_settings(database_url, emulator.url, low_balance_threshold_cents=200)
    )
    try:
        service.open_account(ACCOUNT)
        service.credit(ACCOUNT, 250, reason="funds", idempotency_key="fund")
        service.debit(ACCOUNT, 100, reason="spent", idempotency_key="d1")
        assert service.balance(ACCOUNT).low_balance_threshold_cents == 200
        service.set_low_balance_threshold(ACCOUNT, 100)  # 150 is above its own: recovered
        assert types_of(service, ACCOUNT) == [
            "balance.credited",
            "balance.debited",
            "balance.low",
            "balance.recovered",
        ]
    finally:
        service.close()


def test_twenty_concurrent_debits_crossing_the_threshold_emit_exactly_one_low(
    service: TopUpService,
) -> None:
    service.credit(ACCOUNT, 2000, reason="funds", idempotency_key="fund")
    service.set_low_balance_threshold(ACCOUNT, 1500)

    def debit(number: int) -> None:
        service.spend(ACCOUNT, 100, idempotency_key=f"concurrent-{number}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(debit, range(20)))
    types = types_of(service, ACCOUNT)
    assert types.count("balance.debited") == 20
    assert types.count("balance.low") == 1
    assert service.balance(ACCOUNT).balance_cents == 0


def test_assigning_a_stray_payment_emits_attention_then_its_credit(running: Running) -> None:
    session_id = paid_session(running.control, "acct-nobody", 500)
    running.control.wait_idle()
    running.service.assign_payment(session_id, ACCOUNT, reason="typo in the account id")
    running.service.assign_payment(session_id, ACCOUNT, reason="typo in the account id")
    events = outbound(running.service)
    assert [(e["type"], e["data"]["account_id"]) for e in events] == [
        ("payment.attention", "acct-nobody"),
        ("balance.credited", ACCOUNT),
    ]
    assert events[1]["data"]["actor"] == "operator:assign"


def test_reconcile_fix_emits_the_credit_it_makes_once(
    service: TopUpService, control: EmulatorControl
) -> None:
    session_id = str(control.seed(count=1, client_reference_id=ACCOUNT)["ids"][0])
    since = utcnow() - timedelta(days=7)
    assert service.reconcile(since, fix=True).fixed == 1
    service.reconcile(since, fix=True)
    [credited] = outbound(service)
    assert (credited["type"], credited["data"]["source"]) == (
        "balance.credited",
        f"checkout_session:{session_id}",
    )
