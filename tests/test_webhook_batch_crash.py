"""kill -9 of ``stripetopup serve --workers 2`` in the middle of a burst of batched
deliveries, then a restart and Stripe's retries: whatever was acknowledged is credited,
nothing twice, no orphan rows, ``ledger verify`` clean. Both databases.

The burst comes from many threads at once, so the writers commit in batches; the kill
lands once part of it is answered, with batches in flight. Stripe then retries every
delivery it did not see a 200 for, and (as it may) some that it did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, NEW_SECRET, settings_env
from tests.support.servers import cli_env, run_cli, serve_group
from tests.support.stripe_events import body, checkout_session, event, sign

pytestmark = pytest.mark.slow
DELIVERIES = 240
KILL_AFTER = 60  # answers seen before the kill
PATIENCE = 120.0  # seconds; generous on a loaded machine, never a measurement


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``stripetopup serve --workers 2`` in a process group of its own, once healthy."""
    with serve_group(["--workers", "2"], cli_env(settings_env(settings))) as running:
        yield running


def deliver(http: httpx.Client, payload: bytes) -> int | None:
    """The status Stripe saw, or None when the connection broke (no answer: it retries)."""
    headers = {"Stripe-Signature": sign(payload, NEW_SECRET)}
    try:
        return http.post("/billing/webhook", content=payload, headers=headers).status_code
    except httpx.TransportError:
        return None


def rows(settings: Settings, query: str) -> list[Any]:
    engine = sa.create_engine(settings.database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(query)).all())
    finally:
        engine.dispose()


def test_serve_killed_mid_burst_credits_every_acknowledged_delivery_once(
    settings: Settings, service: TopUpService
) -> None:
    sessions = [checkout_session(ACCOUNT, 100 + n) for n in range(DELIVERIES // 2)]
    events = [event("checkout.session.completed", obj) for obj in sessions]
    # Each event twice in the burst (Stripe's duplicate deliveries), far apart in order.
    burst = [body(evt) for evt in events] * 2
    answers: dict[int, int | None] = {}
    answered = threading.Event()
    lock = threading.Lock()

    def send(index: int, http: httpx.Client) -> None:
        status = deliver(http, burst[index])
        with lock:
            answers[index] = status
            if sum(1 for s in answers.values() if s == 200) >= KILL_AFTER:
                answered.set()

    with (
        serve(settings) as (process, url),
        httpx.Client(base_url=url, timeout=30) as http,
        ThreadPoolExecutor(32) as pool,
    ):
        futures = [pool.submit(send, i, http) for i in range(len(burst))]
        assert answered.wait(PATIENCE), "the burst was not answered"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        for future in futures:
            future.result(PATIENCE)
    acknowledged = {i for i, status in answers.items() if status == 200}
    assert KILL_AFTER <= len(acknowledged) < len(burst), "the kill landed outside the burst"

    # What Stripe saw a 200 for is on disk already, before any restart.
    credited = {str(s) for (s,) in rows(settings, "SELECT source FROM ledger_entries")}
    for index in acknowledged:
        obj = json.loads(burst[index])["data"]["object"]
        assert f"checkout_session:{obj['id']}" in credited

    # Stripe retries everything unanswered, and every fifth acknowledged delivery again.
    retries = [i for i in range(len(burst)) if i not in acknowledged or i % 5 == 0]
    with (
        serve(settings) as (_process, url),
        httpx.Client(base_url=url, timeout=60) as http,
        ThreadPoolExecutor(16) as pool,
    ):
        statuses = list(pool.map(lambda i: deliver(http, burst[i]), retries))
    assert statuses == [200] * len(retries)

    entries = rows(settings, "SELECT source, amount_cents FROM ledger_entries")
    expected = sorted(
        (f"checkout_session:{obj['id']}", int(obj["amount_total"])) for obj in sessions
    )
    assert sorted((str(s), int(a)) for s, a in entries) == expected  # each once, none twice
    assert service.balance(ACCOUNT).balance_cents == sum(a for _, a in expected)
    # No orphans: every event recorded and applied, every payment credited by its entry.
    outcomes = rows(settings, "SELECT outcome, count(*) FROM webhook_events GROUP BY outcome")
    assert {str(o) for o, _ in outcomes} <= {"credited", "already_applied"}
    assert sum(int(n) for _, n in outcomes) == len(events)
    states = rows(settings, "SELECT state, count(*) FROM stripe_payments GROUP BY state")
    assert [(str(s), int(n)) for s, n in states] == [("credited", len(sessions))]
    grants = rows(settings, "SELECT count(*) FROM credit_grants")
    assert int(grants[0][0]) == len(sessions)
    verify = run_cli(["ledger", "verify", "--json"], cli_env(settings_env(settings)))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True
