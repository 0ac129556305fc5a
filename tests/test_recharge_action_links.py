"""The Checkout link of a recharge the bank wants authenticated (issue 15), on both databases
with the real SDK against the emulator and a card saved as ``pm_card_authenticationRequired``.

``authentication_required`` pauses the rule and gives the attempt one Checkout Session,
made by the worker after the failed charge is recorded: shown by ``autorecharge show``
(and ``--json``), the GET API and ``autorecharge.requires_action``. Paying it credits once
through the normal checkout path. A lost answer or Stripe down, then a restarted worker,
still make one session, and so do two workers restarting at once after one stopped between
the decline and the link; a session Stripe refuses is recorded, told and not asked again;
no other failure makes a session, and nothing ever makes a second off-session charge.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
import stripe

from stripetopup.core import TopUpService
from stripetopup.core.recharge import charge
from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running
from tests.support.cards import saved_and_paid
from tests.support.cli import invoker
from tests.test_recharge_attempts import RULE, attempts
from tests.test_recharge_charge import intents
from tests.test_recharge_rules import PATH, key_headers

REASON = "the bank asks the buyer to authenticate (authentication_required)"


def client(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


def link_sessions(emulator: EmulatorServer) -> list[Any]:
    """The Checkout Sessions made for a recharge attempt (not the saving top-up's)."""
    found = client(emulator).v1.checkout.sessions.list(params={"limit": 100}).data
    return [s for s in found if "recharge_attempt" in (s.metadata or {}).to_dict()]


def credits(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT source, amount_cents FROM ledger_entries WHERE amount_cents > 0")
        )
        return [(str(s), int(a)) for s, a in rows]


def action_events(service: TopUpService) -> list[Any]:
    return [e.data for e in service.outbound_events(types=["autorecharge.requires_action"]).data]


def needs_the_buyer(running: Running) -> TopUpService:
    """A card that always wants authentication off-session, a rule, and a debit crossing it
    (5.00 paid + 5.00 funds - 6.00 = 4.00, below 5.00): one pending attempt of 20.00."""
    saved_and_paid(running, card="pm_card_authenticationRequired")
    service = running.service
    service.set_auto_recharge(ACCOUNT, RULE)
    service.credit(ACCOUNT, 500, reason="funds", idempotency_key="funds")
    service.spend(ACCOUNT, 600, idempotency_key="cross")
    assert [a[1] for a in attempts(service)] == ["pending"]
    return service


def test_requires_action_gives_one_checkout_link_shown_everywhere_and_paying_it_credits_once(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    run = service.run_auto_recharge()
    [(key, state)] = run.results.items()
    assert state == "requires_action"
    [made] = link_sessions(emulator)
    assert run.links == {key: made.id}
    assert (made.mode, made.amount_total, made.currency) == ("payment", 2000, "usd")
    assert made.client_reference_id == ACCOUNT
    assert made.customer == service.cards(ACCOUNT).cards[0].customer_id
    metadata = made.metadata.to_dict()
    assert (metadata["account_id"], metadata["recharge_attempt"]) == (ACCOUNT, key)
    assert (metadata["save_card"], metadata["consent_door"]) == ("true", "recharge_link")
    assert "attempt" not in metadata  # that key names an off-session charge to the webhook

    rule = service.auto_recharge(ACCOUNT)
    assert rule.status == "paused"
    shown = rule.attempts[0]
    assert (shown.status, shown.reason) == ("requires_action", REASON)
    assert (shown.checkout_session_id, shown.checkout_url) == (made.id, made.url)
    assert shown.checkout_error is None
    api = running.http.get(PATH, headers=key_headers(running, None)).json()["attempts"][0]
    assert (api["checkout_session_id"], api["checkout_url"]) == (made.id, made.url)
    invoke = invoker(service.settings)
    as_json = json.loads(invoke("autorecharge", "show", ACCOUNT, "--json").stdout)
    assert as_json["attempts"][0]["checkout_url"] == made.url
    human = invoke("autorecharge", "show", ACCOUNT).output
    assert made.url in human
    assert "requires_action" in human
    [told] = action_events(service)
    assert (told.attempt_key, told.reason, told.amount_cents) == (key, REASON, 2000)
    assert (told.checkout_session_id, told.checkout_url) == (made.id, made.url)
    assert told.checkout_error is None

    before = service.balance(ACCOUNT).balance_cents
    running.control.pay(made.id, card="pm_card_authenticationRequired")  # on-session
    running.control.wait_idle(timeout=30)  # checkout.session.completed, payment_intent.*
    assert service.balance(ACCOUNT).balance_cents == before + 2000
    assert [c for c in credits(service) if c[0] == f"checkout_session:{made.id}"] == [
        (f"checkout_session:{made.id}", 2000)
    ]
    assert not [c for c in credits(service) if c[0].startswith("payment_intent:")]
    doors = {c.consent_door for c in service.cards(ACCOUNT).cards}
    assert "recharge_link" in doors  # the card the buyer authenticated is saved again
    again = service.run_auto_recharge()
    assert (again.results, again.links) == ({}, {})
    assert len(link_sessions(emulator)) == 1
    assert len(intents(emulator)) == 1  # the one off-session charge, never a second
    assert len(action_events(service)) == 1


def test_a_lost_answer_then_a_restarted_worker_still_makes_one_session(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    # Stripe makes the session but this run loses its answer (as a crash right after would).
    running.control.fault("/v1/checkout/sessions", "lose_answer", count=1, method="POST")
    first = service.run_auto_recharge()
    [(key, state)] = first.results.items()
    assert state == "requires_action"
    running.control.clear_faults()
    assert first.links[key].startswith("not made yet")  # the tests' SDK does not retry
    [shown] = service.auto_recharge(ACCOUNT).attempts
    assert (shown.status, shown.checkout_url) == ("requires_action", None)
    assert action_events(service) == []  # told with its link, once it exists
    restarted = TopUpService.from_settings(service.settings)
    try:
        second = restarted.run_auto_recharge()
        [made] = link_sessions(emulator)  # Stripe's one session, found again by its key
        assert second.links == {key: made.id}
        assert second.results == {}
        [shown] = restarted.auto_recharge(ACCOUNT).attempts
        assert shown.checkout_session_id == made.id
        [told] = action_events(restarted)
        assert told.checkout_session_id == made.id
        assert restarted.run_auto_recharge().links == {}
        assert len(intents(emulator)) == 1
    finally:
        restarted.close()


def test_stripe_down_when_the_link_is_made_leaves_requires_action_and_the_next_run_makes_it(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    running.control.fault("/v1/checkout/sessions", "500", count=20, method="POST")
    first = service.run_auto_recharge()
    [(key, state)] = first.results.items()
    assert state == "requires_action"
    assert first.links[key].startswith("not made yet")
    assert link_sessions(emulator) == []
    [shown] = service.auto_recharge(ACCOUNT).attempts
    assert (shown.status, shown.reason, shown.checkout_url) == ("requires_action", REASON, None)
    assert "not made yet" in invoker(service.settings)("autorecharge", "show", ACCOUNT).output
    running.control.clear_faults()
    second = service.run_auto_recharge()
    [made] = link_sessions(emulator)
    assert (second.results, second.links) == ({}, {key: made.id})
    assert [e.checkout_session_id for e in action_events(service)] == [made.id]
    assert len(intents(emulator)) == 1  # the charge itself is never tried again


def test_a_link_stripe_refuses_is_recorded_and_told_and_never_asked_again(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    running.control.fault("/v1/checkout/sessions", "500", count=20, method="POST")
    [(key, _)] = service.run_auto_recharge().results.items()
    running.control.clear_faults()
    customer = service.cards(ACCOUNT).cards[0].customer_id
    client(emulator).v1.customers.delete(customer)  # now Stripe refuses a session for it
    running.control.wait_idle(timeout=30)
    refused = service.run_auto_recharge().links[key]
    assert refused.startswith("Stripe refused the checkout link")
    [shown] = service.auto_recharge(ACCOUNT).attempts
    assert (shown.status, shown.checkout_url) == ("requires_action", None)
    assert shown.checkout_error == refused
    [told] = action_events(service)
    assert (told.checkout_url, told.checkout_error) == (None, refused)
    assert service.run_auto_recharge().links == {}  # never asked again
    assert link_sessions(emulator) == []


def test_no_other_failure_makes_a_checkout_session(
    running: Running, emulator: EmulatorServer
) -> None:
    saved_and_paid(running)
    service = running.service
    [card] = service.cards(ACCOUNT).cards
    running.control.set_card_decline(card.payment_method_id, "generic_decline")
    service.set_auto_recharge(ACCOUNT, RULE)
    service.credit(ACCOUNT, 500, reason="funds", idempotency_key="funds")
    service.spend(ACCOUNT, 600, idempotency_key="cross")
    run = service.run_auto_recharge()
    assert (list(run.results.values()), run.links) == (["failed"], {})
    assert link_sessions(emulator) == []
    assert action_events(service) == []
    assert service.auto_recharge(ACCOUNT).attempts[0].checkout_session_id is None


def test_a_worker_stopped_between_the_failed_charge_and_the_link_leaves_one_for_the_next(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    [(key, _, _, _)] = attempts(service)
    # What a worker killed right after recording the decline leaves: requires_action, no link.
    assert charge.charge(service.ctx, key) == "requires_action"
    assert link_sessions(emulator) == []
    assert action_events(service) == []
    workers = [TopUpService.from_settings(service.settings) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two instances restart at once
            runs = list(pool.map(lambda worker: worker.run_auto_recharge(), workers))
        [made] = link_sessions(emulator)
        assert made.id in [run.links.get(key) for run in runs]
        assert [e.checkout_session_id for e in action_events(service)] == [made.id]
        assert service.auto_recharge(ACCOUNT).attempts[0].checkout_session_id == made.id
        assert len(intents(emulator)) == 1
    finally:
        for worker in workers:
            worker.close()
