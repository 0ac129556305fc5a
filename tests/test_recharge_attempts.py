"""Recharge attempts (issue 15, third part): the debit that takes the available balance
below an active rule's threshold arms one attempt in its own transaction, on both
databases; 100 concurrent debits crossing it arm exactly one, and nothing is armed for
a paused rule, above the threshold, or by a credit.

The card is saved through the real path (a consenting checkout paid in the emulator, its
signed webhook delivered to the app on loopback). No charge is made yet: the worker that
charges an attempt is not built.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.core.recharge.types import RuleTerms
from tests.conftest import ACCOUNT, Running
from tests.support.cards import saved_and_paid

DEBITS = 100
RULE = RuleTerms(below_cents=500, amount_cents=2000, monthly_cap_cents=10000)


def attempts(service: TopUpService) -> list[tuple[str, str, int, int | None]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT attempt_key, status, amount_cents, open_account_pk "
                "FROM recharge_attempts ORDER BY id"
            )
        )
        return [(str(k), str(s), int(a), o) for k, s, a, o in rows]


def ready(running: Running, funds_cents: int = 500) -> TopUpService:
    """A saved card (its top-up credits 5.00), a rule, and ``funds_cents`` more."""
    saved_and_paid(running)
    service = running.service
    service.set_auto_recharge(ACCOUNT, RULE)
    service.credit(ACCOUNT, funds_cents, reason="funds", idempotency_key="funds")
    return service


def test_a_hundred_concurrent_debits_crossing_the_threshold_arm_exactly_one(
    running: Running,
) -> None:
    service = ready(running)  # 10.00 available; the 51st debit of 0.10 goes below 5.00

    def debit(n: int) -> None:
        service.spend(ACCOUNT, 10, idempotency_key=f"race-{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(debit, range(DEBITS)))
    assert service.balance(ACCOUNT).balance_cents == 0
    [(key, status, amount, open_pk)] = attempts(service)
    assert (status, amount) == ("pending", 2000)
    assert key.startswith("recharge:")
    assert open_pk is not None  # in flight: the unique column holds the account
    [shown] = service.auto_recharge(ACCOUNT).attempts
    assert (shown.attempt_key, shown.status) == (key, "pending")


def test_nothing_is_armed_above_the_threshold_by_a_credit_or_for_a_paused_rule(
    running: Running,
) -> None:
    service = ready(running)
    service.spend(ACCOUNT, 400, idempotency_key="above")  # 6.00 left: above 5.00
    assert attempts(service) == []
    service.pause_auto_recharge(ACCOUNT)
    service.spend(ACCOUNT, 400, idempotency_key="below-but-paused")  # 2.00 left
    assert attempts(service) == []
    service.resume_auto_recharge(ACCOUNT)
    service.credit(ACCOUNT, 100, reason="a credit arms nothing", idempotency_key="c")
    assert attempts(service) == []
    service.spend(ACCOUNT, 100, idempotency_key="below")
    assert [a[1] for a in attempts(service)] == ["pending"]
    service.spend(ACCOUNT, 100, idempotency_key="below-again")  # one in flight: no second
    assert len(attempts(service)) == 1
