"""100 concurrent debits against an account whose grants expire during the run, on both
databases: threads debit while another thread moves the shared clock and runs the expiry
job. No debit overdraws (no deficit, the balance never below zero), no grant is written
off twice, and ``ledger verify`` is clean afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.errors import InsufficientFunds
from tests.conftest import ACCOUNT
from tests.support.clock import ManualClock
from tests.support.grants import verified

DEBITS = 100
PROMOS = 10


def _debit(service: TopUpService, n: int) -> str:
    try:
        service.spend(ACCOUNT, 25, idempotency_key=f"race-{n}")
    except InsufficientFunds:
        return "refused"
    return "debited"


def _expire_while(service: TopUpService, clock: ManualClock, done: threading.Event) -> int:
    """Move the clock a second at a time and run the expiry job, until the debits end."""
    runs = 0
    while not done.is_set() or runs < PROMOS + 1:
        clock.advance(1)
        service.expire_grants()
        runs += 1
    return runs


def test_debits_racing_expiring_grants_never_overdraw_or_expire_twice(
    settings: Settings,
) -> None:
    clock = ManualClock()
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    try:
        service.credit(ACCOUNT, 500, reason="paid", idempotency_key="paid")
        for n in range(PROMOS):  # one expires every second of the run
            service.grant(
                ACCOUNT, 200, idempotency_key=f"promo-{n}", category="promotional",
                expires_at=clock.now + timedelta(seconds=n + 1),
            )  # fmt: skip
        done = threading.Event()
        with ThreadPoolExecutor(max_workers=9) as pool:
            expiring = pool.submit(_expire_while, service, clock, done)
            outcomes = Counter(pool.map(lambda n: _debit(service, n), range(DEBITS)))
            done.set()
            expiring.result()
        service.expire_grants()

        with service.engine.connect() as connection:
            expiries = connection.exec_driver_sql(
                "SELECT source, amount_cents FROM ledger_entries WHERE kind = 'grant_expiry'"
            ).all()
            uncovered = connection.execute(
                sa.text("SELECT COUNT(*) FROM grant_draws WHERE grant_pk IS NULL")
            ).scalar_one()
            low = connection.exec_driver_sql(
                "SELECT MIN(balance_after_cents) FROM ledger_entries"
            ).scalar_one()
        written_off = -sum(int(cents) for _, cents in expiries)
        assert len(expiries) == len({source for source, _ in expiries}) <= PROMOS
        assert (uncovered, low >= 0) == (0, True)
        balance = service.balance(ACCOUNT)
        assert balance.balance_cents == 500 + PROMOS * 200 - 25 * outcomes["debited"] - written_off
        assert balance.promotional_cents == 0  # every promotional grant has expired
        assert sum(outcomes.values()) == DEBITS
        assert verified(service)
    finally:
        service.close()
