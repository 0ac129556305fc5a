"""Checkout Sessions through the official SDK: create, idempotency, retrieve, expand, expire."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorServer


def test_create_returns_an_open_session_with_a_hosted_page_url(
    client: Any, params: Any, emulator: EmulatorServer
) -> None:
    session = client.v1.checkout.sessions.create(
        params=params(
            1250,
            client_reference_id="acct-1",
            metadata={"account": "acct-1"},
            customer_email="a@example.com",
        )
    )
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (1250, 1250, "usd")
    assert session.client_reference_id == "acct-1"
    assert session.metadata.to_dict() == {"account": "acct-1"}
    assert session.url == f"{emulator.url}/c/pay/{session.id}"
    assert session.expires_at == session.created + 24 * 3600
    assert session.payment_intent is None
    assert session.livemode is False


def test_same_idempotency_key_and_parameters_replays_the_same_session(
    client: Any, params: Any
) -> None:
    first = client.v1.checkout.sessions.create(params=params(), options={"idempotency_key": "k-1"})
    again = client.v1.checkout.sessions.create(params=params(), options={"idempotency_key": "k-1"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(list(client.v1.checkout.sessions.list().auto_paging_iter())) == 1


def test_same_idempotency_key_with_other_parameters_is_an_idempotency_error(
    client: Any, params: Any
) -> None:
    client.v1.checkout.sessions.create(params=params(500), options={"idempotency_key": "k-2"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.checkout.sessions.create(params=params(600), options={"idempotency_key": "k-2"})
    assert "same parameters" in caught.value.user_message
    assert caught.value.http_status == 400


def test_idempotency_keys_are_scoped_per_api_key(client_factory: Any, params: Any) -> None:
    one = client_factory("sk_test_firstkey0001")
    two = client_factory("sk_test_secondkey002")
    a = one.v1.checkout.sessions.create(params=params(500), options={"idempotency_key": "k"})
    b = two.v1.checkout.sessions.create(params=params(700), options={"idempotency_key": "k"})
    assert a.id != b.id


def test_retrieve_expands_payment_intent_charge_and_line_items(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(500, payment_intent_data={"metadata": {"account": "acct-9"}})
    )
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["payment_intent.latest_charge", "line_items"]}
    )
    assert (session.status, session.payment_status, session.url) == ("complete", "paid", None)
    pi = session.payment_intent
    assert pi.object == "payment_intent"
    assert pi.status == "succeeded"
    assert pi.metadata.to_dict() == {"account": "acct-9"}
    assert pi.latest_charge.object == "charge"
    assert pi.latest_charge.paid is True
    assert pi.latest_charge.amount == 500
    assert session.line_items.data[0].description == "Account credit"
    plain = client.v1.checkout.sessions.retrieve(created.id)
    assert plain.payment_intent == pi.id


def test_line_items_are_listed_in_order(client: Any, params: Any) -> None:
    extra = {"price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "B"}}}
    p = params(500)
    p["line_items"].append({**extra, "quantity": 3})
    session = client.v1.checkout.sessions.create(params=p)
    assert session.amount_total == 800
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("Account credit", 1, 500),
        ("B", 3, 300),
    ]


@pytest.mark.parametrize(
    ("change", "code", "param"),
    [
        ({"success_url": None}, "parameter_missing", "success_url"),
        ({"mode": None}, "parameter_missing", "mode"),
        ({"line_items": None}, "parameter_missing", "line_items"),
        ({"bogus": "1"}, "parameter_unknown", "bogus"),
    ],
)
def test_invalid_parameters_are_refused_like_stripe(
    client: Any, params: Any, change: dict[str, Any], code: str, param: str
) -> None:
    p = params()
    for key, value in change.items():
        if value is None:
            p.pop(key)
        else:
            p[key] = value
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=p)
    assert (caught.value.code, caught.value.param, caught.value.http_status) == (code, param, 400)


def test_a_total_under_fifty_cents_is_amount_too_small(client: Any, params: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params(49))
    assert caught.value.code == "amount_too_small"
    assert "at least $0.50 usd" in caught.value.user_message


def test_a_non_integer_amount_is_parameter_invalid_integer(client: Any, params: Any) -> None:
    p = params()
    p["line_items"][0]["price_data"]["unit_amount"] = "5.5"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=p)
    assert caught.value.code == "parameter_invalid_integer"
    assert caught.value.param == "line_items[0][price_data][unit_amount]"


def test_expires_at_must_be_between_thirty_minutes_and_a_day(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    now = control.now()
    for bad in (now + 60, now + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.checkout.sessions.create(params=params(expires_at=bad))
        assert caught.value.param == "expires_at"
    good = client.v1.checkout.sessions.create(params=params(expires_at=now + 3600))
    assert good.expires_at == now + 3600


def test_expire_closes_an_open_session_once(client: Any, params: Any) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    events = client.v1.events.list(params={"type": "checkout.session.expired"})
    assert [e.data.object.id for e in events.data] == [session.id]
    assert events.data[0].request.id is not None


def test_advancing_the_clock_past_expires_at_expires_the_session(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    control.advance_clock(24 * 3600 + 1)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_unknown_session_is_resource_missing(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.user_message == "No such checkout.session: 'cs_test_nope'"
