"""Exactly-once with several server processes on one database: ``serve --workers 2``.

The real entry point runs as a subprocess; deliveries come from many threads at once and,
in the last test, from the emulator's concurrent-duplicate delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, NEW_SECRET, ORIGIN, settings_env
from tests.support.servers import cli_env, free_port, serve_subprocess
from tests.support.stripe_events import body, checkout_session, event, sign

pytestmark = pytest.mark.slow
ROUNDS = 3


@pytest.fixture
def workers_url(settings: Settings, service: TopUpService) -> Iterator[str]:
    with serve_subprocess(["--workers", "2"], cli_env(settings_env(settings)), free_port()) as url:
        yield url


def ledger_rows(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, amount_cents FROM ledger_entries")).all()
    return sorted((str(s), int(a)) for s, a in rows)


def deliver(url: str, payloads: list[bytes]) -> list[int]:
    with httpx.Client(base_url=url, timeout=60) as http, ThreadPoolExecutor(25) as pool:

        def send(payload: bytes) -> int:
            headers = {"Stripe-Signature": sign(payload, NEW_SECRET)}
            return http.post("/billing/webhook", content=payload, headers=headers).status_code

        return list(pool.map(send, payloads))


def test_fifty_concurrent_deliveries_across_workers_credit_once_per_round(
    workers_url: str, service: TopUpService
) -> None:
    expected = []
    for round_number in range(ROUNDS):
        obj = checkout_session(ACCOUNT, 300 + round_number)
        same_event = body(event("checkout.session.completed", obj))
        assert deliver(workers_url, [same_event] * 50) == [200] * 50
        expected.append((f"checkout_session:{obj['id']}", 300 + round_number))
    assert ledger_rows(service) == sorted(expected)
    balance = service.balance(ACCOUNT).balance_cents
    assert balance == sum(amount for _, amount in expected)


def test_one_payment_as_two_events_across_workers_credits_once_per_round(
    workers_url: str, service: TopUpService
) -> None:
    for round_number in range(ROUNDS):
        obj = checkout_session(ACCOUNT, 1000)
        completed = body(event("checkout.session.completed", obj))
        succeeded = body(event("checkout.session.async_payment_succeeded", obj))
        assert set(deliver(workers_url, [completed, succeeded] * 25)) == {200}
        assert len(ledger_rows(service)) == round_number + 1
    assert service.balance(ACCOUNT).balance_cents == 1000 * ROUNDS


def test_checkout_and_emulator_duplicates_across_workers_credit_once(
    workers_url: str, service: TopUpService, control: EmulatorControl
) -> None:
    control.add_webhook_endpoint(workers_url + "/billing/webhook", secrets=[NEW_SECRET])
    control.configure_delivery(duplicates=10, concurrent_duplicates=True)
    token = service.create_token(ACCOUNT)[1]
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    with httpx.Client(base_url=workers_url, timeout=30) as http:
        ids = [
            http.post(
                "/billing/checkout-session", json={"amount_cents": 50 + i}, headers=headers
            ).json()["id"]
            for i in range(5)
        ]
    for session_id in ids:
        control.pay(session_id)
    control.wait_idle(timeout=60)
    assert ledger_rows(service) == sorted(
        (f"checkout_session:{session_id}", 50 + i) for i, session_id in enumerate(ids)
    )
