"""Arming beside the debits (issue 15): a hold placed alone that takes the available balance
below an active rule's threshold arms one attempt, like a debit; 50 concurrent holds
crossing it arm one; a capture and an expiry write-off arm through the posting point; a
release arms nothing. Both databases; the card is saved through the real path.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from stripetopup.core import TopUpService
from stripetopup.models import GrantCategory
from tests.conftest import ACCOUNT, Running
from tests.support.cards import saved_and_paid
from tests.support.clock import ManualClock
from tests.test_recharge_attempts import RULE, attempts, ready

HOLDS = 50


def test_a_hold_placed_alone_below_the_threshold_arms_one_attempt(running: Running) -> None:
    service = ready(running)  # 10.00 available, rule below 5.00 charges 20.00
    service.place_hold(ACCOUNT, 400, idempotency_key="above")  # 6.00 available
    assert attempts(service) == []
    hold = service.place_hold(ACCOUNT, 200, idempotency_key="below").hold  # 4.00
    [(key, status, amount, open_pk)] = attempts(service)
    assert (status, amount, open_pk is not None) == ("pending", 2000, True)
    assert service.balance(ACCOUNT).balance_cents == 1000  # a hold debits nothing
    service.release_hold(hold.hold_id, idempotency_key="r")  # gives back: arms nothing
    service.place_hold(ACCOUNT, 300, idempotency_key="again")  # one in flight already
    assert [a[0] for a in attempts(service)] == [key]


def test_fifty_concurrent_holds_crossing_the_threshold_arm_exactly_one(running: Running) -> None:
    service = ready(running)  # 10.00 available: the 26th hold of 0.20 goes below 5.00

    def hold(n: int) -> None:
        service.place_hold(ACCOUNT, 20, idempotency_key=f"hold-{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(hold, range(HOLDS)))
    assert service.balance(ACCOUNT).available_cents == 0
    [(_, status, amount, open_pk)] = attempts(service)
    assert (status, amount, open_pk is not None) == ("pending", 2000, True)


def test_a_capture_below_the_threshold_arms_through_the_posting_point(running: Running) -> None:
    service = ready(running)
    service.pause_auto_recharge(ACCOUNT)
    hold = service.place_hold(ACCOUNT, 700, idempotency_key="h").hold  # paused: nothing
    service.resume_auto_recharge(ACCOUNT)
    assert attempts(service) == []
    service.capture_hold(hold.hold_id, 600, idempotency_key="c")  # 4.00 left, debited
    assert [a[1] for a in attempts(service)] == ["pending"]


def test_an_expiry_write_off_below_the_threshold_arms(running: Running) -> None:
    saved_and_paid(running)  # 5.00 paid, never expiring; the card saved
    clock = ManualClock()  # after the paid grant took effect
    clock.advance(1)
    service = TopUpService.from_settings(running.service.settings, clock=clock)
    try:
        service.set_auto_recharge(ACCOUNT, RULE)
        service.pause_auto_recharge(ACCOUNT)
        service.spend(ACCOUNT, 50, idempotency_key="s")  # 4.50, paused: nothing armed
        service.grant(
            ACCOUNT,
            300,
            idempotency_key="promo",
            category=GrantCategory.PROMOTIONAL,
            expires_at=clock() + timedelta(hours=1),
        )  # 7.50: a credit arms nothing
        service.resume_auto_recharge(ACCOUNT)
        assert attempts(service) == []
        clock.advance(2 * 3600)
        assert service.expire_grants().expired  # writes off 3.00: 4.50 left
        assert service.balance(ACCOUNT).balance_cents == 450
        assert [a[1] for a in attempts(service)] == ["pending"]
    finally:
        service.close()
