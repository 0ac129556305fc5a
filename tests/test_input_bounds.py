"""Client input that used to be a 500: every case is a 400 in the one error shape, on both
databases, and changes nothing.

The app runs on loopback (uvicorn in a thread) against the emulator; webhooks are really
signed at send time. The numbers are the reproductions from issue 9.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
import stripe
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, API_KEY, NEW_SECRET, ORIGIN, Running, settings_env
from tests.support.stripe_events import checkout_session, event, sign

# api_credentials is left out: a valid credential's last_used_at moves on every request.
TABLES = ("accounts", "ledger_entries", "stripe_payments", "webhook_events", "holds")
DEEP = 5000


def rows(running: Running) -> dict[str, Any]:
    """Every row of every table we write, to show that a refused request changed nothing."""
    with running.service.engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in TABLES
        }


def assert_error(
    response: httpx.Response, status: int, code: str, param: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error"}
    error: dict[str, Any] = payload["error"]
    assert {"code", "message", "param"} <= set(error)
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "\n" not in error["message"]
    if param is not None:
        assert error["param"] == param
    return error


def nested(key: str, value: str, depth: int) -> str:
    return '{"' + key + '":' + "[" * depth + value + "]" * depth + "}"


def stripe_session_count(running: Running) -> int:
    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": running.service.settings.stripe_api_base}
    )
    return len(client.v1.checkout.sessions.list(params={"limit": 100}).data)


# POST /billing/checkout-session -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code", "param"),
    [
        ('{"amount_cents": ' + "9" * 5000 + "}", "invalid_request", None),
        (nested("amount_cents", "500", DEEP), "invalid_request", None),
        ('{"amount_cents": 9223372036854775807}', "invalid_amount", "amount"),
        ('{"amount_cents": NaN}', "invalid_request", None),
        ('{"amount_cents": 1e999}', "invalid_request", None),
        ('{"amount": "' + "9" * 5000 + '"}', "invalid_amount", "amount"),
        ('{"amount": "5.' + "0" * 5000 + '1"}', "invalid_amount", "amount"),
        ('{"amount_cents": 500, "note": "a\\u0000b"}', "invalid_request", "note"),
        ('{"amount_cents": 500, "\\ud800": 1}', "invalid_request", None),
    ],
    ids=[
        "5000-digit amount_cents",
        "amount_cents 5000 deep",
        "int64 max cents",
        "NaN",
        "float overflow",
        "5000-digit dollars",
        "5000 decimals",
        "NUL in a string",
        "lone surrogate in a key",
    ],
)
def test_odd_checkout_bodies_are_400_and_create_nothing(
    running: Running, content: str, code: str, param: str | None
) -> None:
    token = running.user_token()
    before = rows(running)
    response = running.http.post(
        "/billing/checkout-session",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
    )
    assert_error(response, 400, code, param)
    assert rows(running) == before
    assert stripe_session_count(running) == 0


def test_two_origin_headers_are_400_and_create_nothing_in_stripe(running: Running) -> None:
    token = running.user_token()
    before = rows(running)
    response = running.http.post(
        "/billing/checkout-session",
        json={"amount_cents": 500},
        headers=[
            ("Authorization", f"Bearer {token}"),
            ("Origin", ORIGIN),
            ("Origin", "https://evil.example.net"),
        ],
    )
    assert_error(response, 400, "invalid_request", "Origin")
    assert rows(running) == before
    assert stripe_session_count(running) == 0


def test_a_checkout_idempotency_key_with_a_control_character_is_400(running: Running) -> None:
    token = running.user_token()
    before = rows(running)
    response = running.http.post(
        "/billing/checkout-session",
        json={"amount_cents": 500},
        headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN, "Idempotency-Key": "a\tb"},
    )
    assert_error(response, 400, "invalid_request", "idempotency_key")
    assert rows(running) == before
    assert stripe_session_count(running) == 0


# The spend API ----------------------------------------------------------------------------


@pytest.fixture
def service_key(running: Running) -> str:
    running.service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    return running.service.create_service_key("billing-worker")[1]


@pytest.mark.parametrize(
    "starting_after", ["9223372036854775808", str(10**30), "2147483648", "9" * 5000]
)
def test_a_cursor_past_the_id_column_is_400_on_both_databases(
    running: Running, service_key: str, starting_after: str
) -> None:
    before = rows(running)
    response = running.http.get(
        f"/api/v1/accounts/{ACCOUNT}/entries",
        params={"starting_after": starting_after},
        headers={"Authorization": f"Bearer {service_key}"},
    )
    assert_error(response, 400, "invalid_request", "query.starting_after")
    assert rows(running) == before


def test_the_largest_cursor_the_column_holds_is_an_empty_page(
    running: Running, service_key: str
) -> None:
    response = running.http.get(
        f"/api/v1/accounts/{ACCOUNT}/entries",
        params={"starting_after": str(2**31 - 1)},
        headers={"Authorization": f"Bearer {service_key}"},
    )
    assert response.status_code == 200
    assert [entry["source"] for entry in response.json()["data"]] == ["manual:fund"]


@pytest.mark.parametrize(
    ("content", "code", "param"),
    [
        ('{"amount_cents": ' + "9" * 5000 + "}", "invalid_request", None),
        (nested("amount_cents", "100", DEEP), "invalid_request", None),
        ('{"amount_cents": 3000000000}', "invalid_amount", "amount_cents"),
        ('{"amount_cents": 100, "reason": "a\\u0000b"}', "invalid_request", "reason"),
        ('{"amount_cents": 100, "reason": "\\udc00"}', "invalid_request", "reason"),
    ],
    ids=["5000 digits", "5000 deep", "past the amount column", "NUL in reason", "lone surrogate"],
)
@pytest.mark.parametrize("path", ["debits", "holds"])
def test_odd_spend_bodies_are_400_and_change_nothing(
    running: Running, service_key: str, path: str, content: str, code: str, param: str | None
) -> None:
    before = rows(running)
    response = running.http.post(
        f"/api/v1/accounts/{ACCOUNT}/{path}",
        content=content,
        headers={
            "Authorization": f"Bearer {service_key}",
            "Idempotency-Key": "odd",
            "Content-Type": "application/json",
        },
    )
    assert_error(response, 400, code, param)
    assert rows(running) == before


def test_a_balance_the_column_cannot_hold_is_refused_the_same_on_both_databases(
    running: Running, service_key: str
) -> None:
    def debit(key: str) -> httpx.Response:
        return running.http.post(
            f"/api/v1/accounts/{ACCOUNT}/debits",
            json={"amount_cents": 2**31 - 1, "allow_negative": True},
            headers={"Authorization": f"Bearer {service_key}", "Idempotency-Key": key},
        )

    assert debit("first").status_code == 201
    before = rows(running)
    assert_error(debit("second"), 400, "invalid_amount", "amount_cents")
    assert rows(running) == before
    assert debit("first").status_code == 201  # the retry still answers the first answer


# Signed webhooks that are valid JSON but odd -------------------------------------------------


def deliver(running: Running, payload: bytes) -> httpx.Response:
    # Signed at send time: no clock edge can make this test depend on the machine's speed.
    return running.http.post(
        "/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, NEW_SECRET), "Content-Type": "application/json"},
    )


def paid_event_text(**changes: str) -> str:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 500))
    text = json.dumps(evt)
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def odd_payloads() -> dict[str, bytes]:
    base = paid_event_text()
    return {
        "nested 100000 deep": (
            base[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
        ).encode(),
        "5000-digit integer": base.replace(
            '"amount_total": 500', '"amount_total": ' + "7" * 5000
        ).encode(),
        "lone surrogate in type": base.replace(
            '"type": "checkout.session.completed"', '"type": "checkout.\\ud800"'
        ).encode(),
        "event id over 255": base.replace('"id": "evt_test_', '"id": "evt_' + "x" * 300).encode(),
        "NUL in the event id": base.replace('"id": "evt_test_', '"id": "evt_\\u0000').encode(),
        "NUL deep inside": base.replace(
            '"account_id": "acct-alice"', '"account_id": "acct\\u0000alice"'
        ).encode(),
        "UTF-16 body": base.encode("utf-16"),
        "invalid UTF-8 and a raw NUL": b'{"id": "evt_\xff\x00"}',
    }


@pytest.mark.parametrize("name", list(odd_payloads()))
def test_an_odd_signed_webhook_is_400_and_kept_as_one_failed_record(
    running: Running, name: str
) -> None:
    payload = odd_payloads()[name]
    before = rows(running)
    for _ in range(2):  # Stripe retries: still a 400, still one record, attempts counted
        assert_error(deliver(running, payload), 400, "invalid_payload")
    after = rows(running)
    assert {t: v for t, v in after.items() if t != "webhook_events"} == {
        t: v for t, v in before.items() if t != "webhook_events"
    }
    failures = running.service.events(failed_only=True)
    assert len(failures) == 1
    assert failures[0].event_id.startswith("refused_")
    assert failures[0].attempts == 2
    assert failures[0].error is not None
    assert failures[0].error.startswith("PayloadError: ")
    assert running.service.balance(ACCOUNT).balance_cents == 0


def test_a_signature_timestamp_of_400_digits_is_400_and_records_nothing(running: Running) -> None:
    payload = paid_event_text().encode()
    header = sign(payload, NEW_SECRET).replace("t=", "t=" + "9" * 400, 1)
    before = rows(running)
    response = running.http.post(
        "/billing/webhook", content=payload, headers={"Stripe-Signature": header}
    )
    assert_error(response, 400, "invalid_signature")
    assert rows(running) == before


def test_a_valid_event_is_still_credited_after_all_the_bounds(running: Running) -> None:
    response = deliver(running, paid_event_text().encode())
    assert response.status_code == 200
    assert response.json()["result"] == "credited"
    assert running.service.balance(ACCOUNT).balance_cents == 500


# A client that goes away -------------------------------------------------------------------


def test_a_client_disconnecting_mid_body_is_not_logged_as_an_error(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    parts = urlsplit(running.url)
    before = rows(running)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(
            b"POST /billing/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10
        )
    deadline = time.monotonic() + 30  # a wide margin: only waits for the server to notice
    while not any("disconnected" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the server never noticed the disconnect"
        time.sleep(0.05)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert rows(running) == before


@pytest.mark.parametrize("reason", ["red \x1b[31m text", "two\nlines", "nul\x00here"])
def test_a_reason_with_a_control_character_is_400_naming_it(
    running: Running, service_key: str, reason: str
) -> None:
    before = rows(running)
    response = running.http.post(
        f"/api/v1/accounts/{ACCOUNT}/debits",
        json={"amount_cents": 100, "reason": reason},
        headers={"Authorization": f"Bearer {service_key}", "Idempotency-Key": "ctl"},
    )
    assert_error(response, 400, "invalid_request", "reason")
    assert rows(running) == before


# The CLI door keeps the same rules ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--amount", "5", "--reason", "a\x1bb"],
            "Error: reason must not contain control characters",
        ),
        (["--amount", "9" * 5000, "--reason", "x"], "Error: --amount is too large"),
        (["--amount", "5." + "0" * 40, "--reason", "x"], "Error: --amount is too large"),
    ],
    ids=["escape in reason", "5000-digit amount", "40 decimals"],
)
def test_the_cli_refuses_the_same_input_with_one_line(
    service: TopUpService, settings: Settings, args: list[str], line: str
) -> None:
    result = CliRunner().invoke(app, ["credit", ACCOUNT, *args], env=settings_env(settings))
    assert result.exit_code == 2
    assert result.stderr == line + "\n"
    assert service.balance(ACCOUNT).balance_cents == 0
