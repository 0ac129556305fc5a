"""Credit grants, on both databases: every credit makes a grant, every debit draws on the
account's grants in burn-down order (priority, soonest expiry with never-expiring last,
oldest), an uncovered debit leaves a deficit the next credit settles, and ``ledger verify``
checks every invariant. The clock is a ManualClock, so time edges are exact.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from stripetopup.core import TopUpService
from stripetopup.errors import InsufficientFunds, InvalidDate, UsageError
from tests.conftest import ACCOUNT
from tests.support.clock import ManualClock
from tests.support.grants import draws, grants, verified


def test_every_manual_credit_makes_a_paid_never_expiring_grant_by_default(
    clocked: TopUpService,
) -> None:
    clocked.credit(ACCOUNT, 500, reason="goodwill", idempotency_key="c1")
    assert grants(clocked, ACCOUNT) == [("manual:c1", "paid", 500, 500, "live")]
    assert verified(clocked)


def test_a_debit_draws_by_priority_then_soonest_expiry_then_age(
    clocked: TopUpService, clock: ManualClock
) -> None:
    soon, later = clock.now + timedelta(days=3), clock.now + timedelta(days=30)
    clocked.credit(ACCOUNT, 100, reason="paid", idempotency_key="paid")
    clocked.credit(
        ACCOUNT, 100, reason="p", idempotency_key="late", category="promotional", expires_at=later
    )
    clocked.credit(
        ACCOUNT, 100, reason="p", idempotency_key="soon", category="promotional", expires_at=soon
    )
    clocked.credit(ACCOUNT, 100, reason="p", idempotency_key="first", priority=10)
    clocked.spend(ACCOUNT, 350, idempotency_key="big")
    assert draws(clocked, "spend:app:big") == [
        ("manual:first", 100),
        ("manual:soon", 100),
        ("manual:late", 100),
        ("manual:paid", 50),
    ]
    assert [g[3] for g in grants(clocked, ACCOUNT)] == [50, 0, 0, 0]
    assert verified(clocked)


def test_an_uncovered_debit_leaves_a_deficit_the_next_credit_settles(
    clocked: TopUpService,
) -> None:
    clocked.credit(ACCOUNT, 200, reason="paid", idempotency_key="c1")
    clocked.debit(ACCOUNT, 500, reason="chargeback", idempotency_key="d1")
    assert draws(clocked, "manual:d1") == [("manual:c1", 200), (None, 300)]
    balance = clocked.balance(ACCOUNT)
    assert (balance.balance_cents, balance.deficit_cents, balance.available_cents) == (
        -300,
        300,
        -300,
    )
    clocked.credit(ACCOUNT, 1000, reason="top-up", idempotency_key="c2")
    assert draws(clocked, "manual:c2") == [(None, -300), ("manual:c2", 300)]
    assert grants(clocked, ACCOUNT)[-1] == ("manual:c2", "paid", 1000, 700, "live")
    balance = clocked.balance(ACCOUNT)
    assert (balance.balance_cents, balance.deficit_cents, balance.paid_cents) == (700, 0, 700)
    assert verified(clocked)


def test_nothing_is_drawn_from_a_grant_not_yet_effective_or_past_its_expiry(
    clocked: TopUpService, clock: ManualClock
) -> None:
    clocked.grant(
        ACCOUNT, 300, idempotency_key="later", effective_at=clock.now + timedelta(hours=1)
    )
    clocked.grant(ACCOUNT, 200, idempotency_key="brief", expires_at=clock.now + timedelta(hours=1))
    clock.advance(3600)  # "brief" is past its expiry, "later" just began
    with pytest.raises(InsufficientFunds):
        clocked.spend(ACCOUNT, 301, idempotency_key="too-much")
    clocked.spend(ACCOUNT, 300, idempotency_key="fits")
    assert draws(clocked, "spend:app:fits") == [("grant:app:later", 300)]
    assert verified(clocked)


def test_a_grant_s_terms_are_bounded(clocked: TopUpService, clock: ManualClock) -> None:
    with pytest.raises(UsageError, match="priority"):
        clocked.credit(ACCOUNT, 100, reason="x", priority=101)
    with pytest.raises(InvalidDate, match="future"):
        clocked.credit(ACCOUNT, 100, reason="x", category="promotional", expires_at=clock.now)
    with pytest.raises(UsageError, match="category"):
        clocked.grant(ACCOUNT, 100, idempotency_key="k", category="free")
    assert grants(clocked, ACCOUNT) == []


def _reserved(service: TopUpService, hold_id: str) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT g.source, r.amount_cents FROM grant_reservations r "
            "JOIN credit_grants g ON g.id = r.grant_pk JOIN holds h ON h.id = r.hold_pk "
            f"WHERE h.hold_id = '{hold_id}' ORDER BY r.id"
        ).all()
    return [(str(s), int(c)) for s, c in rows]


def test_a_hold_reserves_grants_in_burn_down_order_and_its_capture_draws_them(
    clocked: TopUpService, clock: ManualClock
) -> None:
    clocked.credit(ACCOUNT, 300, reason="paid", idempotency_key="paid")
    clocked.grant(ACCOUNT, 200, idempotency_key="promo", expires_at=clock.now + timedelta(days=1))
    hold = clocked.place_hold(ACCOUNT, 350, idempotency_key="h").hold
    assert _reserved(clocked, hold.hold_id) == [("grant:app:promo", 200), ("manual:paid", 150)]
    with pytest.raises(InsufficientFunds):
        clocked.spend(ACCOUNT, 151, idempotency_key="too-much")
    clocked.spend(ACCOUNT, 150, idempotency_key="rest")
    assert draws(clocked, "spend:app:rest") == [("manual:paid", 150)]
    clocked.capture_hold(hold.hold_id, 300, idempotency_key="cap")
    assert draws(clocked, f"hold_capture:{hold.hold_id}") == [
        ("grant:app:promo", 200),
        ("manual:paid", 100),
    ]
    assert clocked.balance(ACCOUNT).available_cents == 50
    assert verified(clocked)


def test_releasing_a_hold_gives_its_reservations_back(clocked: TopUpService) -> None:
    clocked.credit(ACCOUNT, 300, reason="paid", idempotency_key="paid")
    hold = clocked.place_hold(ACCOUNT, 300, idempotency_key="h").hold
    assert clocked.balance(ACCOUNT).available_cents == 0
    clocked.release_hold(hold.hold_id, idempotency_key="rel")
    assert clocked.balance(ACCOUNT).available_cents == 300
    clocked.spend(ACCOUNT, 300, idempotency_key="all")
    assert draws(clocked, "spend:app:all") == [("manual:paid", 300)]
    assert verified(clocked)


def test_an_expired_hold_reserves_nothing(clocked: TopUpService, clock: ManualClock) -> None:
    clocked.credit(ACCOUNT, 300, reason="paid", idempotency_key="paid")
    clocked.place_hold(ACCOUNT, 300, idempotency_key="h", ttl_seconds=60)
    clock.advance(60)
    clocked.spend(ACCOUNT, 300, idempotency_key="all")
    assert draws(clocked, "spend:app:all") == [("manual:paid", 300)]
    assert verified(clocked)


def test_a_grant_changed_behind_the_ledger_s_back_fails_verify_and_reconcile(
    clocked: TopUpService, clock: ManualClock
) -> None:
    clocked.credit(ACCOUNT, 300, reason="paid", idempotency_key="paid")
    with clocked.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE credit_grants SET remaining_cents = 250")
    report = clocked.verify_ledger()
    assert not report.ok
    assert report.differences == ()
    [grant] = clocked.grants(ACCOUNT).grants
    assert [(p.subject, p.detail) for p in report.grant_problems] == [
        (grant.grant_id, "remaining 250 is not amount 300 less draws 0"),
        (ACCOUNT, "entries sum to 300, not grants' remaining 250 less deficit 0"),
    ]
    reconciled = clocked.reconcile(clock.now - timedelta(days=1), clock.now)
    assert reconciled.grant_problems == 2
    assert not reconciled.clean


def test_a_debit_across_many_grants_draws_each_once_in_order(clocked: TopUpService) -> None:
    for n in range(45):  # more than the first reads of the burn-down hand out
        clocked.credit(ACCOUNT, 2, reason="n", idempotency_key=f"g{n:02d}", priority=n % 3)
    clocked.spend(ACCOUNT, 81, idempotency_key="wide")
    drawn = draws(clocked, "spend:app:wide")
    order = sorted((n % 3, n) for n in range(45))
    assert drawn == [(f"manual:g{n:02d}", 2) for _, n in order[:40]] + [
        (f"manual:g{order[40][1]:02d}", 1)
    ]
    assert verified(clocked)
