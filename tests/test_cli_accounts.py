"""Accounts at the CLI door, on both databases: one id rule, opening is explicit and reported,
and every "unknown account" says how to open one."""

from __future__ import annotations

import json

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.ids import ACCOUNT_ID_RULE
from tests.conftest import ACCOUNT, Running
from tests.support.accounts import LEGACY, open_as_an_earlier_release, row_counts
from tests.support.cli import Invoke, invoker
from tests.support.ledger import paid_session


@pytest.fixture
def cli(settings: Settings, service: TopUpService) -> Invoke:
    return invoker(settings)


def how_to_open(account_id: str) -> str:
    return (
        f"Error: unknown account: {account_id}; "
        f"open it with: stripetopup accounts create {account_id}\n"
    )


def off_the_rule(shown: str) -> str:
    return f"Error: invalid account id {shown}: account ids are {ACCOUNT_ID_RULE}\n"


def test_accounts_create_opens_an_account_and_a_second_time_says_it_exists(cli: Invoke) -> None:
    first = cli("accounts", "create", "acct-bob")
    assert first.exit_code == 0
    assert first.stdout == "Account acct-bob is open (balance 0.00).\n"
    again = cli("accounts", "create", "acct-bob")
    assert again.exit_code == 0
    assert again.stdout == "Account acct-bob already exists (balance 0.00); nothing changed.\n"
    data = json.loads(cli("accounts", "create", "acct-bob", "--json").stdout)
    assert (data["account_id"], data["created"]) == ("acct-bob", False)
    fresh = json.loads(cli("accounts", "create", "acct-carol", "--json").stdout)
    assert (fresh["account_id"], fresh["created"]) == ("acct-carol", True)


def test_accounts_create_of_an_existing_account_shows_its_balance_and_changes_it_not(
    cli: Invoke, service: TopUpService
) -> None:
    service.credit(ACCOUNT, 525, reason="welcome")
    again = cli("accounts", "create", ACCOUNT)
    assert again.exit_code == 0
    assert again.stdout == f"Account {ACCOUNT} already exists (balance 5.25); nothing changed.\n"
    assert service.balance(ACCOUNT).balance_cents == 525


@pytest.mark.parametrize(
    ("account_id", "shown"),
    [
        ("bad id!", "'bad id!'"),
        ("", "''"),
        (" alice", "' alice'"),
        ("a/b", "'a/b'"),
        ("_alice", "'_alice'"),  # (and "-alice" would be read as an option)
        ("caf\u00e9", "'caf\u00e9'"),
        ("a\tb", "'a\\tb'"),
        ("x" * 129, f"'{'x' * 64}'... (129 characters)"),
    ],
)
def test_accounts_create_refuses_an_id_off_the_rule_with_the_rule(
    cli: Invoke, service: TopUpService, account_id: str, shown: str
) -> None:
    before = row_counts(service)
    result = cli("accounts", "create", account_id)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == off_the_rule(shown)
    assert row_counts(service) == before


def test_tokens_create_refuses_an_unknown_account_and_says_how_to_open_it(
    cli: Invoke, service: TopUpService
) -> None:
    before = row_counts(service)
    result = cli("tokens", "create", "nobody")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown account: nobody; open it with: stripetopup accounts create nobody "
        "(or tokens create nobody --open)\n"
    )
    assert row_counts(service) == before


def test_tokens_create_open_opens_the_account_and_says_so(
    cli: Invoke, service: TopUpService
) -> None:
    result = cli("tokens", "create", "nobody", "--open")
    assert result.exit_code == 0
    opened, created, store, secret = result.stdout.splitlines()
    assert opened == "Opened account nobody."
    assert created.startswith("Created user token stu_")
    assert created.endswith(" for nobody.")
    assert store == "Store it now; it is shown only once:"
    assert secret.startswith("stu_")
    assert service.balance("nobody").balance_cents == 0
    again = cli("tokens", "create", "nobody", "--open")
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0].startswith("Created user token stu_")
    data = json.loads(cli("tokens", "create", "nobody", "--open", "--json").stdout)
    assert (data["subject"], data["account_opened"]) == ("nobody", False)


def test_tokens_create_open_refuses_an_id_off_the_rule(cli: Invoke, service: TopUpService) -> None:
    before = row_counts(service)
    result = cli("tokens", "create", "bad id!", "--open")
    assert result.exit_code == 2
    assert result.stderr == off_the_rule("'bad id!'")
    assert row_counts(service) == before


ACCOUNT_COMMANDS = [
    ["balance", "{}"],
    ["ledger", "{}"],
    ["ledger", "show", "{}"],
    ["credit", "{}", "--amount", "5", "--reason", "r"],
    ["debit", "{}", "--amount", "5", "--reason", "r", "--json"],
    ["checkout", "--amount", "5", "--user", "{}"],
    ["tokens", "create", "{}"],
]


def _with(command: list[str], account_id: str) -> list[str]:
    return [account_id if part == "{}" else part for part in command]


@pytest.mark.parametrize("command", ACCOUNT_COMMANDS, ids=" ".join)
def test_every_command_refuses_an_unknown_account_saying_how_to_open_it(
    cli: Invoke, service: TopUpService, command: list[str]
) -> None:
    before = row_counts(service)
    result = cli(*_with(command, "acct-nobody"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(how_to_open("acct-nobody").removesuffix("\n"))
    assert result.stderr.count("\n") == 1
    assert row_counts(service) == before


@pytest.mark.parametrize("command", ACCOUNT_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("account_id", "shown"),
    [("bad id!", "'bad id!'"), ("", "''"), ("a\x01b", "'a\\x01b'"), ("x" * 201, None)],
)
def test_every_command_refuses_an_id_no_account_can_have_with_the_rule(
    cli: Invoke, service: TopUpService, command: list[str], account_id: str, shown: str | None
) -> None:
    before = row_counts(service)
    result = cli(*_with(command, account_id))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == off_the_rule(shown or f"'{'x' * 64}'... (201 characters)")
    assert row_counts(service) == before


def test_payments_assign_to_an_unknown_account_says_how_to_open_it(running: Running) -> None:
    session_id = paid_session(running.control, "acct-nobody", 500)
    running.control.wait_idle()
    cli = invoker(running.service.settings)
    result = cli("payments", "assign", session_id, "acct-ghost", "--reason", "typo")
    assert result.exit_code == 1
    assert result.stderr == how_to_open("acct-ghost")
    [payment] = running.service.payments()
    assert (payment.state, payment.account_id) == ("attention", "acct-nobody")


def test_an_account_of_an_earlier_release_works_at_every_command(
    cli: Invoke, service: TopUpService
) -> None:
    open_as_an_earlier_release(service, LEGACY)
    credit = cli("credit", LEGACY, "--amount", "5", "--reason", "old money")
    assert credit.exit_code == 0
    assert credit.stdout == f"Credited 5.00 USD to {LEGACY}; balance 5.00 (entry 1).\n"
    debit = cli("debit", LEGACY, "--amount", "2", "--reason", "spent")
    assert debit.stdout == f"Debited 2.00 USD from {LEGACY}; balance 3.00 (entry 2).\n"
    assert cli("balance", LEGACY).stdout == f"{LEGACY}: 3.00 USD\n"
    assert [e["amount_cents"] for e in json.loads(cli("ledger", LEGACY, "--json").stdout)] == [
        -200,
        500,
    ]
    again = cli("accounts", "create", LEGACY)
    assert (again.exit_code, again.stdout) == (
        0,
        f"Account {LEGACY} already exists (balance 3.00); nothing changed.\n",
    )
    token = cli("tokens", "create", LEGACY)
    assert token.exit_code == 0
    assert token.stdout.splitlines()[0].endswith(f" for {LEGACY}.")
