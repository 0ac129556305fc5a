"""``ledger verify`` and ``ledger ACCOUNT`` on both databases: a clean ledger exits 0, a
balance changed behind the ledger's back is reported with its difference and exits 1.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, settings_env


@pytest.fixture
def cli(settings: Settings, service: TopUpService):  # type: ignore[no-untyped-def]
    env = settings_env(settings)
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def corrupt(service: TopUpService, account: str, balance_cents: int) -> None:
    with service.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE accounts SET balance_cents = :b WHERE account_id = :a"),
            {"b": balance_cents, "a": account},
        )


def test_a_clean_ledger_verifies_and_exits_0(cli, service: TopUpService) -> None:  # type: ignore[no-untyped-def]
    service.open_account("acct-bob")
    service.credit(ACCOUNT, 500, reason="welcome")
    service.debit("acct-bob", 250, reason="chargeback")  # negative balances are fine
    result = cli("ledger", "verify")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Ledger verified: 2 accounts, every balance equals the sum of its entries and of its "
        "credit grants.\n"
    )
    data = json.loads(cli("ledger", "verify", "--json").stdout)
    assert data == {"ok": True, "accounts": 2, "differences": [], "grant_problems": []}


def test_a_balance_changed_behind_the_ledgers_back_is_reported_and_exits_1(
    cli, service: TopUpService
) -> None:  # type: ignore[no-untyped-def]
    service.credit(ACCOUNT, 500, reason="welcome")
    corrupt(service, ACCOUNT, 999)
    result = cli("ledger", "verify")
    assert result.exit_code == 1
    assert result.stdout == (
        f"{ACCOUNT}: balance 9.99 but its entries sum to 5.00 (difference 4.99)\n"
        "1 of 1 account differs.\n"
    )
    as_json = cli("ledger", "verify", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["differences"] == [
        {
            "account_id": ACCOUNT,
            "balance_cents": 999,
            "entries_cents": 500,
            "difference_cents": 499,
            "difference": "4.99",
        }
    ]
    assert [d.account_id for d in service.verify_ledger().differences] == [ACCOUNT]


def test_ledger_account_still_lists_entries_beside_verify(cli, service: TopUpService) -> None:  # type: ignore[no-untyped-def]
    service.credit(ACCOUNT, 125, reason="welcome")
    human = cli("ledger", ACCOUNT)
    assert human.exit_code == 0, human.stderr
    assert f"Ledger for {ACCOUNT}" in human.stdout
    assert "manual_credit" in human.stdout
    [entry] = json.loads(cli("ledger", ACCOUNT, "--json").stdout)
    assert (entry["amount_cents"], entry["kind"]) == (125, "manual_credit")
    assert json.loads(cli("ledger", "--limit", "1", ACCOUNT, "--json").stdout)[0]["id"] == 1
    service.open_account("verify")  # an account named like the subcommand: `ledger show`
    assert json.loads(cli("ledger", "show", "verify", "--json").stdout) == []
    bare = cli("ledger")  # no account: the help, as a usage error
    assert bare.exit_code == 2
    assert "ledger ACCOUNT [--limit N] [--json]" in bare.stdout + bare.stderr
    unknown = cli("ledger", "acct-nobody")
    assert (unknown.exit_code, unknown.stderr) == (
        1,
        "Error: unknown account: acct-nobody; "
        "open it with: stripetopup accounts create acct-nobody\n",
    )
