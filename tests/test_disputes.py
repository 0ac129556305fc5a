"""Dispute events against the emulator, on both databases: a dispute is debited once while
open or lost, credited back once when won, whatever order or how many times its events come.
"""

from __future__ import annotations

from typing import Any

import pytest

from stripetopup.core import TopUpService
from stripetopup.core.ledger import reversals
from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, Running
from tests.support.ledger import entries, paid_session, settled_balance


def disputed(running: Running, outcome: str | None, **options: Any) -> tuple[str, str]:
    control = running.control
    session_id = paid_session(control, ACCOUNT, 500)
    dispute_id = str(control.dispute(session_id, **options)["id"])
    if outcome is not None:
        control.close_dispute(dispute_id, outcome)
    control.wait_idle()
    return session_id, dispute_id


def test_a_lost_dispute_stays_debited_once(running: Running) -> None:
    running.control.configure_delivery(duplicates=1)
    session_id, dispute_id = disputed(running, "lost")
    assert entries(running.service, ACCOUNT) == [
        (f"checkout_session:{session_id}", 500),
        (f"dispute:{dispute_id}", -500),
    ]
    assert settled_balance(running.service, ACCOUNT) == 0
    [closed] = running.service.events(event_type="charge.dispute.closed")
    assert closed.outcome == "already_applied"


def test_a_won_dispute_is_debited_then_reinstated_once(running: Running) -> None:
    session_id, dispute_id = disputed(running, None)
    assert settled_balance(running.service, ACCOUNT) == 0
    running.control.close_dispute(dispute_id, "won")
    running.control.wait_idle()
    assert entries(running.service, ACCOUNT) == [
        (f"checkout_session:{session_id}", 500),
        (f"dispute:{dispute_id}", -500),
        (f"dispute_reinstated:{dispute_id}", 500),
    ]
    assert settled_balance(running.service, ACCOUNT) == 500


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_duplicated_and_reversed_dispute_events_converge(running: Running, outcome: str) -> None:
    running.control.configure_delivery(duplicates=3, reverse_order=True)
    session_id, dispute_id = disputed(running, outcome)
    expected = [(f"checkout_session:{session_id}", 500), (f"dispute:{dispute_id}", -500)]
    if outcome == "won":
        expected.append((f"dispute_reinstated:{dispute_id}", 500))
    assert sorted(entries(running.service, ACCOUNT)) == sorted(expected)
    assert settled_balance(running.service, ACCOUNT) == (500 if outcome == "won" else 0)


def test_a_dispute_without_a_withdrawal_event_is_debited_on_created_and_won_back(
    running: Running,
) -> None:
    _, dispute_id = disputed(running, None, withdraw=False)
    assert entries(running.service, ACCOUNT)[-1] == (f"dispute:{dispute_id}", -500)
    running.control.close_dispute(dispute_id, "won")  # Stripe sends no funds_reinstated here
    running.control.wait_idle()
    assert entries(running.service, ACCOUNT)[1:] == [
        (f"dispute:{dispute_id}", -500),
        (f"dispute_reinstated:{dispute_id}", 500),
    ]
    assert settled_balance(running.service, ACCOUNT) == 500


def test_dispute_events_applied_newest_first_and_twice_converge(
    service: TopUpService, control: EmulatorControl
) -> None:
    # No webhook endpoint: the test applies Stripe's events itself, closed first.
    session_id = str(control.seed(count=1, amount=700, client_reference_id=ACCOUNT)["ids"][0])
    dispute_id = str(control.dispute(session_id)["id"])
    control.close_dispute(dispute_id, "won")
    listed = service.ctx.stripe.client.v1.events.list(params={"type": "charge.dispute.*"})
    events = [event.to_dict() for event in listed.data]  # newest first: closed, reinstated...
    assert events[0]["type"] == "charge.dispute.closed"
    outcomes = [service.apply_event(event, actor="test").result for event in events + events]
    assert outcomes[0] == "debited"  # the first one credits the payment, debits, reinstates
    assert set(outcomes[1:]) == {"already_applied"}
    assert entries(service, ACCOUNT) == [
        (f"checkout_session:{session_id}", 700),
        (f"dispute:{dispute_id}", -700),
        (f"dispute_reinstated:{dispute_id}", 700),
    ]
    assert settled_balance(service, ACCOUNT) == 700


def test_a_dispute_reopened_after_it_was_won_is_debited_again_under_a_new_source() -> None:
    obj = {"id": "du_1", "currency": "usd", "payment_intent": "pi_1", "amount": 500}
    have = {"dispute:du_1": -500, "dispute_reinstated:du_1": 500}
    [again] = reversals.settle(reversals.DISPUTES, obj, -500, have)
    assert (again.source, again.amount_cents, again.kind) == ("dispute:du_1:2", -500, "dispute")
    have[again.source] = again.amount_cents
    [won] = reversals.settle(reversals.DISPUTES, obj, 0, have)
    assert (won.source, won.amount_cents) == ("dispute_reinstated:du_1:2", 500)
    assert reversals.settle(reversals.DISPUTES, obj, -500, {"dispute:du_1": -500}) == []


def test_a_dispute_won_before_we_heard_of_it_still_gets_its_debit_and_credit() -> None:
    obj = {"id": "du_2", "currency": "usd", "payment_intent": "pi_2", "amount": 300}
    moves = reversals.settle(reversals.DISPUTES, {**obj, "status": "won"}, 0, {})
    assert [(m.source, m.amount_cents) for m in moves] == [
        ("dispute:du_2", -300),
        ("dispute_reinstated:du_2", 300),
    ]
    inquiry = {**obj, "status": "warning_closed", "balance_transactions": []}
    assert reversals.settle(reversals.DISPUTES, inquiry, 0, {}) == []
