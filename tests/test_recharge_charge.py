"""The recharge worker (issue 15, fourth and fifth parts), on both databases with the real
SDK against the emulator: an armed attempt is charged off-session once and credited once
(worker's answer or ``payment_intent.succeeded``, whichever first); a lost answer and a
restarted worker make one charge and one credit; declines, insufficient funds and
authentication required end the attempt, pause the rule with the reason, and are never
tried again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running
from tests.test_recharge_attempts import RULE, attempts, ready


def intents(emulator: EmulatorServer) -> list[Any]:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    found = client.v1.payment_intents.list(params={"limit": 100}).data
    return [pi for pi in found if pi.metadata and "attempt" in pi.metadata.to_dict()]


def recharge_credits(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT source, amount_cents FROM ledger_entries "
                "WHERE source LIKE 'payment_intent:%'"
            )
        )
        return [(str(s), int(a)) for s, a in rows]


def told(service: TopUpService) -> list[tuple[str, str | None]]:
    """The ``autorecharge.*`` events the host was sent: (type, reason)."""
    types = ("autorecharge.succeeded", "autorecharge.failed", "autorecharge.requires_action")
    page = service.outbound_events(types=types)
    return [(e.type, e.data.reason) for e in page.data]  # type: ignore[union-attr]


def armed(running: Running) -> TopUpService:
    service = ready(running)  # 10.00 available, rule below 5.00 charges 20.00
    service.spend(ACCOUNT, 600, idempotency_key="cross")
    assert [a[1] for a in attempts(service)] == ["pending"]
    return service


def test_an_attempt_is_charged_off_session_once_and_credited_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service = armed(running)
    run = service.run_auto_recharge()
    assert list(run.results.values()) == ["succeeded"]
    running.control.wait_idle(timeout=30)  # payment_intent.succeeded: already credited
    [pi] = intents(emulator)
    assert (pi.amount, pi.status, pi.customer) == (2000, "succeeded", pi.customer)
    assert pi.metadata["account_id"] == ACCOUNT
    assert recharge_credits(service) == [(f"payment_intent:{pi.id}", 2000)]
    assert service.balance(ACCOUNT).balance_cents == 400 + 2000
    assert service.run_auto_recharge().results == {}
    [(_, status, _, open_pk)] = attempts(service)
    assert (status, open_pk) == ("succeeded", None)
    assert told(service) == [("autorecharge.succeeded", None)]


def test_a_lost_answer_then_a_restarted_worker_is_one_charge_and_one_credit(
    running: Running, emulator: EmulatorServer
) -> None:
    service = armed(running)
    # Every try of the first run loses Stripe's answer after the charge is made.
    running.control.fault("/v1/payment_intents", "lose_answer", count=3, method="POST")
    first = service.run_auto_recharge()
    assert list(first.results.values()) in (["pending"], ["succeeded"])
    running.control.clear_faults()
    restarted = TopUpService.from_settings(service.settings)
    try:
        restarted.run_auto_recharge()
        running.control.wait_idle(timeout=30)
        assert len(intents(emulator)) == 1
        [(_, amount)] = recharge_credits(restarted)
        assert amount == 2000
        assert restarted.balance(ACCOUNT).balance_cents == 400 + 2000
        assert [a[1] for a in attempts(restarted)] == ["succeeded"]
        assert told(restarted) == [("autorecharge.succeeded", None)]
    finally:
        restarted.close()


@pytest.mark.parametrize(
    ("decline", "state", "reason"),
    [
        ("generic_decline", "failed", "card declined (generic_decline)"),
        ("insufficient_funds", "failed", "card declined (insufficient_funds)"),
        (
            "authentication_required",
            "requires_action",
            "the bank asks the buyer to authenticate (authentication_required)",
        ),
    ],
)
def test_a_failed_charge_pauses_the_rule_with_the_reason_and_is_never_retried(
    running: Running, emulator: EmulatorServer, decline: str, state: str, reason: str
) -> None:
    service = armed(running)
    [card] = service.cards(ACCOUNT).cards
    running.control.set_card_decline(card.payment_method_id, decline)
    assert list(service.run_auto_recharge().results.values()) == [state]
    rule = service.auto_recharge(ACCOUNT)
    assert rule.status == "paused"
    assert rule.paused_reason is not None
    assert reason in rule.paused_reason
    assert (rule.attempts[0].status, rule.attempts[0].reason) == (state, reason)
    service.spend(ACCOUNT, 100, idempotency_key="still-low")  # paused: nothing armed
    assert service.run_auto_recharge().results == {}
    assert len(attempts(service)) == 1
    assert recharge_credits(service) == []
    assert len(intents(emulator)) <= 1
    assert told(service) == [(f"autorecharge.{state}", reason)]


def test_declines_pause_only_after_the_configured_number_in_a_row(running: Running) -> None:
    service = ready(running)
    service.set_auto_recharge(ACCOUNT, replace(RULE, cooldown_seconds=0))
    [card] = service.cards(ACCOUNT).cards
    running.control.set_card_decline(card.payment_method_id, "generic_decline")
    patient = TopUpService.from_settings(
        service.settings.model_copy(update={"auto_recharge_max_declines": 2})
    )
    try:
        service.spend(ACCOUNT, 600, idempotency_key="first")
        assert list(patient.run_auto_recharge().results.values()) == ["failed"]
        assert service.auto_recharge(ACCOUNT).status == "active"  # one decline of two
        assert patient.run_auto_recharge().results == {}  # ended: never retried by itself
        service.spend(ACCOUNT, 100, idempotency_key="second")  # a new crossing arms anew
        assert list(patient.run_auto_recharge().results.values()) == ["failed"]
        rule = service.auto_recharge(ACCOUNT)
        assert rule.status == "paused"
        assert "card declined (generic_decline)" in (rule.paused_reason or "")
        assert [a.status for a in rule.attempts] == ["failed", "failed"]
    finally:
        patient.close()


def test_a_pending_attempt_whose_card_is_detached_is_ended_uncharged(
    running: Running, emulator: EmulatorServer
) -> None:
    service = armed(running)
    [card] = service.cards(ACCOUNT).cards
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    client.v1.payment_methods.detach(card.payment_method_id)
    running.control.wait_idle(timeout=30)
    assert service.run_auto_recharge().results == {}
    rule = service.auto_recharge(ACCOUNT)
    assert rule.status == "paused"
    assert (rule.attempts[0].status, rule.attempts[0].reason) == (
        "failed",
        "saved card: payment_method.detached in Stripe",
    )
    assert intents(emulator) == []


def test_doctor_names_each_paused_rule_and_why(running: Running) -> None:
    service = armed(running)
    [card] = service.cards(ACCOUNT).cards
    running.control.set_card_decline(card.payment_method_id, "insufficient_funds")
    service.run_auto_recharge()
    report = service.doctor()
    [check] = [c for c in report.checks if c.name == f"auto-recharge of {ACCOUNT}"]
    assert check.status == "warn"
    assert "card declined (insufficient_funds)" in check.message
    assert check.fix is not None
    assert "autorecharge resume" in check.fix
