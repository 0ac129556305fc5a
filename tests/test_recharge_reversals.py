"""Refunds and disputes of an auto-recharge charge (issue 15), on both databases with the
real SDK against the emulator and every webhook signed for real: the emulator refunds or
disputes the off-session PaymentIntent's charge and sends the events; each refund and each
dispute debits the account once against the recharge's own paid grant, with duplicated
and reordered deliveries, whether it arrives after the credit or before it (the charge's
answer lost and ``payment_intent.succeeded`` not delivered yet); ``ledger verify`` stays
clean.
"""

from __future__ import annotations

from typing import Any

import stripe

from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running
from tests.support.ledger import entries, settled_balance
from tests.test_recharge_charge import armed, intents

# What the account holds before the recharge: the saved card's 5.00 top-up and 5.00 of
# funds, less the 6.00 debit that armed the attempt. The recharge credits 20.00.
BEFORE = 400
RECHARGE = 2000


def recharged(running: Running, emulator: EmulatorServer) -> tuple[TopUpService, Any]:
    """A charged and credited recharge; its PaymentIntent."""
    service = armed(running)
    assert list(service.run_auto_recharge().results.values()) == ["succeeded"]
    running.control.wait_idle(timeout=30)
    [pi] = intents(emulator)
    return service, pi


def recharge_entries(service: TopUpService) -> list[tuple[str, int]]:
    """The account's entries from the recharge on (the card-saving top-up and funds left out)."""
    found = entries(service, ACCOUNT)
    first = next(i for i, (source, _) in enumerate(found) if source.startswith("payment_intent:"))
    return [e for e in found[first:] if not e[0].startswith("manual:")]


def recharge_grant_left(service: TopUpService, pi_id: str) -> int:
    grants = service.grants(ACCOUNT, include_closed=True).grants
    [grant] = [g for g in grants if g.source == f"payment_intent:{pi_id}"]
    return grant.remaining_cents


def verified(service: TopUpService) -> None:
    report = service.verify_ledger()
    assert report.ok, report.to_json()


def test_a_full_refund_debits_the_recharge_once_from_its_own_grant(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = recharged(running, emulator)
    running.control.configure_delivery(duplicates=2)
    refund = running.control.refund(pi.id)
    running.control.wait_idle(timeout=30)
    assert recharge_entries(service) == [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"refund:{refund['id']}", -RECHARGE),
    ]
    assert settled_balance(service, ACCOUNT) == BEFORE
    assert recharge_grant_left(service, pi.id) == 0  # the refund took the recharge's grant
    verified(service)


def test_partial_refunds_are_each_debited_once_in_any_order(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = recharged(running, emulator)
    running.control.configure_delivery(duplicates=2, reverse_order=True)
    first = running.control.refund(pi.id, amount=700)
    second = running.control.refund(pi.id, amount=300)
    running.control.wait_idle(timeout=30)
    credit, *refunds = recharge_entries(service)
    assert credit == (f"payment_intent:{pi.id}", RECHARGE)
    assert sorted(refunds) == sorted(
        [(f"refund:{first['id']}", -700), (f"refund:{second['id']}", -300)]
    )
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE - 1000
    assert recharge_grant_left(service, pi.id) == RECHARGE - 1000
    # A refund that fails later is credited back once, to the same grant.
    running.control.set_refund_status(second["id"], "failed")
    running.control.wait_idle(timeout=30)
    assert recharge_entries(service)[-1] == (f"refund_reversed:{second['id']}", 300)
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE - 700
    verified(service)


def test_a_lost_dispute_debits_the_recharge_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = recharged(running, emulator)
    running.control.configure_delivery(duplicates=1, reverse_order=True)
    dispute = running.control.dispute(pi.id)
    running.control.wait_idle(timeout=30)
    running.control.close_dispute(dispute["id"], "lost")
    running.control.wait_idle(timeout=30)
    assert recharge_entries(service) == [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"dispute:{dispute['id']}", -RECHARGE),
    ]
    assert settled_balance(service, ACCOUNT) == BEFORE
    verified(service)


def test_a_won_dispute_is_debited_and_credited_back_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service, pi = recharged(running, emulator)
    running.control.configure_delivery(duplicates=1)
    dispute = running.control.dispute(pi.id, amount=500)
    running.control.close_dispute(dispute["id"], "won")
    running.control.wait_idle(timeout=30)
    assert recharge_entries(service) == [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"dispute:{dispute['id']}", -500),
        (f"dispute_reinstated:{dispute['id']}", 500),
    ]
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE
    verified(service)


def test_a_refund_arriving_before_the_credit_credits_first_and_debits_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service, control = armed(running), running.control
    # payment_intent.succeeded is not delivered (an endpoint that does not listen to it),
    # and every answer to the charge is lost: the attempt stays pending, nothing credited.
    control.update_webhook_endpoint(
        running.endpoint_id, enabled_events=["charge.refunded", "refund.created"]
    )
    control.fault("/v1/payment_intents", "lose_answer", count=5, method="POST")
    assert list(service.run_auto_recharge().results.values()) == ["pending"]
    control.clear_faults()
    [pi] = intents(emulator)
    assert pi.status == "succeeded"
    assert not any(s.startswith("payment_intent:") for s, _ in entries(service, ACCOUNT))

    control.configure_delivery(duplicates=2, reverse_order=True)
    refund = control.refund(pi.id, amount=500)
    control.wait_idle(timeout=30)
    assert recharge_entries(service) == [
        (f"payment_intent:{pi.id}", RECHARGE),
        (f"refund:{refund['id']}", -500),
    ]
    [attempt] = service.auto_recharge(ACCOUNT).attempts
    assert (attempt.status, attempt.payment_intent_id) == ("succeeded", pi.id)

    # The late payment_intent.succeeded and the worker's next run change nothing.
    control.update_webhook_endpoint(running.endpoint_id, enabled_events=["*"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    listed = client.v1.events.list(params={"type": "payment_intent.succeeded"}).data
    [event] = [e for e in listed if e.data.object["id"] == pi.id]
    control.resend(event.id, running.endpoint_id)
    control.wait_idle(timeout=30)
    assert [d["status_code"] for d in control.deliveries(event_id=event.id)] == [200]
    assert service.run_auto_recharge().results == {}
    assert len(recharge_entries(service)) == 2
    assert settled_balance(service, ACCOUNT) == BEFORE + RECHARGE - 500
    verified(service)
