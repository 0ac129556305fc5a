"""Fixtures for the emulator tests: the emulator on loopback, the real SDK, a webhook receiver.

The emulator runs once per session (per xdist worker) on a free port (tests/conftest.py);
every test starts from ``reset()``. Webhook receivers are real ``http.server`` threads on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorServer

API_KEY = "sk_test_emulator0000000001"


# `emulator` (one per session) and `control` (reset for each test) come from tests/conftest.py.


def make_client(url: str, key: str = API_KEY, retries: int = 0) -> tuple[Any, Any]:
    http_client = stripe.RequestsClient()
    client = stripe.StripeClient(
        key, base_addresses={"api": url}, max_network_retries=retries, http_client=http_client
    )
    return client, http_client


@pytest.fixture
def client(emulator: EmulatorServer, control: EmulatorControl) -> Iterator[Any]:
    sdk, http_client = make_client(emulator.url)
    yield sdk
    http_client.close()


@pytest.fixture
def client_factory(emulator: EmulatorServer, control: EmulatorControl) -> Iterator[Any]:
    opened: list[Any] = []

    def factory(key: str = API_KEY, retries: int = 0) -> Any:
        sdk, http_client = make_client(emulator.url, key, retries)
        opened.append(http_client)
        return sdk

    yield factory
    for http_client in opened:
        http_client.close()


def session_params(amount: int = 500, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://app.example.com/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example.com/cancel",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "product_data": {"name": "Account credit"},
                },
                "quantity": 1,
            }
        ],
    }
    params.update(extra)
    return params


@pytest.fixture
def params() -> Any:
    """``params(amount=500, **extra)``: valid Checkout Session parameters."""
    return session_params


@pytest.fixture
def paid_session(client: Any, control: EmulatorControl) -> Any:
    """A paid $5.00 session, retrieved with its PaymentIntent and charge expanded."""
    session = client.v1.checkout.sessions.create(params=session_params())
    control.pay(session.id)
    return client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """A real HTTP server that records webhook POSTs and answers with scripted statuses."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r.body) for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(body, dict(self.headers.items())))
            status = state.next_status()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status < 300 else b'{"ok": false}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
