"""Request-size limits on every route, enforced before the body is read and before auth.

In a thread for the rules (declared and chunked sizes, 413 in the error shape, nothing
written); against a real ``stripetopup serve`` subprocess for 100 MiB streamed bodies to each
route family with the server's resident memory read from /proc before and after, and for
uvicorn's own 400 (bad header bytes) in our error shape.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, ORIGIN, Running, make_settings, settings_env
from tests.support.servers import (
    REPO,
    ServerProcess,
    _stop_group,
    _wait_healthy,
    cli_env,
    free_port,
    serve_in_thread,
)
from tests.support.stripe_events import sign

API_LIMIT = 16 * 1024
WEBHOOK_LIMIT = 1024 * 1024
MIB = 1024 * 1024
TABLES = ("accounts", "ledger_entries", "stripe_payments", "webhook_events", "holds")


def rows(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in TABLES
        }


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": f"request body is larger than {limit} bytes",
            "param": None,
            "request_id": response.headers["request-id"],
        }
    }
    assert response.headers["request-id"].startswith("req_")
    assert response.headers["connection"] == "close"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body streamed from a generator: httpx sends it chunked, with no Content-Length."""
    block = b" " * size
    for _ in range(total // size):
        yield block


ROUTES = [
    ("/billing/webhook", WEBHOOK_LIMIT),
    ("/billing/webhook/", WEBHOOK_LIMIT),
    ("/billing/checkout-session", API_LIMIT),
    ("/api/v1/accounts/acct-alice/debits", API_LIMIT),
    ("/api/v1/holds/hold_x/capture", API_LIMIT),
    ("/api/v1/accounts/acct-alice/balance", API_LIMIT),
    ("/healthz", API_LIMIT),
]


# The rules, in a thread ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "limit"), ROUTES, ids=[p for p, _ in ROUTES])
def test_a_declared_size_over_the_limit_is_413_before_authentication(
    running: Running, path: str, limit: int
) -> None:
    before = rows(running.service.engine)
    response = running.http.post(path, content=b" " * (limit + 1))
    assert_too_large(response, limit)
    assert rows(running.service.engine) == before


# The routes that read a body (the others never ask for it, and uvicorn drops it unbuffered).
READING = [route for route in ROUTES if not route[0].endswith(("/balance", "/healthz"))]


@pytest.mark.parametrize(("path", "limit"), READING, ids=[p for p, _ in READING])
def test_a_chunked_body_over_the_limit_is_413(running: Running, path: str, limit: int) -> None:
    key = running.service.create_service_key("billing-worker")[1]
    before = rows(running.service.engine)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k"}
    if path.startswith("/billing/checkout"):
        headers = {"Authorization": f"Bearer {running.user_token()}", "Origin": ORIGIN}
        before = rows(running.service.engine)
    response = running.http.post(path, content=chunks(limit + 64 * 1024), headers=headers)
    assert_too_large(response, limit)
    assert rows(running.service.engine) == before


def test_a_body_at_the_api_limit_is_read_and_judged_on_its_content(running: Running) -> None:
    token = running.user_token()
    payload = b'{"amount_cents": 500}'
    payload += b" " * (API_LIMIT - len(payload))
    response = running.http.post(
        "/billing/checkout-session",
        content=payload,
        headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    assert response.json()["amount_cents"] == 500


def test_a_webhook_at_its_limit_is_verified_not_refused_for_size(running: Running) -> None:
    payload = b"{" + b" " * (WEBHOOK_LIMIT - 2) + b"}"
    response = running.http.post(
        "/billing/webhook", content=payload, headers={"Stripe-Signature": sign(payload, NEW_SECRET)}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"


def test_the_api_limit_comes_from_the_environment(
    database_url: str, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPETOPUP_API_MAX_BODY_BYTES", "2048")
    settings = make_settings(database_url, emulator.url)
    assert settings.api_max_body_bytes == 2048
    service = TopUpService.from_settings(settings)
    try:
        with serve_in_thread(create_app(service)) as url:
            before = rows(service.engine)
            response = httpx.post(url + "/api/v1/accounts/acct-alice/debits", content=b" " * 2049)
            assert_too_large(response, 2048)
            assert rows(service.engine) == before
    finally:
        service.close()


# A real `serve`: 100 MiB streamed to each route family, memory measured -------------------------


@contextmanager
def serve(settings: Settings, *args: str) -> Iterator[tuple[str, int]]:
    """``stripetopup serve`` in its own process group; yields its URL and pid once healthy."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", "serve", "--port", str(port), *args],
        env=cli_env(settings_env(settings)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(ServerProcess(url, []), process)  # type: ignore[arg-type]
        yield url, process.pid
    finally:
        _stop_group(process)  # type: ignore[arg-type]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the RSS")
def test_100_mib_streamed_to_each_route_family_leaves_the_server_memory_flat(
    service: TopUpService, settings: Settings
) -> None:
    token = service.create_token(ACCOUNT)[1]
    cases = [
        ("/billing/webhook", {"Stripe-Signature": "t=1,v1=0"}, 413),
        ("/billing/checkout-session", {"Authorization": f"Bearer {token}", "Origin": ORIGIN}, 413),
        ("/billing/checkout-session", {}, 401),  # refused before the body is read
        ("/api/v1/accounts/acct-alice/debits", {"Idempotency-Key": "k"}, 413),
    ]
    with serve(settings) as (url, pid), httpx.Client(base_url=url, timeout=120) as http:
        for path, headers, _ in cases:  # warm up: imports and first allocations
            http.post(path, content=b"{}", headers=headers)
        before_rows = rows(service.engine)
        before = rss_mib(pid)
        for path, headers, status in cases:
            for _ in range(2):
                response = http.post(path, content=chunks(100 * MIB), headers=headers)
                assert response.status_code == status, (path, response.text)
                assert set(response.json()) == {"error"}
        growth = rss_mib(pid) - before
        assert rows(service.engine) == before_rows
    assert growth < 30, f"the server grew by {growth:.1f} MiB"


# uvicorn's own 400, in our shape -----------------------------------------------------------------


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, content


@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_header_bytes_get_our_error_shape_from_serve(
    service: TopUpService, settings: Settings, workers: str
) -> None:
    with serve(settings, "--workers", workers) as (url, _):
        for request in (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: a\r\n\r\n",
            b"POST /billing/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
            b"GET /he\x00lthz HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            status, headers, content = raw_exchange(url, request)
            assert status == 400
            assert headers["content-type"] == "application/json"
            error = json.loads(content)["error"]
            assert error["code"] == "invalid_request"
            assert error["message"].startswith("the request is not valid HTTP")
            assert error["param"] is None
