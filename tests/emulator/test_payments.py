"""Payments after checkout: delayed methods, refunds and disputes, with the events they emit."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl


def types(client: Any) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_a_card_payment_emits_charge_intent_and_session_events(
    client: Any, paid_session: Any
) -> None:
    assert types(client) == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    charge = client.v1.charges.retrieve(
        paid_session.payment_intent.latest_charge.id, params={"expand": ["payment_intent"]}
    )
    assert charge.payment_intent.id == paid_session.payment_intent.id
    assert (charge.refunded, charge.disputed, charge.amount_refunded) == (False, False, 0)


def test_a_delayed_payment_completes_unpaid_then_succeeds(
    client: Any, control: EmulatorControl, params: Any
) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    control.pay(session.id, method="delayed")
    pending = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert pending.payment_intent.status == "processing"
    control.async_succeed(session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert types(client)[-1] == "checkout.session.async_payment_succeeded"


def test_a_delayed_payment_can_fail(client: Any, control: EmulatorControl, params: Any) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    control.pay(session.id, method="delayed")
    control.async_fail(session.id)
    failed = client.v1.checkout.sessions.retrieve(session.id)
    assert (failed.status, failed.payment_status) == ("complete", "unpaid")
    assert types(client)[-1] == "checkout.session.async_payment_failed"
    with pytest.raises(Exception, match="async"):
        control.async_succeed(session.id)


def test_partial_then_full_refund_and_over_refund(client: Any, paid_session: Any) -> None:
    pi = paid_session.payment_intent.id
    partial = client.v1.refunds.create(params={"payment_intent": pi, "amount": 200})
    assert (partial.amount, partial.status, partial.payment_intent) == (200, "succeeded", pi)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pi, "amount": 301})
    assert caught.value.user_message == (
        "Refund amount ($3.01) is greater than charge amount ($3.00)"
    )
    rest = client.v1.refunds.create(params={"payment_intent": pi})
    assert rest.amount == 300
    charge = client.v1.charges.retrieve(partial.charge, params={"expand": ["refunds"]})
    assert (charge.amount_refunded, charge.refunded) == (500, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, partial.id]
    listed = client.v1.refunds.list(params={"payment_intent": pi})
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    assert client.v1.refunds.retrieve(rest.id).amount == 300
    assert types(client)[-4:] == [
        "charge.refunded",
        "refund.created",
        "charge.refunded",
        "refund.created",
    ]


def test_a_failed_refund_gives_the_amount_back(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    refund = control.refund(paid_session.id, amount=500)
    updated = control.set_refund_status(refund["id"], "failed")
    assert updated["status"] == "failed"
    charge = client.v1.charges.retrieve(refund["charge"])
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    event = client.v1.events.list(params={"type": "refund.updated"}).data[0]
    assert event.data.previous_attributes.status == "succeeded"


def test_a_lost_dispute_withdraws_and_closes(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    dispute = control.dispute(paid_session.id)
    assert dispute["id"].startswith("du_")
    assert dispute["status"] == "needs_response"
    control.close_dispute(dispute["id"], "lost")
    fetched = client.v1.disputes.retrieve(dispute["id"])
    assert (fetched.status, fetched.amount) == ("lost", 500)
    assert types(client)[-3:] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    listed = client.v1.disputes.list(params={"payment_intent": paid_session.payment_intent.id})
    assert [d.id for d in listed.data] == [dispute["id"]]


def test_a_won_dispute_reinstates_funds_before_closing(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    dispute = control.dispute(paid_session.payment_intent.id, amount=300)
    control.close_dispute(dispute["id"], "won")
    assert types(client)[-2:] == ["charge.dispute.funds_reinstated", "charge.dispute.closed"]
    created = client.v1.events.list(params={"type": "charge.dispute.created"}).data[0]
    assert created.data.object.balance_transactions == []
    closed = client.v1.disputes.retrieve(dispute["id"])
    assert [t.amount for t in closed.balance_transactions] == [-300, 300]
