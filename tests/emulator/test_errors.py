"""Error statuses map to the SDK's exception classes; keys are checked like Stripe; SDK retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorServer


def test_a_missing_key_is_an_authentication_error(emulator: EmulatorServer) -> None:
    response = httpx.get(f"{emulator.url}/v1/checkout/sessions")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in response.json()["error"]["message"]
    assert response.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize("key", ["sk_nope_123456789012", "pk_test_1234567890abcd", "garbage"])
def test_malformed_keys_are_refused_without_echoing_them(client_factory: Any, key: str) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        client_factory(key).v1.checkout.sessions.list()
    assert key not in caught.value.user_message
    assert caught.value.http_status == 401


@pytest.mark.parametrize("key", ["sk_live_abcdefgh12345678", "rk_live_abcdefgh12345678"])
def test_live_keys_are_refused_with_a_clear_message(client_factory: Any, key: str) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        client_factory(key).v1.checkout.sessions.list()
    message = caught.value.user_message
    assert "refuses live keys" in message
    assert key not in message
    assert f"{key[:8]}****5678" in message


def test_a_restricted_key_without_write_gets_stripes_permission_error(
    client_factory: Any, control: EmulatorControl, params: Any
) -> None:
    key = control.create_restricted_key({"checkout_sessions": "read", "events": "read"})
    restricted = client_factory(key)
    assert restricted.v1.checkout.sessions.list().data == []
    with pytest.raises(stripe.PermissionError) as caught:
        restricted.v1.checkout.sessions.create(params=params())
    message = caught.value.user_message
    assert "'rak_checkout_session_write' permission" in message
    assert key not in message
    with pytest.raises(stripe.PermissionError) as caught:
        restricted.v1.refunds.list()
    assert "rak_refund_read" in caught.value.user_message


def test_an_unregistered_restricted_test_key_has_every_permission(
    client_factory: Any, params: Any
) -> None:
    session = client_factory("rk_test_unregistered12345").v1.checkout.sessions.create(
        params=params()
    )
    assert session.status == "open"


def test_an_unknown_url_is_a_stripe_404(emulator: EmulatorServer) -> None:
    response = httpx.get(
        f"{emulator.url}/v1/nothing", headers={"Authorization": "Bearer sk_test_123456789"}
    )
    assert response.status_code == 404
    assert "Unrecognized request URL (GET: /v1/nothing)" in response.json()["error"]["message"]


def test_injected_500_is_an_api_error(client: Any, control: EmulatorControl) -> None:
    control.fault("/v1/checkout/sessions", "500", count=1)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.checkout.sessions.list()
    assert caught.value.http_status == 500
    assert client.v1.checkout.sessions.list().data == []


def test_injected_429_is_a_rate_limit_error(client: Any, control: EmulatorControl) -> None:
    control.fault("/v1/events", "429", count=1, method="GET")
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.events.list()
    assert caught.value.http_status == 429


@pytest.mark.parametrize("kind", ["500", "429"])
def test_the_sdk_retries_through_two_injected_faults(
    client_factory: Any, control: EmulatorControl, params: Any, kind: str
) -> None:
    control.fault("/v1/checkout/sessions", kind, count=2, method="POST")
    session = client_factory(retries=2).v1.checkout.sessions.create(params=params())
    assert session.status == "open"
    assert len(list(client_factory().v1.checkout.sessions.list().auto_paging_iter())) == 1


def test_a_hang_fault_delays_the_answer(client: Any, control: EmulatorControl) -> None:
    control.fault("/v1/events", "hang", count=1, hang_seconds=0.3)
    assert client.v1.events.list().data == []


def test_every_error_has_stripes_shape(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    error = caught.value.json_body["error"]
    assert set(error) >= {"type", "message", "code", "param", "doc_url"}
    assert caught.value.request_id.startswith("req_")
