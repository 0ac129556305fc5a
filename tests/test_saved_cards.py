"""Saved cards (issue 15, first part): opt-in through each door, the card and consent
recorded from the paid session's real, signed webhook, removal, and Stripe's card events.

The app runs under uvicorn on loopback with the emulator delivering its webhooks (the real
stripe SDK on both sides); every test runs on both databases.
"""

from __future__ import annotations

import json

import stripe

from stripetopup.core.recharge.consent import CONSENT_VERSION
from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running
from tests.support.cards import checkout, saved_and_paid
from tests.support.cli import invoker


def sdk(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


def test_a_consented_checkout_saves_the_paying_card_with_its_consent(
    running: Running, emulator: EmulatorServer
) -> None:
    response = checkout(running, {"amount_cents": 500, "save_payment_method": True})
    assert response.status_code == 200, response.text
    client = sdk(emulator)
    session = client.v1.checkout.sessions.retrieve(response.json()["id"])
    assert session.customer is not None
    assert session.customer.startswith("cus_")
    assert session.metadata["consent_door"] == "api"
    running.control.pay(session.id)
    running.control.wait_idle(timeout=30)
    [card] = running.service.cards(ACCOUNT).to_json()["cards"]
    assert card["status"] == "active"
    assert (card["brand"], card["last4"]) == ("visa", "4242")
    assert card["exp_month"] >= 1
    assert card["exp_year"] >= 2026
    assert (card["consent_version"], card["consent_door"]) == (CONSENT_VERSION, "api")
    assert card["customer_id"] == session.customer
    pm = client.v1.payment_methods.retrieve(card["payment_method_id"])
    assert pm.customer == session.customer  # attached in Stripe, chargeable off-session
    assert running.service.balance(ACCOUNT).balance_cents == 500
    # A second saving checkout reuses the account's customer.
    again = checkout(running, {"amount_cents": 700, "save_payment_method": True})
    second = client.v1.checkout.sessions.retrieve(again.json()["id"])
    assert second.customer == session.customer


def test_without_consent_nothing_is_saved_and_no_customer_is_made(
    running: Running, emulator: EmulatorServer
) -> None:
    response = checkout(running, {"amount_cents": 500})
    session = sdk(emulator).v1.checkout.sessions.retrieve(response.json()["id"])
    assert session.customer is None
    assert "save_card" not in (session.metadata or {})
    running.control.pay(session.id)
    running.control.wait_idle(timeout=30)
    assert running.service.cards(ACCOUNT).cards == ()
    assert list(sdk(emulator).v1.customers.list().data) == []


def test_a_save_flag_that_is_not_a_boolean_is_refused_before_stripe(
    running: Running, emulator: EmulatorServer
) -> None:
    response = checkout(running, {"amount_cents": 500, "save_payment_method": "yes"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "save_payment_method"
    assert list(sdk(emulator).v1.checkout.sessions.list().data) == []
    assert list(sdk(emulator).v1.customers.list().data) == []


def test_a_redelivered_paid_session_records_its_card_once(running: Running) -> None:
    card = saved_and_paid(running)
    deliveries = running.control.deliveries(type="checkout.session.completed")
    assert deliveries
    for delivered in deliveries:
        running.control.resend(str(delivered["event_id"]))
    running.control.wait_idle(timeout=30)
    assert [c.payment_method_id for c in running.service.cards(ACCOUNT).cards] == [
        card["payment_method_id"]
    ]
    assert running.service.balance(ACCOUNT).balance_cents == 500


def test_cards_remove_detaches_in_stripe_and_ends_the_card(
    running: Running, emulator: EmulatorServer
) -> None:
    card = saved_and_paid(running)
    invoke = invoker(running.service.settings)
    listed = invoke("cards", ACCOUNT, "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["cards"][0]["payment_method_id"] == card["payment_method_id"]
    removed = invoke("cards", "remove", ACCOUNT, card["payment_method_id"], "--json")
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["status"] == "removed"
    assert sdk(emulator).v1.payment_methods.retrieve(card["payment_method_id"]).customer is None
    running.control.wait_idle(timeout=30)  # payment_method.detached arrives: stays removed
    [after] = running.service.cards(ACCOUNT).cards
    assert (after.status, after.ended_reason) == ("removed", "removed by an operator")
    again = invoke("cards", "remove", ACCOUNT, card["payment_method_id"])
    assert again.exit_code == 0, again.output  # ended already: nothing more at Stripe


def test_cards_remove_refuses_a_bad_or_unknown_payment_method(running: Running) -> None:
    invoke = invoker(running.service.settings)
    bad = invoke("cards", "remove", ACCOUNT, "pm_x'; drop table")
    assert bad.exit_code == 2
    assert "pm_" in bad.output
    unknown = invoke("cards", "remove", ACCOUNT, "pm_unknown")
    assert unknown.exit_code == 1
    assert "no saved card" in unknown.output


def test_a_card_detached_in_stripe_is_ended_with_the_reason(
    running: Running, emulator: EmulatorServer
) -> None:
    card = saved_and_paid(running)
    sdk(emulator).v1.payment_methods.detach(card["payment_method_id"])
    running.control.wait_idle(timeout=30)
    [after] = running.service.cards(ACCOUNT).cards
    assert (after.status, after.ended_reason) == ("detached", "payment_method.detached in Stripe")


def test_a_deleted_customer_ends_its_cards_and_a_new_one_is_made_on_next_need(
    running: Running, emulator: EmulatorServer
) -> None:
    card = saved_and_paid(running)
    client = sdk(emulator)
    client.v1.customers.delete(card["customer_id"])
    running.control.wait_idle(timeout=30)
    [after] = running.service.cards(ACCOUNT).cards
    assert (after.status, after.ended_reason) == ("customer_deleted", "customer.deleted in Stripe")
    response = checkout(running, {"amount_cents": 600, "save_payment_method": True})
    session = client.v1.checkout.sessions.retrieve(response.json()["id"])
    assert session.customer not in (None, card["customer_id"])


def test_checkout_save_card_on_the_cli_records_the_cli_door(
    running: Running, emulator: EmulatorServer
) -> None:
    invoke = invoker(running.service.settings)
    made = invoke("checkout", "--amount", "5", "--user", ACCOUNT, "--save-card", "--json")
    assert made.exit_code == 0, made.output
    session_id = json.loads(made.stdout)["id"]
    running.control.pay(session_id)
    running.control.wait_idle(timeout=30)
    [card] = running.service.cards(ACCOUNT).cards
    assert card.consent_door == "cli"
    shown = invoke("cards", ACCOUNT)
    assert shown.exit_code == 0
    assert "4242" in shown.output
