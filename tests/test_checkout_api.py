"""POST /billing/checkout-session and GET /billing/balance: auth, amounts, origins, and the
one JSON error shape on every error path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import pytest
import stripe
from pydantic import SecretStr

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl, EmulatorServer
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, API_KEY, ORIGIN, Running, make_settings
from tests.support.servers import serve_in_thread

JWT_SECRET = "jwt-test-secret-" + "x" * 32


def post_checkout(running: Running, body: Any, token: str | None, origin: str | None = ORIGIN):  # type: ignore[no-untyped-def]
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if origin is not None:
        headers["Origin"] = origin
    return running.http.post("/billing/checkout-session", json=body, headers=headers)


def stripe_sessions(emulator_url: str) -> list[Any]:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url})
    return list(client.v1.checkout.sessions.list(params={"limit": 100}).data)


def assert_error_shape(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "param"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_checkout_returns_a_session_whose_stripe_side_is_what_we_asked(
    running: Running, emulator: EmulatorServer
) -> None:
    response = post_checkout(running, {"amount": "12.34"}, running.user_token())
    assert response.status_code == 200
    created = response.json()
    assert created["amount_cents"] == 1234
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    session = client.v1.checkout.sessions.retrieve(created["id"])
    assert session.client_reference_id == ACCOUNT
    assert session.metadata["account_id"] == ACCOUNT
    assert session.amount_total == 1234
    assert session.currency == "usd"
    assert session.success_url == f"{ORIGIN}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert session.cancel_url == f"{ORIGIN}/billing/cancel"
    [payment] = running.service.payments()
    assert (payment.checkout_session_id, payment.amount_requested_cents) == (created["id"], 1234)


def test_a_retried_checkout_with_the_same_idempotency_key_reuses_the_session(
    running: Running, emulator: EmulatorServer
) -> None:
    token = running.user_token()
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN, "Idempotency-Key": "k-1"}
    first = running.http.post(
        "/billing/checkout-session", json={"amount_cents": 500}, headers=headers
    )
    again = running.http.post(
        "/billing/checkout-session", json={"amount_cents": 500}, headers=headers
    )
    assert first.json()["id"] == again.json()["id"]
    assert len(stripe_sessions(emulator.url)) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount_cents": 49}, "invalid_amount"),
        ({"amount_cents": 1_000_001}, "invalid_amount"),
        ({"amount_cents": 0}, "invalid_amount"),
        ({"amount_cents": -500}, "invalid_amount"),
        ({"amount_cents": 5.5}, "invalid_amount"),
        ({"amount_cents": "500"}, "invalid_amount"),
        ({"amount_cents": True}, "invalid_amount"),
        ({"amount": "5.001"}, "invalid_amount"),
        ({"amount": "NaN"}, "invalid_amount"),
        ({"amount": "Infinity"}, "invalid_amount"),
        ({"amount": "1e3"}, "invalid_amount"),
        ({"amount": "0.49"}, "invalid_amount"),
        ({"amount": "5", "amount_cents": 500}, "invalid_request"),
        ({}, "invalid_request"),
        ([500], "invalid_request"),
    ],
)
def test_a_bad_amount_is_400_and_never_reaches_stripe(
    running: Running, emulator: EmulatorServer, body: Any, code: str
) -> None:
    response = post_checkout(running, body, running.user_token())
    assert_error_shape(response, 400, code)
    assert stripe_sessions(emulator.url) == []
    assert running.service.payments() == []


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "http://app.example.com",
        "null",
        "https://app.example.com.evil.io",
        None,
    ],
)
def test_an_origin_that_is_not_allowed_never_reaches_stripe(
    running: Running, emulator: EmulatorServer, origin: str | None
) -> None:
    response = post_checkout(running, {"amount_cents": 500}, running.user_token(), origin=origin)
    assert_error_shape(
        response, 403 if origin else 400, "origin_not_allowed" if origin else "invalid_request"
    )
    assert stripe_sessions(emulator.url) == []


@pytest.mark.parametrize("token", [None, "stu_not-a-real-token", "garbage", "eyJ.a.b"])
def test_no_token_or_a_bad_token_is_401_and_writes_nothing(
    running: Running, emulator: EmulatorServer, token: str | None
) -> None:
    response = post_checkout(running, {"amount_cents": 500}, token)
    assert_error_shape(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stripe_sessions(emulator.url) == []
    balance = running.http.get("/billing/balance", headers={"Authorization": f"Bearer {token}"})
    assert_error_shape(balance, 401, "unauthorized")


def test_a_token_with_non_ascii_bytes_is_401(running: Running) -> None:
    headers = [
        (b"Authorization", "Bearer stu_\u00e9t\u00e9".encode("latin-1")),
        (b"Origin", ORIGIN.encode()),
    ]
    response = running.http.post(
        "/billing/checkout-session", json={"amount_cents": 500}, headers=headers
    )
    assert_error_shape(response, 401, "unauthorized")


def test_a_revoked_token_is_401(running: Running) -> None:
    credential, token = running.service.create_token(ACCOUNT)
    assert post_checkout(running, {"amount_cents": 500}, token).status_code == 200
    running.service.revoke_credential("user", credential.id)
    assert_error_shape(post_checkout(running, {"amount_cents": 500}, token), 401, "unauthorized")


def test_a_service_key_is_refused_on_user_endpoints(running: Running) -> None:
    _, key = running.service.create_service_key("billing-worker")
    assert_error_shape(post_checkout(running, {"amount_cents": 500}, key), 403, "forbidden")


def test_unknown_routes_and_methods_use_the_error_shape(running: Running) -> None:
    assert_error_shape(running.http.get("/nope"), 404, "not_found")
    assert_error_shape(running.http.get("/billing/webhook"), 405, "method_not_allowed")


def test_health_and_version(running: Running) -> None:
    assert running.http.get("/healthz").json() == {"status": "ok", "database": "ok"}
    assert running.http.get("/version").json()["version"]


@contextmanager
def jwt_server(database_url: str, emulator_url: str, **overrides: object) -> Iterator[str]:
    settings: Settings = make_settings(
        database_url, emulator_url, jwt_secret=SecretStr(JWT_SECRET), **overrides
    )
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    with serve_in_thread(create_app(service)) as url:
        yield url
    service.close()


@pytest.fixture
def jwt_app(database_url: str, emulator: EmulatorServer) -> Iterator[str]:
    with jwt_server(database_url, emulator.url) as url:
        yield url


def _jwt(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_jwts_need_the_shared_secret_an_expiry_and_a_known_account(jwt_app: str) -> None:
    # An hour either side of the real clock: a loaded machine never moves a token across.
    now = int(time.time())
    cases = {
        _jwt({"sub": ACCOUNT, "exp": now + 3600}): 200,
        _jwt({"sub": ACCOUNT}): 401,
        _jwt({"sub": ACCOUNT, "exp": now - 3600}): 401,
        _jwt({"sub": ACCOUNT, "exp": now + 3600}, secret="another-secret-" + "y" * 32): 401,
        _jwt({"sub": "acct-unknown", "exp": now + 3600}): 401,
        jwt.encode({"sub": ACCOUNT, "exp": now + 3600}, key=None, algorithm="none"): 401,
    }
    with httpx.Client(base_url=jwt_app) as http:
        for token, status in cases.items():
            response = http.get("/billing/balance", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == status, token


LATER = 9_999_999_999  # year 2286: far from any clock, so only the claim's type decides


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"sub": ACCOUNT, "exp": LATER}, 200),
        ({"sub": ACCOUNT, "exp": float(LATER), "nbf": 1, "iat": 1.5}, 200),
        ({"sub": ACCOUNT, "exp": str(LATER)}, 401),
        ({"sub": ACCOUNT, "exp": True}, 401),
        ({"sub": ACCOUNT, "exp": None}, 401),
        ({"sub": ACCOUNT, "exp": [LATER]}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "nbf": "1"}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "nbf": False}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "nbf": LATER}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "iat": "1"}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "iat": True}, 401),
        ({"sub": ACCOUNT, "exp": LATER, "iat": LATER}, 401),
        ({"sub": "", "exp": LATER}, 401),
        ({"sub": 42, "exp": LATER}, 401),
        ({"sub": [ACCOUNT], "exp": LATER}, 401),
        ({"exp": LATER}, 401),
    ],
)
def test_a_jwt_whose_claims_have_the_wrong_json_types_is_401_and_writes_nothing(
    jwt_app: str,
    emulator: EmulatorServer,
    control: EmulatorControl,
    claims: dict[str, Any],
    status: int,
) -> None:
    headers = {"Authorization": f"Bearer {_jwt(claims)}", "Origin": ORIGIN}
    with httpx.Client(base_url=jwt_app) as http:
        response = http.post(
            "/billing/checkout-session", json={"amount_cents": 500}, headers=headers
        )
    if status == 200:
        assert response.status_code == 200, response.text
        return
    assert_error_shape(response, 401, "unauthorized")
    assert response.json()["error"]["param"] is None
    assert stripe_sessions(emulator.url) == []


@pytest.mark.parametrize(
    ("aud", "status"),
    [
        ("stripetopup", 200),
        (["other", "stripetopup"], 200),
        ("other", 401),
        (None, 401),
        (42, 401),
        ([42], 401),
        ({"stripetopup": True}, 401),
    ],
)
def test_a_jwt_must_name_the_configured_audience_as_a_string(
    database_url: str, emulator: EmulatorServer, aud: object, status: int
) -> None:
    claims: dict[str, Any] = {"sub": ACCOUNT, "exp": LATER}
    if aud is not None:
        claims["aud"] = aud
    headers = {"Authorization": f"Bearer {_jwt(claims)}"}
    with (
        jwt_server(database_url, emulator.url, jwt_audience="stripetopup") as url,
        httpx.Client(base_url=url) as http,
    ):
        response = http.get("/billing/balance", headers=headers)
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error_shape(response, 401, "unauthorized")
