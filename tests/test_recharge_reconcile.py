"""reconcile and auto-recharge charges (issue 15), on both databases with the real SDK
against the emulator and every webhook signed for real: the window's PaymentIntents are
listed and those naming an account and an attempt compared with the ledger. A recharge
whose credit is missing (its answer lost, its webhook never delivered) is listed, credited
once by ``--fix`` through the worker's own path, and a second ``--fix``, the late
``payment_intent.succeeded`` and the worker's next run change nothing; refunds and disputes
of a recharge charge the webhook missed are debited once; a charge naming an attempt or an
account this database does not have is reported and left alone; a credit Stripe disagrees
with (another amount, not paid) is reported for an operator.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import stripe
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.core import TopUpService
from stripetopup.core.reconcile import recharges
from stripetopup.core.reconcile.compare import PageView
from stripetopup.dates import utcnow
from stripetopup.emulator import EmulatorServer
from stripetopup.store.reconcile import LedgerRow
from tests.conftest import ACCOUNT, API_KEY, Running, settings_env
from tests.support.ledger import entries, settled_balance
from tests.test_recharge_charge import armed, intents
from tests.test_recharge_reversals import BEFORE, RECHARGE, recharge_entries, recharged

HOUR = timedelta(hours=1)
# An endpoint that listens to none of what a recharge and its refunds and disputes send.
DEAF = ["customer.created"]


def lost(running: Running, emulator: EmulatorServer) -> tuple[TopUpService, Any]:
    """A recharge charged in Stripe whose answer was lost and whose webhook never came."""
    service, control = armed(running), running.control
    control.update_webhook_endpoint(running.endpoint_id, enabled_events=DEAF)
    control.fault("/v1/payment_intents", "lose_answer", count=5, method="POST")
    assert list(service.run_auto_recharge().results.values()) == ["pending"]
    control.clear_faults()
    [pi] = intents(emulator)
    assert pi.status == "succeeded"
    return service, pi


def kinds(report: Any) -> list[tuple[str, str | None, int | None, int | None]]:
    return sorted(
        (d.kind, d.payment_intent_id, d.amount_cents, d.local_cents)
        for d in report.items
        if d.checkout_session_id is None
    )


def deliver_late(running: Running, emulator: EmulatorServer, types: list[str]) -> int:
    """Send again, now to a listening endpoint, every event of these types; how many."""
    control = running.control
    control.update_webhook_endpoint(running.endpoint_id, enabled_events=["*"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    events = [e for t in types for e in client.v1.events.list(params={"type": t}).data]
    for event in events:
        control.resend(event.id, running.endpoint_id)
    control.wait_idle(timeout=30)
    for event in events:
        assert control.deliveries(event_id=event.id)[-1]["status_code"] == 200
    return len(events)


def test_a_missing_recharge_credit_is_listed_fixed_once_and_then_nothing_changes(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = lost(running, emulator)
    report = service.reconcile(utcnow() - HOUR)
    assert kinds(report) == [("paid_not_credited", pi.id, RECHARGE, None)]
    assert report.payment_intents == 1  # the saving top-up's PaymentIntent is not a recharge
    [diff] = [d for d in report.items if d.payment_intent_id == pi.id]
    assert (diff.account_id, diff.fixable, diff.checkout_session_id) == (ACCOUNT, True, None)
    assert diff.detail == "auto-recharge recharge:1:1 paid 20.00 USD, not credited"
    assert diff.fix == "credit 20.00 USD to acct-alice (--fix)"

    fixed = service.reconcile(utcnow() - HOUR, fix=True)
    [done] = [d for d in fixed.items if d.payment_intent_id == pi.id]
    assert done.fixed is True
    assert done.action is not None
    assert done.action.startswith("credited 20.00 (entry ")
    assert recharge_entries(service) == [(f"payment_intent:{pi.id}", RECHARGE)]
    [attempt] = service.auto_recharge(ACCOUNT).attempts
    assert (attempt.status, attempt.payment_intent_id) == ("succeeded", pi.id)

    again = service.reconcile(utcnow() - HOUR, fix=True)
    assert (again.differences, again.fixed, again.clean) == (0, 0, True)
    assert deliver_late(running, emulator, ["payment_intent.succeeded"]) == 2  # top-up's too
    assert service.run_auto_recharge().results == {}
    assert recharge_entries(service) == [(f"payment_intent:{pi.id}", RECHARGE)]
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE
    assert service.verify_ledger().ok


def test_the_cli_lists_the_recharge_in_its_lines_table_and_json(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = lost(running, emulator)
    runner, env = CliRunner(), {**settings_env(service.settings), "COLUMNS": "120"}
    first = runner.invoke(app, ["reconcile", "--since", "1h"], env=env)
    assert first.exit_code == 1, first.output
    assert (
        f"paid_not_credited {pi.id} (acct-alice): auto-recharge recharge:1:1 paid 20.00 USD, "
        "not credited; fix: credit 20.00 USD to acct-alice (--fix)"
    ) in first.output.splitlines()
    assert "recharge charges checked" in first.output
    document = json.loads(
        runner.invoke(app, ["reconcile", "--since", "1h", "--json"], env=env).output
    )
    assert document["summary"]["payment_intents"] == 1
    [item] = document["items"]
    assert (item["kind"], item["checkout_session_id"], item["payment_intent_id"]) == (
        "paid_not_credited",
        None,
        pi.id,
    )
    fixed = runner.invoke(app, ["reconcile", "--since", "1h", "--fix"], env=env)
    assert fixed.exit_code == 0, fixed.output
    assert "Nothing to fix (fixed 1)." in fixed.output
    clean = runner.invoke(app, ["reconcile", "--since", "1h", "--fix"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "Nothing to fix." in clean.output


def test_refunds_and_a_dispute_the_webhook_missed_are_debited_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = recharged(running, emulator)
    control = running.control
    control.update_webhook_endpoint(running.endpoint_id, enabled_events=DEAF)
    refund = control.refund(pi.id, amount=600)
    dispute = control.dispute(pi.id, amount=1400)
    control.close_dispute(dispute["id"], "lost")
    report = service.reconcile(utcnow() - HOUR)
    assert kinds(report) == [
        ("dispute_not_debited", pi.id, 1400, 0),
        ("refund_not_debited", pi.id, 600, 0),
    ]
    fixed = service.reconcile(utcnow() - HOUR, fix=True)
    assert fixed.fixed == 2
    expected = [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"refund:{refund['id']}", -600),
        (f"dispute:{dispute['id']}", -1400),
    ]
    assert recharge_entries(service) == expected
    assert service.reconcile(utcnow() - HOUR, fix=True).differences == 0
    late = ["charge.refunded", "refund.created", "charge.dispute.created", "charge.dispute.closed"]
    assert deliver_late(running, emulator, late) >= 4
    assert recharge_entries(service) == expected
    assert settled_balance(service, ACCOUNT) == BEFORE
    assert service.verify_ledger().ok


def test_a_refund_of_a_recharge_never_credited_is_credited_then_debited_by_one_fix(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = lost(running, emulator)
    refund = running.control.refund(pi.id, amount=500)
    report = service.reconcile(utcnow() - HOUR)
    assert kinds(report) == [
        ("paid_not_credited", pi.id, RECHARGE, None),
        ("refund_not_debited", pi.id, 500, 0),
    ]
    assert service.reconcile(utcnow() - HOUR, fix=True).fixed == 2
    assert recharge_entries(service) == [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"refund:{refund['id']}", -500),
    ]
    assert service.reconcile(utcnow() - HOUR, fix=True).differences == 0
    deliver_late(running, emulator, ["payment_intent.succeeded", "charge.refunded"])
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE - 500
    assert service.verify_ledger().ok


def test_a_charge_naming_an_unknown_attempt_or_account_is_reported_and_left_alone(
    running: Running, emulator: EmulatorServer
) -> None:
    service = armed(running)
    [card] = service.cards(ACCOUNT).cards
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    customer = client.v1.payment_methods.retrieve(card.payment_method_id).customer
    made = {}
    for attempt, account in (("recharge:999:1", ACCOUNT), ("recharge:998:1", "acct-nobody")):
        pi = client.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "customer": str(customer),
                "payment_method": card.payment_method_id,
                "off_session": True,
                "confirm": True,
                "metadata": {"account_id": account, "attempt": attempt, "source": "stripetopup"},
            }
        )
        made[attempt] = pi.id
    before = entries(service, ACCOUNT)
    fixed = service.reconcile(utcnow() - HOUR, fix=True)
    assert kinds(fixed) == sorted(
        [
            ("unknown_attempt", made["recharge:999:1"], 700, None),
            ("unknown_account", made["recharge:998:1"], 700, None),
        ]
    )
    assert all(not d.fixed and not d.fixable for d in fixed.items)
    assert (fixed.fixed, fixed.remaining) == (0, 2)
    assert entries(service, ACCOUNT) == before


def _intent(status: str, received: int, **charge: Any) -> dict[str, Any]:
    return {
        "id": "pi_recharge_1",
        "object": "payment_intent",
        "status": status,
        "amount": 2000,
        "amount_received": received,
        "currency": "usd",
        "livemode": False,
        "metadata": {"account_id": ACCOUNT, "attempt": "recharge:1:1", "source": "stripetopup"},
        "latest_charge": {"id": "ch_1", "object": "charge", **charge},
    }


def test_a_credit_stripe_disagrees_with_is_reported_not_fixed(service: TopUpService) -> None:
    credit = LedgerRow("payment_intent:pi_recharge_1", 2000, "usd", ACCOUNT, None, "pi_recharge_1")
    view = PageView({}, [credit])
    checkout_pi = {**_intent("succeeded", 2000), "metadata": {"source": "stripetopup"}}
    assert recharges.recharge_intents([checkout_pi]) == []  # no attempt: a Checkout top-up's

    def found(raw: dict[str, Any]) -> list[tuple[str, int | None, int | None]]:
        [item] = recharges.recharge_intents([raw])
        return [
            (d.kind, d.amount_cents, d.local_cents)
            for d in recharges.classify(service.ctx, item, view)
        ]

    assert found(_intent("succeeded", 2000)) == []
    assert found(_intent("succeeded", 2500)) == [("amount_mismatch", 2500, 2000)]
    assert found(_intent("requires_payment_method", 0)) == [("credited_not_paid", None, 2000)]
    assert found(_intent("succeeded", 2000, amount_refunded=300)) == [
        ("refund_not_debited", 300, 0)
    ]
    assert found(_intent("succeeded", 2000, disputed=True)) == [("dispute_not_debited", None, 0)]
    # Never credited and not succeeded (declined, processing): nothing to say.
    assert (
        recharges.classify(
            service.ctx, recharges.recharge_intents([_intent("processing", 0)])[0], PageView({}, [])
        )
        == []
    )


def test_fix_racing_the_late_webhook_and_the_worker_credits_the_recharge_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = lost(running, emulator)
    stop, errors = threading.Event(), []

    def keep_reconciling() -> None:
        try:
            while not stop.is_set():
                service.reconcile(utcnow() - HOUR, fix=True)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=keep_reconciling)
    worker.start()
    try:
        deliver_late(running, emulator, ["payment_intent.succeeded"])
        service.run_auto_recharge()
    finally:
        stop.set()
        worker.join()
    assert errors == []
    assert recharge_entries(service) == [(f"payment_intent:{pi.id}", RECHARGE)]
    [attempt] = service.auto_recharge(ACCOUNT).attempts
    assert attempt.status == "succeeded"
    assert service.reconcile(utcnow() - HOUR, fix=True).differences == 0
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE
