"""Two ``stripetopup serve`` instances on one PostgreSQL database (real uvicorn processes
on 127.0.0.1, the emulator as their Stripe, each running its own recharge worker), and
bursts of concurrent debits through the spend API on both, each burst crossing the
auto-recharge threshold once: exactly one charge per crossing, none for a crossing within
an hour's cooldown or past the monthly cap, the cooldown between charges kept, and every
charge credited once (the two workers and the app
that receives Stripe's ``payment_intent.succeeded`` all race to credit it).

Each burst is 100 debits of 0.10 from 10.00 with the threshold at 5.00: however late the
20.00 recharge lands, the balance cannot cross twice in one burst. Between bursts the test
waits, with a generous timeout, for the charge to be credited and for the cooldown to have
passed; nothing asserts a duration.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.core.recharge.types import RuleTerms
from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running, settings_env
from tests.support.cards import saved_and_paid
from tests.support.servers import cli_env, free_port, serve_subprocess, wait_for

pytestmark = pytest.mark.slow
COOLDOWN = 2
RULE = RuleTerms(
    below_cents=500, amount_cents=2000, monthly_cap_cents=10000, cooldown_seconds=COOLDOWN
)
# What each burst's crossing must do. The cap allows five charges of 20.00, so the last
# crossing arms nothing; nor does one while an hour's cooldown runs from the first charge.
PHASES = ("charge", "within the cooldown", *["charge"] * 4, "past the cap")
DEBITS = 100
SERVE_ENV = {
    "STRIPETOPUP_GRANT_EXPIRY_INTERVAL_SECONDS": "1",  # the workers' beat
    "STRIPETOPUP_HOOKS_WORKER": "false",
}


@contextmanager
def two_serves(settings: Settings) -> Iterator[list[str]]:
    env = {**cli_env(settings_env(settings)), **SERVE_ENV}
    with ExitStack() as both:
        yield [both.enter_context(serve_subprocess([], env, free_port())) for _ in range(2)]


def attempts(service: TopUpService) -> list[dict[str, Any]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT attempt_key, status, amount_cents, created_at, finished_at, "
                "payment_intent_id FROM recharge_attempts ORDER BY id"
            )
        ).mappings()
        return [dict(row) for row in rows]


def credits(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT source, amount_cents FROM ledger_entries "
                "WHERE source LIKE 'payment_intent:%' ORDER BY id"
            )
        )
        return [(str(s), int(a)) for s, a in rows]


def charges(emulator: EmulatorServer) -> list[Any]:
    """Every recharge PaymentIntent Stripe holds, oldest first."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    found = client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    mine = [pi for pi in found if pi.metadata and "attempt" in pi.metadata.to_dict()]
    return sorted(mine, key=lambda pi: pi.created)


def burst(urls: list[str], key: str) -> list[int]:
    """``DEBITS`` debits of 0.10 at once, alternating between the two instances."""
    headers = {"Authorization": f"Bearer {key}"}

    def debit(n: int) -> int:
        with httpx.Client(base_url=urls[n % 2], headers=headers, timeout=60) as http:
            response = http.post(
                f"/api/v1/accounts/{ACCOUNT}/debits",
                json={"amount_cents": 10},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(debit, range(DEBITS)))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_serves_charge_once_per_crossing_within_the_cap_and_cooldown(
    running: Running, settings: Settings, emulator: EmulatorServer
) -> None:
    service = running.service
    saved_and_paid(running)  # the saving top-up credits 5.00
    service.credit(ACCOUNT, 500, reason="to 10.00", idempotency_key="funds")
    service.set_auto_recharge(ACCOUNT, RULE)
    _, key = service.create_service_key("two-serves")
    with two_serves(settings) as urls:
        for n, phase in enumerate(PHASES):
            balance = service.balance(ACCOUNT).balance_cents
            if balance > 1000:  # back to 10.00, above the threshold: nothing armed
                service.spend(ACCOUNT, balance - 1000, idempotency_key=f"reset-{n}")
            elif balance < 1000:
                service.credit(ACCOUNT, 1000 - balance, reason="to 10.00", idempotency_key=f"r{n}")
            assert service.balance(ACCOUNT).balance_cents == 1000
            if phase == "within the cooldown":  # an hour's cooldown cannot pass meanwhile
                service.set_auto_recharge(ACCOUNT, replace(RULE, cooldown_seconds=3600))
            before = len(attempts(service))
            assert burst(urls, key) == [201] * DEBITS
            if phase != "charge":  # crossed, and nothing armed
                assert len(attempts(service)) == before, (phase, attempts(service))
                assert service.balance(ACCOUNT).balance_cents == 0
                service.set_auto_recharge(ACCOUNT, RULE)
                continue
            expected = before + 1
            assert len(attempts(service)) == expected, attempts(service)
            assert wait_for(lambda n=expected: len(credits(service)) == n), attempts(service)
            assert wait_for(lambda: attempts(service)[-1]["status"] == "succeeded")
            ended = _aware(attempts(service)[-1]["finished_at"])
            # The next crossing may arm only a whole cooldown after this charge.
            assert wait_for(lambda end=ended: datetime.now(UTC) > end + timedelta(seconds=COOLDOWN))
        running.control.wait_idle(timeout=30)
    rows = attempts(service)
    assert [r["status"] for r in rows] == ["succeeded"] * 5
    stripe_charges = charges(emulator)
    # One charge per crossing at Stripe, each credited exactly once.
    assert [pi.status for pi in stripe_charges] == ["succeeded"] * 5
    assert sorted(pi.metadata["attempt"] for pi in stripe_charges) == sorted(
        r["attempt_key"] for r in rows
    )
    assert sorted(credits(service)) == sorted(
        (f"payment_intent:{pi.id}", 2000) for pi in stripe_charges
    )
    # Within the cap (amount) and the cooldown (Stripe's seconds: allow its rounding).
    assert sum(pi.amount for pi in stripe_charges) <= RULE.monthly_cap_cents
    for previous, following in itertools.pairwise(stripe_charges):
        assert following.created - previous.created >= COOLDOWN - 1
    for previous, following in itertools.pairwise(rows):
        ended = _aware(previous["finished_at"]) + timedelta(seconds=COOLDOWN)
        assert _aware(following["created_at"]) >= ended
    assert service.verify_ledger().ok
