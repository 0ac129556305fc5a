"""Rate limits: failed authentications, checkout creation and forged webhook signatures get
429 with Retry-After in the one error shape, reset after their window, are shared through
Redis, and never touch a genuine Stripe delivery.

Each test serves its own app on loopback with the limits it needs (long windows where only
the refusal matters; "1 per 5 seconds" where the reset is shown, waiting out Retry-After
plus a margin). Nothing asserts that something happens within a time.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
import stripe
from starlette.requests import Request

from stripetopup.config import load_settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from stripetopup.errors import ConfigError
from stripetopup.web.app import create_app
from stripetopup.web.ratelimit import address_of
from tests.conftest import ACCOUNT, API_KEY, NEW_SECRET, OLD_SECRET, ORIGIN, make_settings
from tests.support.servers import cli_env, run_cli, serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign

REDIS_URL = os.environ.get("STRIPETOPUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JWT_SECRET = "jwt-rate-limit-secret-" + "y" * 32
TABLES = ("ledger_entries", "stripe_payments", "webhook_events", "accounts")
LONG = "1000/hour"  # a limit a test never reaches


@dataclass
class App:
    url: str
    service: TopUpService
    http: httpx.Client


@contextmanager
def serve(database_url: str, emulator_url: str, **settings: Any) -> Iterator[App]:
    """The app on loopback with these settings (and the emulator's Stripe)."""
    values: dict[str, Any] = {"jwt_secret": JWT_SECRET}
    values.update(settings)
    service = TopUpService.from_settings(make_settings(database_url, emulator_url, **values))
    service.open_account(ACCOUNT)
    try:
        with (
            serve_in_thread(create_app(service)) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            yield App(url, service, http)
    finally:
        service.close()


def counts(service: TopUpService) -> dict[str, int]:
    with service.engine.connect() as connection:
        return {
            table: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


def assert_rate_limited(response: httpx.Response, at_most_seconds: int) -> int:
    """429 in the one error shape with a Retry-After of 1..at_most_seconds; returns it."""
    assert response.status_code == 429, response.text
    payload = response.json()
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "param", "request_id"}
    assert payload["error"]["code"] == "rate_limited"
    assert payload["error"]["param"] is None
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= at_most_seconds
    assert f"retry in {retry_after} seconds" in payload["error"]["message"]
    return retry_after


def opened_token(service: TopUpService, account_id: str) -> str:
    """A user token for ``account_id``, opened first (tokens never open accounts)."""
    service.open_account(account_id)
    return service.create_token(account_id)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def checkout(app: App, token: str) -> httpx.Response:
    headers = {**bearer(token), "Origin": ORIGIN}
    return app.http.post("/billing/checkout-session", json={"amount_cents": 500}, headers=headers)


def deliver(app: App, payload: bytes, signature: str) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    return app.http.post("/billing/webhook", content=payload, headers=headers)


def paid_event(amount: int = 500) -> bytes:
    return body(event("checkout.session.completed", checkout_session(ACCOUNT, amount)))


def forged(app: App) -> httpx.Response:
    payload = paid_event()
    return deliver(app, payload, sign(payload, "whsec_forged_" + "z" * 24))


def stripe_session_count(emulator_url: str) -> int:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url})
    return len(client.v1.checkout.sessions.list(params={"limit": 100}).data)


# Failed authentications ------------------------------------------------------------------


def bad_user_token(app: App) -> httpx.Response:
    return app.http.get("/billing/balance", headers=bearer("stu_" + secrets.token_urlsafe(32)))


def bad_jwt(app: App) -> httpx.Response:
    token = jwt.encode({"sub": ACCOUNT, "exp": int(time.time()) + 600}, "not-the-secret" * 4)
    return app.http.get("/billing/balance", headers=bearer(token))


def bad_service_key(app: App) -> httpx.Response:
    key = "stk_" + secrets.token_urlsafe(32)
    return app.http.get(f"/api/v1/accounts/{ACCOUNT}/balance", headers=bearer(key))


def good_user_token(app: App) -> httpx.Response:
    return app.http.get("/billing/balance", headers=bearer(app.service.create_token(ACCOUNT)[1]))


def good_jwt(app: App) -> httpx.Response:
    token = jwt.encode({"sub": ACCOUNT, "exp": int(time.time()) + 600}, JWT_SECRET)
    return app.http.get("/billing/balance", headers=bearer(token))


def good_service_key(app: App) -> httpx.Response:
    key = app.service.create_service_key("host-app")[1]
    return app.http.get(f"/api/v1/accounts/{ACCOUNT}/balance", headers=bearer(key))


@pytest.mark.parametrize(
    ("fail", "succeed"),
    [(bad_user_token, good_user_token), (bad_jwt, good_jwt), (bad_service_key, good_service_key)],
    ids=["user token", "JWT", "service key"],
)
def test_an_address_that_keeps_failing_to_authenticate_gets_429_before_its_credential_is_checked(
    database_url: str, emulator: EmulatorServer, fail: Any, succeed: Any
) -> None:
    with serve(database_url, emulator.url, rate_limit_auth_failures="3/hour") as app:
        assert [fail(app).status_code for _ in range(3)] == [401, 401, 401]
        before = counts(app.service)
        assert_rate_limited(fail(app), 3600)
        # A good credential from the same address is refused too: it is not even looked at.
        assert_rate_limited(succeed(app), 3600)
        assert counts(app.service) == before


def test_all_kinds_of_failed_credential_count_against_one_allowance_per_address(
    database_url: str, emulator: EmulatorServer
) -> None:
    with serve(database_url, emulator.url, rate_limit_auth_failures="3/hour") as app:
        assert bad_user_token(app).status_code == 401
        assert bad_jwt(app).status_code == 401
        assert bad_service_key(app).status_code == 401
        assert_rate_limited(bad_user_token(app), 3600)
        assert_rate_limited(good_service_key(app), 3600)


def test_missing_credentials_wrong_doors_and_good_credentials_are_never_counted(
    database_url: str, emulator: EmulatorServer
) -> None:
    with serve(database_url, emulator.url, rate_limit_auth_failures="2/hour") as app:
        token = app.service.create_token(ACCOUNT)[1]
        key = app.service.create_service_key("host-app")[1]
        for _ in range(10):
            assert app.http.get("/billing/balance").status_code == 401
            assert app.http.get("/billing/balance", headers=bearer(token)).status_code == 200
            assert app.http.get("/billing/balance", headers=bearer(key)).status_code == 403
            balance = app.http.get(f"/api/v1/accounts/{ACCOUNT}/balance", headers=bearer(key))
            assert balance.status_code == 200
        assert [bad_user_token(app).status_code for _ in range(2)] == [401, 401]
        assert_rate_limited(bad_user_token(app), 3600)


# Checkout creation -----------------------------------------------------------------------


def test_checkout_sessions_for_one_account_are_limited_and_a_refused_one_reaches_no_stripe(
    database_url: str, emulator: EmulatorServer
) -> None:
    limits = {"rate_limit_checkout_per_account": "2/hour", "rate_limit_checkout_per_address": LONG}
    with serve(database_url, emulator.url, **limits) as app:
        token = app.service.create_token(ACCOUNT)[1]
        assert [checkout(app, token).status_code for _ in range(2)] == [200, 200]
        sessions, before = stripe_session_count(emulator.url), counts(app.service)
        assert_rate_limited(checkout(app, token), 3600)
        assert stripe_session_count(emulator.url) == sessions
        assert counts(app.service) == before
        # Another account from the same address has its own allowance.
        other = opened_token(app.service, "acct-bob")
        assert checkout(app, other).status_code == 200


def test_checkout_sessions_from_one_address_are_limited_across_accounts(
    database_url: str, emulator: EmulatorServer
) -> None:
    limits = {"rate_limit_checkout_per_account": LONG, "rate_limit_checkout_per_address": "2/hour"}
    with serve(database_url, emulator.url, **limits) as app:
        tokens = [opened_token(app.service, f"acct-{n}") for n in range(3)]
        assert checkout(app, tokens[0]).status_code == 200
        assert checkout(app, tokens[1]).status_code == 200
        sessions, before = stripe_session_count(emulator.url), counts(app.service)
        assert_rate_limited(checkout(app, tokens[2]), 3600)
        assert stripe_session_count(emulator.url) == sessions
        assert counts(app.service) == before


def test_a_checkout_refused_for_its_body_does_not_use_the_allowance(
    database_url: str, emulator: EmulatorServer
) -> None:
    limits = {"rate_limit_checkout_per_account": "1/hour", "rate_limit_checkout_per_address": LONG}
    with serve(database_url, emulator.url, **limits) as app:
        headers = {**bearer(app.service.create_token(ACCOUNT)[1]), "Origin": ORIGIN}
        for amount in (0, -5, "x", True):
            response = app.http.post(
                "/billing/checkout-session", json={"amount_cents": amount}, headers=headers
            )
            assert response.status_code == 400, response.text
        assert checkout(app, app.service.create_token(ACCOUNT)[1]).status_code == 200
        assert_rate_limited(checkout(app, app.service.create_token(ACCOUNT)[1]), 3600)


# Webhook signatures ----------------------------------------------------------------------


def test_forged_signatures_from_an_address_get_429_but_a_genuine_delivery_from_it_is_applied(
    database_url: str, emulator: EmulatorServer
) -> None:
    with serve(database_url, emulator.url, rate_limit_forged_signatures="3/hour") as app:
        responses = [forged(app) for _ in range(3)]
        assert [r.json()["error"]["code"] for r in responses] == ["invalid_signature"] * 3
        assert {r.status_code for r in responses} == {400}
        before = counts(app.service)
        assert_rate_limited(forged(app), 3600)
        assert counts(app.service) == before
        payload = paid_event(700)
        genuine = deliver(app, payload, sign(payload, NEW_SECRET))
        assert genuine.status_code == 200, genuine.text
        assert genuine.json()["result"] == "credited"
        assert app.service.balance(ACCOUNT).balance_cents == 700


def test_a_burst_of_genuine_deliveries_is_never_limited_while_forged_ones_beside_it_are(
    database_url: str, emulator: EmulatorServer
) -> None:
    unique = [paid_event(100 + n) for n in range(150)]
    genuine = unique + unique[:50]  # 200 deliveries, 50 of them Stripe's duplicates
    # One forgery after every tenth genuine delivery, all from this test's one address.
    sends = [("genuine", n) for n in range(200)]
    for position in range(20):
        sends.insert(position * 11 + 10, ("forged", position))

    with serve(database_url, emulator.url, rate_limit_forged_signatures="2/hour") as app:

        def send(kind_and_index: tuple[str, int]) -> tuple[str, int]:
            kind, index = kind_and_index
            if kind == "forged":
                return kind, forged(app).status_code
            payload, secret = genuine[index], (NEW_SECRET if index % 2 else OLD_SECRET)
            return kind, deliver(app, payload, sign(payload, secret)).status_code  # signed now

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(send, sends))
        assert [status for kind, status in answers if kind == "genuine"] == [200] * 200
        forged_statuses = sorted(status for kind, status in answers if kind == "forged")
        assert forged_statuses == [400] * 2 + [429] * 18
        assert app.service.balance(ACCOUNT).balance_cents == sum(100 + n for n in range(150))
        assert counts(app.service)["webhook_events"] == 150


# Reset after the window ------------------------------------------------------------------


def test_every_limit_lets_its_client_through_again_once_retry_after_has_passed(
    database_url: str, emulator: EmulatorServer
) -> None:
    short = "1 per 5 seconds"
    limits = {
        "rate_limit_auth_failures": short,
        "rate_limit_checkout_per_account": short,
        "rate_limit_checkout_per_address": LONG,
        "rate_limit_forged_signatures": short,
    }
    with serve(database_url, emulator.url, **limits) as app:
        token = app.service.create_token(ACCOUNT)[1]
        waits = []
        # Each pair is sent back to back: the second is inside the first's 5-second window.
        assert checkout(app, token).status_code == 200
        waits.append(assert_rate_limited(checkout(app, token), 5))
        assert forged(app).status_code == 400
        waits.append(assert_rate_limited(forged(app), 5))
        assert bad_user_token(app).status_code == 401
        waits.append(assert_rate_limited(good_user_token(app), 5))

        time.sleep(max(waits) + 1.5)  # Retry-After plus a margin: every window has passed

        assert good_user_token(app).status_code == 200
        assert checkout(app, token).status_code == 200
        assert forged(app).status_code == 400


# Where the address comes from --------------------------------------------------------------


def failed_login_from(app: App, client: str) -> httpx.Response:
    headers = {**bearer("stu_" + secrets.token_urlsafe(32)), "X-Forwarded-For": client}
    return app.http.get("/billing/balance", headers=headers)


def forged_from(app: App, client: str) -> httpx.Response:
    payload = paid_event()
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": sign(payload, "whsec_forged_" + "z" * 24),
        "X-Forwarded-For": client,
    }
    return app.http.post("/billing/webhook", content=payload, headers=headers)


# The webhook is served by its own door, ahead of the app's middleware: it must believe the
# same proxies as every other route, and only them.
@pytest.mark.parametrize(
    ("limit", "refused_from", "status"),
    [
        ("rate_limit_auth_failures", failed_login_from, 401),
        ("rate_limit_forged_signatures", forged_from, 400),
    ],
    ids=["authentication", "webhook"],
)
def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    database_url: str,
    emulator: EmulatorServer,
    limit: str,
    refused_from: Callable[[App, str], httpx.Response],
    status: int,
) -> None:
    with serve(database_url, emulator.url, **{limit: "1/hour"}) as app:
        assert refused_from(app, "203.0.113.7").status_code == status
        assert_rate_limited(refused_from(app, "203.0.113.8"), 3600)  # one peer, one count
    with serve(
        database_url, emulator.url, **{limit: "1/hour"}, trusted_proxies=["127.0.0.1"]
    ) as app:
        assert refused_from(app, "203.0.113.7").status_code == status
        limited = refused_from(app, "203.0.113.7")
        assert_rate_limited(limited, 3600)
        assert limited.headers["Request-Id"].startswith("req_")
        assert refused_from(app, "203.0.113.8").status_code == status  # its own count
        assert refused_from(app, "198.51.100.1, 203.0.113.9").status_code == status


def scope_from(host: str) -> Request:
    return Request({"type": "http", "client": (host, 1234), "headers": []})


def test_an_ipv6_client_is_counted_per_64_network_and_a_mapped_ipv4_as_ipv4() -> None:
    assert address_of(scope_from("2001:db8:1:2::7")) == address_of(scope_from("2001:db8:1:2::8"))
    assert address_of(scope_from("2001:db8:1:2::7")) == "2001:db8:1:2::/64"
    assert address_of(scope_from("2001:db8:1:3::7")) != address_of(scope_from("2001:db8:1:2::7"))
    assert address_of(scope_from("::ffff:192.0.2.1")) == "192.0.2.1"
    assert address_of(scope_from("192.0.2.1")) == "192.0.2.1"


# Settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("STRIPETOPUP_RATE_LIMIT_AUTH_FAILURES", "lots", "must be rate limits such as"),
        ("STRIPETOPUP_RATE_LIMIT_CHECKOUT_PER_ACCOUNT", "0/minute", "at least 1 request"),
        ("STRIPETOPUP_RATE_LIMIT_FORGED_SIGNATURES", "10 per fortnight", "must be rate limits"),
        ("STRIPETOPUP_RATE_LIMIT_STORAGE_URI", "mongo://u:hunter2@db", "must be memory://"),
        ("STRIPETOPUP_RATE_LIMIT_STORAGE_URI", "memcached://u:hunter2@m:1", "pymemcache"),
        ("STRIPETOPUP_TRUSTED_PROXIES", "*", "IP address or network"),
    ],
)
def test_a_bad_rate_limit_setting_stops_the_program_at_start_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert raised.value.message.startswith(f"invalid configuration: {variable}: ")
    assert problem in raised.value.message
    assert "hunter2" not in raised.value.message


def test_the_cli_names_a_bad_rate_limit_and_exits_2() -> None:
    env = cli_env({"STRIPETOPUP_RATE_LIMIT_AUTH_FAILURES": "often"})
    result = run_cli(["balance", ACCOUNT], env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: invalid configuration: STRIPETOPUP_RATE_LIMIT_AUTH_FAILURES: must be rate "
        'limits such as "30/minute" or "10/minute;50/hour"'
    )


# Shared storage ---------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the machine's Redis, removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        reason = f"Redis is not reachable at {REDIS_URL}: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required when CI=true)")
        pytest.skip(f"!!! SKIPPING THE SHARED RATE LIMIT STORAGE TEST: {reason}")
    prefix = "stripetopup-test-" + secrets.token_hex(8)
    yield prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_two_instances_sharing_redis_share_their_counts(
    database_url: str, emulator: EmulatorServer, redis_prefix: str
) -> None:
    shared = {
        "rate_limit_storage_uri": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
        "rate_limit_auth_failures": "4/hour",
        "rate_limit_checkout_per_account": "2/hour",
        "rate_limit_forged_signatures": "2/hour",
    }
    with (
        serve(database_url, emulator.url, **shared) as first,
        serve(database_url, emulator.url, **shared) as second,
    ):
        token = opened_token(first.service, "acct-shared")
        assert checkout(first, token).status_code == 200
        assert checkout(second, token).status_code == 200
        assert_rate_limited(checkout(first, token), 3600)
        assert_rate_limited(checkout(second, token), 3600)

        assert forged(first).status_code == 400
        assert forged(second).status_code == 400
        assert_rate_limited(forged(first), 3600)
        payload = paid_event(900)
        assert deliver(second, payload, sign(payload, NEW_SECRET)).status_code == 200

        assert [bad_user_token(first).status_code for _ in range(2)] == [401, 401]
        assert [bad_service_key(second).status_code for _ in range(2)] == [401, 401]
        assert_rate_limited(bad_user_token(first), 3600)
        assert_rate_limited(good_service_key(second), 3600)


def test_an_unreachable_shared_storage_lets_requests_through_and_says_so_once(
    database_url: str, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = {
        "rate_limit_storage_uri": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "rate_limit_auth_failures": "1/hour",
    }
    with (
        caplog.at_level(logging.WARNING, logger="stripetopup.web.ratelimit"),
        serve(database_url, emulator.url, **unreachable) as app,
    ):
        assert [bad_user_token(app).status_code for _ in range(3)] == [401, 401, 401]
        assert good_user_token(app).status_code == 200
    failures = [r for r in caplog.records if "rate limit storage failed" in r.getMessage()]
    assert len(failures) == 1
    assert "127.0.0.1:1" not in failures[0].getMessage()
