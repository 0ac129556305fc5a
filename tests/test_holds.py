"""Holds: place, capture in part or whole, release, expiry, idempotency and concurrency.

Both databases; the Python API for the rules, real HTTP (uvicorn on loopback, a thread
pool of clients) for holds racing each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from stripetopup.core import TopUpService
from stripetopup.errors import Conflict, HoldNotOpen, InsufficientFunds, InvalidAmount, NotFound
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT
from tests.support.clock import ManualClock
from tests.support.servers import serve_in_thread


@pytest.fixture
def funded(service: TopUpService) -> TopUpService:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    return service


def available(service: TopUpService) -> int:
    return service.balance(ACCOUNT).available_cents


def test_a_hold_reduces_the_available_balance_until_released(funded: TopUpService) -> None:
    placed = funded.place_hold(ACCOUNT, 1500, idempotency_key="h1", reason="render job")
    assert placed.created
    hold = placed.hold
    assert (hold.status, hold.amount_cents, hold.held_cents) == ("open", 1500, 1500)
    assert hold.hold_id.startswith("hold_")
    balance = funded.balance(ACCOUNT)
    assert (balance.balance_cents, balance.held_cents, balance.available_cents) == (
        5000,
        1500,
        3500,
    )

    released = funded.release_hold(hold.hold_id, idempotency_key="r1")
    assert released.created
    assert released.hold.status == "released"
    assert available(funded) == 5000
    again = funded.release_hold(hold.hold_id, idempotency_key="r1")
    assert not again.created
    assert again.to_json() == released.to_json()
    assert len(funded.ledger(ACCOUNT)) == 1


def test_a_partial_capture_debits_that_part_and_releases_the_rest(funded: TopUpService) -> None:
    hold = funded.place_hold(ACCOUNT, 2000, idempotency_key="h").hold
    captured = funded.capture_hold(hold.hold_id, 750, idempotency_key="c")
    assert captured.created
    assert captured.entry is not None
    assert (captured.entry.amount_cents, captured.entry.kind) == (-750, "hold_capture")
    assert captured.entry.source == f"hold_capture:{hold.hold_id}"
    assert (captured.hold.status, captured.hold.captured_cents) == ("captured", 750)
    balance = funded.balance(ACCOUNT)
    assert (balance.balance_cents, balance.held_cents, balance.available_cents) == (4250, 0, 4250)
    assert funded.get_hold(hold.hold_id) == captured.hold


def test_capturing_without_an_amount_takes_the_whole_hold(funded: TopUpService) -> None:
    hold = funded.place_hold(ACCOUNT, 1200, idempotency_key="h").hold
    captured = funded.capture_hold(hold.hold_id, idempotency_key="c")
    assert captured.hold.captured_cents == 1200
    assert funded.balance(ACCOUNT).balance_cents == 3800


def test_a_retried_capture_returns_the_first_result_and_another_is_refused(
    funded: TopUpService,
) -> None:
    hold = funded.place_hold(ACCOUNT, 2000, idempotency_key="h").hold
    first = funded.capture_hold(hold.hold_id, 500, idempotency_key="c")
    again = funded.capture_hold(hold.hold_id, 500, idempotency_key="c")
    assert not again.created
    assert again.to_json() == first.to_json()
    with pytest.raises(HoldNotOpen, match="already captured"):
        funded.capture_hold(hold.hold_id, 600, idempotency_key="c")
    with pytest.raises(HoldNotOpen, match="already captured"):
        funded.capture_hold(hold.hold_id, 500, idempotency_key="other")
    with pytest.raises(HoldNotOpen, match="cannot be released"):
        funded.release_hold(hold.hold_id, idempotency_key="r")
    assert funded.balance(ACCOUNT).balance_cents == 4500


def test_capturing_more_than_the_hold_is_refused(funded: TopUpService) -> None:
    hold = funded.place_hold(ACCOUNT, 1000, idempotency_key="h").hold
    with pytest.raises(InvalidAmount, match=r"cannot capture 10\.01 of a hold of 10\.00"):
        funded.capture_hold(hold.hold_id, 1001, idempotency_key="c")
    assert funded.get_hold(hold.hold_id).status == "open"


def test_a_released_hold_cannot_be_captured(funded: TopUpService) -> None:
    hold = funded.place_hold(ACCOUNT, 1000, idempotency_key="h").hold
    funded.release_hold(hold.hold_id, idempotency_key="r")
    with pytest.raises(HoldNotOpen, match="is released; it can no longer be captured"):
        funded.capture_hold(hold.hold_id, idempotency_key="c")
    assert funded.balance(ACCOUNT).balance_cents == 5000


@pytest.fixture
def clocked(clocked: TopUpService) -> TopUpService:
    """The shared clocked service (tests/conftest.py), funded."""
    clocked.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    return clocked


def test_a_hold_counts_until_the_second_it_expires(
    clocked: TopUpService, clock: ManualClock
) -> None:
    hold = clocked.place_hold(ACCOUNT, 4000, idempotency_key="h", ttl_seconds=60).hold
    assert hold.expires_at == clock.now + timedelta(seconds=60)
    clock.advance(59.999)
    assert (available(clocked), clocked.get_hold(hold.hold_id).status) == (1000, "open")
    clock.advance(0.001)
    assert (available(clocked), clocked.get_hold(hold.hold_id).status) == (5000, "expired")


def test_an_expired_hold_stops_counting_and_cannot_be_captured(
    clocked: TopUpService, clock: ManualClock
) -> None:
    hold = clocked.place_hold(ACCOUNT, 4000, idempotency_key="h", ttl_seconds=1).hold
    assert available(clocked) == 1000
    clock.advance(1)
    assert available(clocked) == 5000
    assert clocked.get_hold(hold.hold_id).status == "expired"
    with pytest.raises(HoldNotOpen, match=r"expired at .*place a new hold"):
        clocked.capture_hold(hold.hold_id, idempotency_key="c")
    released = clocked.release_hold(hold.hold_id, idempotency_key="r")
    assert (released.created, released.hold.status) == (False, "expired")
    clocked.place_hold(ACCOUNT, 5000, idempotency_key="h2")
    assert clocked.get_hold(hold.hold_id).status == "expired"
    assert clocked.balance(ACCOUNT).balance_cents == 5000


def test_holds_expire_after_the_configured_ttl_by_default(funded: TopUpService) -> None:
    hold = funded.place_hold(ACCOUNT, 100, idempotency_key="h").hold
    assert hold.expires_at - hold.created_at == timedelta(seconds=funded.settings.hold_ttl_seconds)


def test_a_retried_placement_returns_the_hold_as_placed(funded: TopUpService) -> None:
    first = funded.place_hold(ACCOUNT, 800, idempotency_key="h", reason="job")
    funded.capture_hold(first.hold.hold_id, 300, idempotency_key="c")
    again = funded.place_hold(ACCOUNT, 800, idempotency_key="h", reason="job")
    assert not again.created
    assert again.to_json() == first.to_json()
    assert funded.get_hold(first.hold.hold_id).status == "captured"
    with pytest.raises(Conflict, match="already used to place a different hold"):
        funded.place_hold(ACCOUNT, 900, idempotency_key="h", reason="job")
    assert funded.balance(ACCOUNT).balance_cents == 4700


def test_a_hold_larger_than_available_is_refused_and_writes_nothing(
    funded: TopUpService,
) -> None:
    funded.place_hold(ACCOUNT, 3000, idempotency_key="h1")
    with pytest.raises(InsufficientFunds) as caught:
        funded.place_hold(ACCOUNT, 2001, idempotency_key="h2")
    assert (caught.value.available_cents, caught.value.requested_cents) == (2000, 2001)
    assert funded.balance(ACCOUNT).held_cents == 3000


def test_an_unknown_hold_is_not_found(funded: TopUpService) -> None:
    unknown = "hold_" + "0" * 24  # the shape of a hold id, but no such hold
    for call in (
        lambda: funded.get_hold(unknown),
        lambda: funded.capture_hold(unknown, idempotency_key="c"),
        lambda: funded.release_hold(unknown, idempotency_key="r"),
    ):
        with pytest.raises(NotFound, match="unknown hold"):
            call()


# Concurrency over real HTTP -------------------------------------------------------------


@pytest.fixture
def api(funded: TopUpService) -> Iterator[httpx.Client]:
    _, key = funded.create_service_key("holds-worker")
    with (
        serve_in_thread(create_app(funded)) as url,
        httpx.Client(
            base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http,
    ):
        yield http


def test_available_balance_never_goes_negative_under_concurrent_holds_and_debits(
    api: httpx.Client, funded: TopUpService
) -> None:
    def attempt(n: int) -> tuple[str, int]:
        kind = "holds" if n % 2 else "debits"
        response = api.post(
            f"/accounts/{ACCOUNT}/{kind}",
            json={"amount_cents": 100},
            headers={"Idempotency-Key": f"{n}"},
        )
        return kind, response.status_code

    with ThreadPoolExecutor(20) as pool:
        outcomes = Counter(pool.map(attempt, range(120)))
    assert outcomes[("holds", 201)] + outcomes[("debits", 201)] == 50
    assert outcomes[("holds", 402)] + outcomes[("debits", 402)] == 70
    balance = funded.balance(ACCOUNT)
    assert balance.available_cents == 0
    assert balance.held_cents == 100 * outcomes[("holds", 201)]
    assert balance.balance_cents == 5000 - 100 * outcomes[("debits", 201)]
    assert balance.balance_cents == sum(e.amount_cents for e in funded.ledger(ACCOUNT, limit=1000))


def test_concurrent_captures_and_releases_of_one_hold_settle_it_once(
    api: httpx.Client, funded: TopUpService
) -> None:
    hold_id = api.post(
        f"/accounts/{ACCOUNT}/holds", json={"amount_cents": 1000}, headers={"Idempotency-Key": "h"}
    ).json()["id"]

    def attempt(n: int) -> int:
        action = "capture" if n % 2 else "release"
        return api.post(
            f"/holds/{hold_id}/{action}", json={}, headers={"Idempotency-Key": f"{action}-{n}"}
        ).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(attempt, range(40)))
    hold = funded.get_hold(hold_id)
    assert hold.status in ("captured", "released")
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200, 409}
    expected = 4000 if hold.status == "captured" else 5000
    assert funded.balance(ACCOUNT).balance_cents == expected
    assert len(funded.ledger(ACCOUNT)) == (2 if hold.status == "captured" else 1)
