"""The grants on the command line, on both databases: ``credit --promotional --priority
--expires``, ``grants ACCOUNT`` and the balance's breakdown; bad terms are exit 2 and write
nothing.
"""

from __future__ import annotations

import json

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT
from tests.support.cli import Invoke, invoker
from tests.support.grants import grants


@pytest.fixture
def cli(settings: Settings, service: TopUpService) -> Invoke:
    return invoker(settings)


def test_a_promotional_credit_with_an_expiry_is_listed_and_shown_in_the_balance(
    cli: Invoke, service: TopUpService
) -> None:
    paid = cli("credit", ACCOUNT, "--amount", "10", "--reason", "top-up", "--idempotency-key", "p")
    assert paid.exit_code == 0, paid.stderr
    promo = cli(
        "credit", ACCOUNT, "--amount", "5", "--reason", "welcome", "--promotional",
        "--priority", "10", "--expires", "30d", "--idempotency-key", "w",
    )  # fmt: skip
    assert promo.exit_code == 0, promo.stderr
    listed = json.loads(cli("grants", ACCOUNT, "--json").stdout)["grants"]
    assert [(g["source"], g["category"], g["priority"]) for g in listed] == [
        ("manual:w", "promotional", 10),
        ("manual:p", "paid", 50),
    ]
    assert listed[0]["expires_at"] is not None
    shown = cli("grants", ACCOUNT)
    assert shown.exit_code == 0
    assert listed[0]["grant_id"] in shown.stdout
    balance = cli("balance", ACCOUNT)
    assert "paid: 10.00 USD, promotional: 5.00 USD" in balance.stdout
    assert "next expiry: 5.00 USD on " in balance.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--priority", "101"], "less than or equal to 100"),
        (["--expires", "yesterday"], "--expires"),
        (["--expires", "2020-01-01"], "not in the future"),
    ],
)
def test_bad_grant_terms_exit_2_and_write_nothing(
    cli: Invoke, service: TopUpService, args: list[str], message: str
) -> None:
    result = cli("credit", ACCOUNT, "--amount", "5", "--reason", "x", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert grants(service, ACCOUNT) == []


def test_a_credit_with_a_relative_expiry_retried_later_is_the_same_credit(
    cli: Invoke, service: TopUpService
) -> None:
    args = ["credit", ACCOUNT, "--amount", "5", "--reason", "w", "--promotional"]
    first = cli(*args, "--expires", "30d", "--idempotency-key", "once")
    again = cli(*args, "--expires", "30d", "--idempotency-key", "once")
    assert (first.exit_code, again.exit_code) == (0, 0), again.stderr
    assert again.stdout.startswith("Already applied (idempotency key once)")
    assert len(grants(service, ACCOUNT)) == 1
