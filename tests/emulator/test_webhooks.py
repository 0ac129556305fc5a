"""Webhook delivery to a real receiver: signatures, secret rolls, retries, duplicates, order."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl

SECRET = "whsec_test_secret_one"
OTHER = "whsec_test_secret_two"


def verify(received: Any, secret: str) -> Any:
    return stripe.Webhook.construct_event(
        received.body.decode("utf-8"), received.headers["Stripe-Signature"], secret
    )


def test_deliveries_are_signed_so_the_sdk_accepts_them(
    control: EmulatorControl, receiver: Any, paid_session: Any
) -> None:
    control.add_webhook_endpoint(receiver.url, secrets=[SECRET])
    control.pay(control.seed(count=1, state="open")["first_id"])
    control.wait_idle()
    assert [r.headers["Content-Type"] for r in receiver.received] == [
        "application/json; charset=utf-8"
    ] * 3
    event = verify(receiver.received[-1], SECRET)
    assert event.type == "checkout.session.completed"
    assert "Stripe/1.0" in receiver.received[-1].headers["User-Agent"]
    with pytest.raises(stripe.SignatureVerificationError):
        verify(receiver.received[-1], "whsec_wrong")


def test_a_generated_secret_is_returned_and_used(
    control: EmulatorControl, receiver: Any, client: Any
) -> None:
    endpoint = control.add_webhook_endpoint(receiver.url, enabled_events=["checkout.*", "x"])
    secret = endpoint["secrets"][0]
    assert secret.startswith("whsec_")
    listed = client.v1.webhook_endpoints.list()
    assert [e.id for e in listed.data] == [endpoint["id"]]
    assert "secret" not in json.dumps(listed.data[0].to_dict())


def test_while_two_secrets_are_active_either_verifies(
    control: EmulatorControl, receiver: Any, params: Any, client: Any
) -> None:
    endpoint = control.add_webhook_endpoint(receiver.url, secrets=[SECRET])
    control.update_webhook_endpoint(endpoint["id"], secrets=[SECRET, OTHER])
    session = client.v1.checkout.sessions.create(params=params())
    control.pay(session.id)
    control.wait_idle()
    last = receiver.received[-1]
    assert last.headers["Stripe-Signature"].count("v1=") == 2
    assert verify(last, SECRET).id == verify(last, OTHER).id
    control.update_webhook_endpoint(endpoint["id"], secrets=[OTHER])
    control.resend(verify(last, OTHER).id)
    control.wait_idle()
    with pytest.raises(stripe.SignatureVerificationError):
        verify(receiver.received[-1], SECRET)


def test_only_enabled_event_types_are_sent(
    control: EmulatorControl, receiver: Any, client: Any, params: Any
) -> None:
    control.add_webhook_endpoint(receiver.url, enabled_events=["checkout.session.completed"])
    session = client.v1.checkout.sessions.create(params=params())
    control.pay(session.id)
    control.wait_idle()
    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]
    event = client.v1.events.retrieve(receiver.events()[0]["id"])
    assert event.pending_webhooks == 0


def test_a_failing_receiver_is_retried_until_it_answers_200(
    control: EmulatorControl, receiver: Any, client: Any, params: Any
) -> None:
    control.add_webhook_endpoint(receiver.url, enabled_events=["checkout.session.completed"])
    receiver.statuses.extend([500, 503])
    session = client.v1.checkout.sessions.create(params=params())
    control.pay(session.id)
    control.wait_idle()
    attempts = control.deliveries(type="checkout.session.completed")
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len({r.body for r in receiver.received}) == 1


def test_retries_stop_after_max_attempts_and_connection_errors_are_recorded(
    control: EmulatorControl, client: Any, params: Any
) -> None:
    control.configure_delivery(max_attempts=2, retry_schedule=[0.01])
    control.add_webhook_endpoint("http://127.0.0.1:9/nothing", enabled_events=["*"])
    control.pay(client.v1.checkout.sessions.create(params=params()).id)
    control.wait_idle()
    attempts = control.deliveries(type="checkout.session.completed")
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert all(a["status_code"] is None and a["error"] for a in attempts)


def test_duplicates_send_each_event_again(
    control: EmulatorControl, receiver: Any, client: Any, params: Any
) -> None:
    control.configure_delivery(duplicates=2, concurrent_duplicates=True)
    control.add_webhook_endpoint(receiver.url, enabled_events=["checkout.session.completed"])
    control.pay(client.v1.checkout.sessions.create(params=params()).id)
    control.wait_idle()
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 3
    assert len(set(ids)) == 1


def test_reverse_order_delivers_one_actions_events_backwards(
    control: EmulatorControl, receiver: Any, client: Any, params: Any
) -> None:
    control.configure_delivery(reverse_order=True)
    control.add_webhook_endpoint(receiver.url)
    control.pay(client.v1.checkout.sessions.create(params=params()).id)
    control.wait_idle()
    assert [e["type"] for e in receiver.events()] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
    ]


def test_a_deleted_endpoint_receives_nothing(
    control: EmulatorControl, receiver: Any, client: Any, params: Any
) -> None:
    endpoint = control.add_webhook_endpoint(receiver.url)
    control.delete_webhook_endpoint(endpoint["id"])
    control.pay(client.v1.checkout.sessions.create(params=params()).id)
    control.wait_idle()
    assert receiver.received == []
