"""The spend API from Python: ``TopUpService.spend`` and friends, on both databases.

No HTTP here: this is how a host application written in Python spends credit.
"""

from __future__ import annotations

import pytest

from stripetopup.core import TopUpService
from stripetopup.errors import Conflict, InsufficientFunds, InvalidAmount, NotFound, UsageError
from tests.conftest import ACCOUNT


@pytest.fixture
def funded(service: TopUpService) -> TopUpService:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    return service


def entry_count(service: TopUpService) -> int:
    return len(service.ledger(ACCOUNT, limit=1000))


def test_spend_debits_the_account_and_returns_its_entry(funded: TopUpService) -> None:
    spent = funded.spend(ACCOUNT, 125, idempotency_key="order-1", reason="API call")
    assert spent.created
    assert (spent.entry.amount_cents, spent.entry.kind) == (-125, "spend")
    assert spent.entry.source == "spend:app:order-1"
    assert spent.entry.balance_after_cents == 4875
    assert spent.to_json()["amount"] == "1.25"
    assert funded.balance(ACCOUNT).balance_cents == 4875


def test_spend_refuses_more_than_the_available_balance_and_writes_nothing(
    funded: TopUpService,
) -> None:
    with pytest.raises(InsufficientFunds) as caught:
        funded.spend(ACCOUNT, 5001, idempotency_key="too-much")
    assert (caught.value.available_cents, caught.value.requested_cents) == (5000, 5001)
    assert "50.00 available" in caught.value.message
    assert funded.balance(ACCOUNT).balance_cents == 5000
    assert entry_count(funded) == 1


def test_a_refused_spend_may_be_retried_with_its_key_once_funds_arrive(
    funded: TopUpService,
) -> None:
    with pytest.raises(InsufficientFunds):
        funded.spend(ACCOUNT, 6000, idempotency_key="big")
    funded.credit(ACCOUNT, 1000, reason="top-up", idempotency_key="more")
    assert funded.spend(ACCOUNT, 6000, idempotency_key="big").entry.balance_after_cents == 0


def test_spend_may_take_the_balance_negative_when_explicitly_allowed(
    funded: TopUpService,
) -> None:
    spent = funded.spend(ACCOUNT, 7000, idempotency_key="overdraw", allow_negative=True)
    assert spent.entry.balance_after_cents == -2000
    assert funded.balance(ACCOUNT).available_cents == -2000
    with pytest.raises(InsufficientFunds):
        funded.spend(ACCOUNT, 1, idempotency_key="next")


def test_a_retried_spend_returns_the_first_result_without_writing(
    funded: TopUpService,
) -> None:
    first = funded.spend(ACCOUNT, 300, idempotency_key="k", reason="job 7")
    funded.spend(ACCOUNT, 4700, idempotency_key="drain")
    again = funded.spend(ACCOUNT, 300, idempotency_key="k", reason="job 7")
    assert not again.created
    assert again.entry == first.entry
    assert again.to_json() == first.to_json()
    assert funded.balance(ACCOUNT).balance_cents == 0


def test_reusing_a_spend_key_with_other_input_is_a_conflict(funded: TopUpService) -> None:
    funded.spend(ACCOUNT, 300, idempotency_key="k")
    for other in (
        {"amount_cents": 301},
        {"amount_cents": 300, "reason": "different"},
        {"amount_cents": 300, "allow_negative": True},
    ):
        with pytest.raises(Conflict, match="idempotency key already used"):
            funded.spend(ACCOUNT, idempotency_key="k", **other)  # type: ignore[arg-type]
    funded.open_account("acct-bob")
    with pytest.raises(Conflict):
        funded.spend("acct-bob", 300, idempotency_key="k", allow_negative=True)
    assert funded.balance(ACCOUNT).balance_cents == 4700


def test_spend_keys_are_scoped_per_actor(funded: TopUpService) -> None:
    one = funded.spend(ACCOUNT, 100, idempotency_key="k", actor="service:a")
    two = funded.spend(ACCOUNT, 100, idempotency_key="k", actor="service:b")
    assert one.created
    assert two.created
    assert funded.balance(ACCOUNT).balance_cents == 4800


def test_a_spend_key_cannot_place_a_hold_and_a_hold_key_cannot_spend(
    funded: TopUpService,
) -> None:
    funded.spend(ACCOUNT, 300, idempotency_key="job-1")
    with pytest.raises(Conflict, match="'job-1' was already used for a debit; use a new key"):
        funded.place_hold(ACCOUNT, 300, idempotency_key="job-1")
    funded.place_hold(ACCOUNT, 300, idempotency_key="job-2")
    with pytest.raises(Conflict, match="'job-2' was already used for a hold; use a new key"):
        funded.spend(ACCOUNT, 300, idempotency_key="job-2")
    balance = funded.balance(ACCOUNT)
    assert (balance.balance_cents, balance.held_cents, entry_count(funded)) == (4700, 300, 2)
    assert not funded.spend(ACCOUNT, 300, idempotency_key="job-1").created
    assert not funded.place_hold(ACCOUNT, 300, idempotency_key="job-2").created
    assert funded.place_hold(ACCOUNT, 300, idempotency_key="job-1", actor="other").created


def test_a_long_key_is_one_operation_even_when_it_is_stored_hashed(funded: TopUpService) -> None:
    key, actor = "k" * 200, "service:" + "n" * 190
    funded.place_hold(ACCOUNT, 100, idempotency_key=key, actor=actor)
    with pytest.raises(Conflict, match="already used for a hold"):
        funded.spend(ACCOUNT, 100, idempotency_key=key, actor=actor)
    assert entry_count(funded) == 1


def test_a_very_long_actor_and_key_still_fit_the_source_column(funded: TopUpService) -> None:
    spent = funded.spend(ACCOUNT, 100, idempotency_key="k" * 200, actor="service:" + "n" * 190)
    assert spent.entry.source.startswith("spend:sha256:")
    again = funded.spend(ACCOUNT, 100, idempotency_key="k" * 200, actor="service:" + "n" * 190)
    assert not again.created


def test_open_holds_reduce_what_can_be_spent(funded: TopUpService) -> None:
    funded.place_hold(ACCOUNT, 4000, idempotency_key="h")
    with pytest.raises(InsufficientFunds) as caught:
        funded.spend(ACCOUNT, 1001, idempotency_key="s")
    assert caught.value.available_cents == 1000
    assert funded.spend(ACCOUNT, 1000, idempotency_key="s2").entry.balance_after_cents == 4000


def test_spend_on_an_unknown_account_is_not_found(funded: TopUpService) -> None:
    with pytest.raises(NotFound, match="unknown account: nobody"):
        funded.spend("nobody", 100, idempotency_key="k")


@pytest.mark.parametrize("amount", [0, -5, True, 1.5, "100", 100_000_000_01])
def test_spend_refuses_amounts_that_are_not_positive_whole_cents(
    funded: TopUpService, amount: object
) -> None:
    with pytest.raises(InvalidAmount):
        funded.spend(ACCOUNT, amount, idempotency_key="k")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there"])
def test_spend_refuses_missing_or_malformed_idempotency_keys(
    funded: TopUpService, key: str
) -> None:
    with pytest.raises(UsageError, match="idempotency key"):
        funded.spend(ACCOUNT, 100, idempotency_key=key)
    assert entry_count(funded) == 1
