"""Request ids on every answer, and log lines whose ids are fields, in both formats.

The request-id tests talk to the app on loopback; the log tests read what a real
``stripetopup serve`` prints (one worker with text logs, two workers with JSON logs).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.logs import configure_logging
from tests.conftest import ACCOUNT, NEW_SECRET, Running, settings_env
from tests.support.servers import ServerProcess, cli_env, free_port, serve_process
from tests.support.stripe_events import body, checkout_session, event, sign
from tests.test_webhook import _drop_failing_trigger, _install_failing_trigger

GENERATED = re.compile(r"req_[0-9a-f]{32}")


def row_counts(service: TopUpService) -> dict[str, int]:
    tables = ("ledger_entries", "webhook_events", "stripe_payments", "accounts")
    with service.engine.connect() as connection:
        return {
            t: int(connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in tables
        }


# Request ids ------------------------------------------------------------------------------


def _spend_headers(running: Running) -> dict[str, str]:
    key = running.service.create_service_key("billing")[1]
    return {"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"}


CASES: dict[str, tuple[str, str, Callable[[Running], dict[str, Any]], int]] = {
    "health": ("GET", "/healthz", lambda r: {}, 200),
    "version": ("GET", "/version", lambda r: {}, 200),
    "unknown path": ("GET", "/no/such/path", lambda r: {}, 404),
    "wrong method": ("DELETE", "/healthz", lambda r: {}, 405),
    "no credential": ("GET", "/billing/balance", lambda r: {}, 401),
    "unsigned webhook": ("POST", "/billing/webhook", lambda r: {"content": b"{}"}, 400),
    "webhook too large": (
        "POST",
        "/billing/webhook",
        lambda r: {"content": b"x" * (1024 * 1024 + 1), "headers": {"Stripe-Signature": "t=1"}},
        413,
    ),
    "invalid spend body": (
        "POST",
        f"/api/v1/accounts/{ACCOUNT}/debits",
        lambda r: {"json": {"amount_cents": "lots"}, "headers": _spend_headers(r)},
        400,
    ),
    "insufficient funds": (
        "POST",
        f"/api/v1/accounts/{ACCOUNT}/debits",
        lambda r: {"json": {"amount_cents": 5}, "headers": _spend_headers(r)},
        402,
    ),
    "cors preflight": (
        "OPTIONS",
        "/billing/checkout-session",
        lambda r: {
            "headers": {
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
            }
        },
        200,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_answer_carries_a_request_id_and_error_bodies_echo_it(
    running: Running, case: str
) -> None:
    method, path, options, status = CASES[case]
    request_options = options(running)
    before = row_counts(running.service)
    response = running.http.request(method, path, **request_options)
    assert response.status_code == status
    request_id = response.headers["Request-Id"]
    assert GENERATED.fullmatch(request_id)
    if status >= 400:
        payload = response.json()
        assert set(payload) == {"error"}
        assert {"code", "message", "param", "request_id"} <= set(payload["error"])
        assert payload["error"]["request_id"] == request_id
        assert row_counts(running.service) == before


def test_a_failed_processing_500_carries_the_request_id_in_header_and_body(
    running: Running,
) -> None:
    payload = body(event("checkout.session.completed", checkout_session(ACCOUNT, 700)))
    _install_failing_trigger(running)
    try:
        response = running.http.post(
            "/billing/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload, NEW_SECRET), "X-Request-Id": "retry-42"},
        )
    finally:
        _drop_failing_trigger(running)
    assert response.status_code == 500
    assert response.headers["Request-Id"] == "retry-42"
    assert response.json()["error"]["code"] == "processing_failed"
    assert response.json()["error"]["request_id"] == "retry-42"
    assert running.service.balance(ACCOUNT).balance_cents == 0


@pytest.mark.parametrize(
    "incoming", ["trace-7f3a", "0af7651916cd43dd8448eb211c80319c", "lb:1.2_x", "a" * 128]
)
def test_a_sane_incoming_x_request_id_is_kept(running: Running, incoming: str) -> None:
    ok = running.http.get("/healthz", headers={"X-Request-Id": incoming})
    assert ok.headers["Request-Id"] == incoming
    refused = running.http.get("/billing/balance", headers={"X-Request-Id": incoming})
    assert refused.status_code == 401
    assert refused.json()["error"]["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [b"", b"has space", b"a" * 129, "caf\xe9".encode("latin-1"), b"semi;colon", b"<script>"],
    ids=["empty", "space", "too long", "non-ascii", "semicolon", "markup"],
)
def test_an_unsafe_incoming_x_request_id_is_replaced_by_a_fresh_one(
    running: Running, incoming: bytes
) -> None:
    response = running.http.get("/billing/balance", headers={"X-Request-Id": incoming})
    assert response.status_code == 401
    request_id = response.headers["Request-Id"]
    assert GENERATED.fullmatch(request_id)
    assert response.json()["error"]["request_id"] == request_id


def test_two_requests_get_two_different_ids(running: Running) -> None:
    first = running.http.get("/healthz").headers["Request-Id"]
    second = running.http.get("/healthz").headers["Request-Id"]
    assert first != second


def test_the_openapi_error_schema_documents_the_request_id(running: Running) -> None:
    schema = running.http.get("/openapi.json").json()
    detail = schema["components"]["schemas"]["ErrorDetail"]["properties"]
    assert "request_id" in detail


# Log lines --------------------------------------------------------------------------------


def wait_for(server: ServerProcess, found: Callable[[str], bool]) -> str:
    """The first line ``found`` accepts, waiting (generously) for the server to print it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in list(server.lines):
            if found(line):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no such line in:\n{server.output()}")


@pytest.fixture
def serve_env(settings: Settings) -> dict[str, str]:
    return cli_env(settings_env(settings))


def deliver(url: str, payload: bytes, request_id: str) -> httpx.Response:
    headers = {"Stripe-Signature": sign(payload, NEW_SECRET), "X-Request-Id": request_id}
    return httpx.post(url + "/billing/webhook", content=payload, headers=headers, timeout=60)


def test_text_log_lines_carry_the_ids_as_key_value_pairs(
    serve_env: dict[str, str], service: TopUpService
) -> None:
    serve_env["STRIPETOPUP_LOG_FORMAT"] = "text"
    obj = checkout_session(ACCOUNT, 500)
    evt = event("checkout.session.completed", obj)
    with serve_process([], serve_env, free_port()) as server:
        assert deliver(server.url, body(evt), "trace-text-1").status_code == 200
        line = wait_for(server, lambda line: evt["id"] in line)
    entry_id = service.ledger(ACCOUNT)[0].id
    sentence = (
        f"event {evt['id']} (checkout.session.completed) via webhook credited 5.00 to {ACCOUNT}"
        f" (entry {entry_id})"
    )
    fields = (
        f"request_id=trace-text-1 event_id={evt['id']} event_type=checkout.session.completed"
        f" actor=webhook outcome=credited account_id={ACCOUNT}"
        f" checkout_session_id={obj['id']} amount_cents=500 entry_id={entry_id}"
    )
    assert line.rstrip("\n").endswith(f"INFO stripetopup.core.events: {sentence} {fields}")
    assert "credited credited" not in server.output()
    access = wait_for(server, lambda line: "POST /billing/webhook" in line)
    assert access.rstrip("\n").endswith("request_id=trace-text-1")


def test_json_log_lines_carry_the_ids_as_keys_with_two_workers(
    serve_env: dict[str, str], service: TopUpService
) -> None:
    serve_env["STRIPETOPUP_LOG_FORMAT"] = "json"
    obj = checkout_session(ACCOUNT, 500)
    evt = event("checkout.session.completed", obj)
    failing = event("checkout.session.completed", checkout_session(ACCOUNT, 900))
    with serve_process(["--workers", "2"], serve_env, free_port()) as server:
        assert deliver(server.url, body(evt), "trace-json-1").status_code == 200
        audit = json.loads(wait_for(server, lambda line: evt["id"] in line))
        _install_failing_trigger(SimpleNamespace(service=service))  # type: ignore[arg-type]
        try:
            assert deliver(server.url, body(failing), "trace-json-2").status_code == 500
        finally:
            _drop_failing_trigger(SimpleNamespace(service=service))  # type: ignore[arg-type]
        failed = json.loads(
            wait_for(server, lambda line: failing["id"] in line and '"ERROR"' in line)
        )
        answered = json.loads(wait_for(server, lambda line: '"status": 500' in line))
    entry_id = service.ledger(ACCOUNT)[0].id
    assert {k: v for k, v in audit.items() if k != "time"} == {
        "level": "INFO",
        "logger": "stripetopup.core.events",
        "message": f"event {evt['id']} (checkout.session.completed) via webhook credited 5.00"
        f" to {ACCOUNT} (entry {entry_id})",
        "request_id": "trace-json-1",
        "event_id": evt["id"],
        "event_type": "checkout.session.completed",
        "actor": "webhook",
        "outcome": "credited",
        "account_id": ACCOUNT,
        "checkout_session_id": obj["id"],
        "amount_cents": 500,
        "entry_id": entry_id,
    }
    assert failed["outcome"] == "failed"
    assert failed["request_id"] == "trace-json-2"
    assert failed["event_id"] == failing["id"]
    assert failed["message"].startswith(f"event {failing['id']} (checkout.session.completed)")
    assert answered["request_id"] == "trace-json-2"
    assert (answered["method"], answered["path"], answered["code"]) == (
        "POST",
        "/billing/webhook",
        "processing_failed",
    )


@pytest.fixture
def captured_root() -> Iterator[io.StringIO]:
    """The root logger configured into a buffer, put back as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_in_field_values_are_redacted_like_messages(
    captured_root: io.StringIO, log_format: str
) -> None:
    configure_logging(log_format, "INFO", stream=captured_root)
    secret = "sk_live_" + "z" * 24
    logging.getLogger("stripetopup.test").info(
        "looked up %s", secret, extra={"account_id": secret, "event_id": "evt_1"}
    )
    line = captured_root.getvalue()
    assert secret not in line
    assert "evt_1" in line
