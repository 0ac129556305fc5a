"""Refund events against the emulator, on both databases: each refund is debited once, a
failed or cancelled one is credited back, and an uncredited payment is never debited.
Real HTTP and really signed webhooks; the ledger is read back with SQL.
"""

from __future__ import annotations

import pytest

from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, Running
from tests.support.ledger import entries, paid_session, settled_balance


def test_a_full_refund_debits_the_whole_credit_once(running: Running) -> None:
    control = running.control
    control.configure_delivery(duplicates=2)
    session_id = paid_session(control, ACCOUNT, 500)
    control.wait_idle()
    refund = control.refund(session_id)
    control.wait_idle()
    assert entries(running.service, ACCOUNT) == [
        (f"checkout_session:{session_id}", 500),
        (f"refund:{refund['id']}", -500),
    ]
    assert settled_balance(running.service, ACCOUNT) == 0


def test_several_partial_refunds_are_each_debited_once_in_any_order(running: Running) -> None:
    control = running.control
    control.configure_delivery(duplicates=2, reverse_order=True)
    session_id = paid_session(control, ACCOUNT, 1000)
    control.wait_idle()
    first = control.refund(session_id, amount=250)
    second = control.refund(session_id, amount=100)
    third = control.refund(session_id, amount=50)
    control.wait_idle()
    credit, *refunds = entries(running.service, ACCOUNT)
    assert credit == (f"checkout_session:{session_id}", 1000)
    assert sorted(refunds) == sorted(
        [
            (f"refund:{first['id']}", -250),
            (f"refund:{second['id']}", -100),
            (f"refund:{third['id']}", -50),
        ]
    )
    assert settled_balance(running.service, ACCOUNT) == 600


@pytest.mark.parametrize("status", ["failed", "canceled"])
def test_a_refund_that_fails_after_its_debit_is_credited_back_once(
    running: Running, status: str
) -> None:
    control = running.control
    control.configure_delivery(duplicates=1)
    session_id = paid_session(control, ACCOUNT, 500)
    refund = control.refund(session_id, amount=300)
    control.wait_idle()
    assert settled_balance(running.service, ACCOUNT) == 200
    control.set_refund_status(refund["id"], status)
    control.wait_idle()
    assert entries(running.service, ACCOUNT) == [
        (f"checkout_session:{session_id}", 500),
        (f"refund:{refund['id']}", -300),
        (f"refund_reversed:{refund['id']}", 300),
    ]
    assert settled_balance(running.service, ACCOUNT) == 500


def test_a_refund_of_a_payment_that_was_never_credited_is_kept_for_attention(
    running: Running,
) -> None:
    control = running.control
    session_id = paid_session(control, "acct-nobody", 500)
    control.wait_idle()
    refund = control.refund(session_id)
    control.wait_idle()
    with running.service.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_entries").scalar_one()
    assert count == 0
    [payment] = running.service.payments(state="attention")
    assert payment.checkout_session_id == session_id
    assert payment.attention_reason == (
        f"unknown account: acct-nobody; refund in Stripe ({refund['id']}) not debited: "
        "the payment was never credited"
    )
    [outcome] = {e.outcome for e in running.service.events(event_type="refund.created")}
    assert outcome == "attention"


def test_a_refund_that_arrives_before_the_payment_credits_then_debits_and_converges(
    running: Running, control: EmulatorControl
) -> None:
    # Seeded without events: Stripe has the paid session, we have heard nothing of it.
    session_id = str(control.seed(count=1, amount=800, client_reference_id=ACCOUNT)["ids"][0])
    control.configure_delivery(duplicates=1, reverse_order=True)
    refund = control.refund(session_id, amount=300)
    control.wait_idle()
    expected = [(f"checkout_session:{session_id}", 800), (f"refund:{refund['id']}", -300)]
    assert entries(running.service, ACCOUNT) == expected
    # The session's own event, arriving late, finds the credit already there.
    obj = running.service.ctx.stripe.retrieve_checkout_session(session_id)
    late = {"id": "evt_late_completed", "object": "event", "type": "checkout.session.completed"}
    outcome = running.service.apply_event(
        {**late, "livemode": False, "data": {"object": obj}}, actor="test"
    )
    assert outcome.result == "already_applied"
    assert entries(running.service, ACCOUNT) == expected
    assert settled_balance(running.service, ACCOUNT) == 500
