"""Crossing the low-balance threshold under concurrency, on both databases: 100 debits
through the real spend API at once emit exactly one ``balance.low`` (at the debit that
crossed), a signed top-up lifting the balance exactly one ``balance.recovered`` (its
duplicate nothing), and the next concurrent crossing exactly one more ``balance.low``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import ACCOUNT, NEW_SECRET, Running
from tests.support.outbound import outbound
from tests.support.stripe_events import body, checkout_session, event, sign

THRESHOLD = 5000
DEBITS = 100


@pytest.fixture
def api(running: Running) -> Iterator[httpx.Client]:
    _, key = running.service.create_service_key("threshold-race")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=60) as client:
        yield client


def debit_concurrently(api: httpx.Client, count: int) -> list[int]:
    def debit(_: int) -> int:
        response = api.post(
            f"/api/v1/accounts/{ACCOUNT}/debits",
            json={"amount_cents": 100},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(debit, range(count)))


def crossings(running: Running) -> list[tuple[str, Any]]:
    return [
        (e["type"], e["data"]["available_cents"])
        for e in outbound(running.service, ACCOUNT)
        if e["type"] in ("balance.low", "balance.recovered")
    ]


def top_up(running: Running, cents: int) -> list[str]:
    """A paid checkout's webhook, signed, delivered twice; the two results."""
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, cents))
    payload = body(evt)
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, NEW_SECRET)}
    answers = [running.http.post("/billing/webhook", content=payload, headers=headers)]
    answers.append(running.http.post("/billing/webhook", content=payload, headers=headers))
    return [str(a.json()["result"]) for a in answers]


def test_concurrent_debits_cross_once_and_a_top_up_recovers_once(
    running: Running, api: httpx.Client
) -> None:
    service = running.service
    service.credit(ACCOUNT, DEBITS * 100, reason="funds", idempotency_key="fund")
    service.set_low_balance_threshold(ACCOUNT, THRESHOLD)
    assert crossings(running) == []

    assert debit_concurrently(api, DEBITS) == [201] * DEBITS
    assert service.balance(ACCOUNT).balance_cents == 0
    types = [e["type"] for e in outbound(service, ACCOUNT)]
    assert types.count("balance.debited") == DEBITS
    # Once, at the debit that took 5000 to 4900: the flag flips under the account's lock.
    assert crossings(running) == [("balance.low", THRESHOLD - 100)]
    assert service.balance(ACCOUNT).below_threshold is True

    assert top_up(running, 6000) == ["credited", "already_applied"]
    assert crossings(running) == [("balance.low", 4900), ("balance.recovered", 6000)]
    assert service.balance(ACCOUNT).below_threshold is False

    assert debit_concurrently(api, 20) == [201] * 20  # 6000 -> 4000: one more crossing
    assert crossings(running) == [
        ("balance.low", 4900),
        ("balance.recovered", 6000),
        ("balance.low", 4900),
    ]
