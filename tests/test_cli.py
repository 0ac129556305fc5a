"""The CLI door: exit codes, the exact lines people see, --json, and the real entry point."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.dates import parse_when
from stripetopup.emulator import EmulatorControl
from stripetopup.errors import InvalidDate
from tests.conftest import ACCOUNT, settings_env
from tests.support.servers import REPO, cli_env, run_cli


@pytest.fixture
def cli(settings: Settings, service: TopUpService):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = settings_env(settings)

    def invoke(*args: str, input_text: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env, input=input_text)

    return invoke


def test_credit_prints_the_new_balance_and_a_repeat_says_it_is_a_no_op(cli) -> None:  # type: ignore[no-untyped-def]
    first = cli(
        "credit", ACCOUNT, "--amount", "5.25", "--reason", "welcome", "--idempotency-key", "w1"
    )
    assert first.exit_code == 0
    assert first.stdout == f"Credited 5.25 USD to {ACCOUNT}; balance 5.25 (entry 1).\n"
    again = cli(
        "credit", ACCOUNT, "--amount", "5.25", "--reason", "welcome", "--idempotency-key", "w1"
    )
    assert again.exit_code == 0
    assert again.stdout == "Already applied (idempotency key w1): no change. Entry 1.\n"
    other = cli(
        "credit", ACCOUNT, "--amount", "6", "--reason", "welcome", "--idempotency-key", "w1"
    )
    assert other.exit_code == 1
    assert other.stderr.startswith("Error: idempotency key already used for a different request")


def test_a_debit_may_go_negative_and_balance_shows_it(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("debit", ACCOUNT, "--amount", "2", "--reason", "chargeback").exit_code == 0
    shown = cli("balance", ACCOUNT)
    assert shown.stdout == f"{ACCOUNT}: -2.00 USD\n"
    data = json.loads(cli("balance", ACCOUNT, "--json").stdout)
    assert (data["balance_cents"], data["balance"]) == (-200, "-2.00")


@pytest.mark.parametrize("amount", ["5.001", "-5", "0", "nan", "inf", "1e3", "five", ""])
def test_a_bad_amount_is_a_usage_error_and_changes_nothing(
    cli, service: TopUpService, amount: str
) -> None:  # type: ignore[no-untyped-def]
    result = cli("credit", ACCOUNT, "--amount", amount, "--reason", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --amount")
    assert service.balance(ACCOUNT).balance_cents == 0


def test_a_manual_credit_needs_a_reason(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("credit", ACCOUNT, "--amount", "1").exit_code == 2
    blank = cli("credit", ACCOUNT, "--amount", "1", "--reason", "  ")
    assert blank.exit_code == 2
    assert blank.stderr == "Error: a reason is required for a manual credit or debit\n"


def test_an_unknown_account_is_an_expected_failure(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("balance", "acct-nobody")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown account: acct-nobody; "
        "open it with: stripetopup accounts create acct-nobody\n"
    )
    assert result.stdout == ""


def test_json_output_is_only_json(cli) -> None:  # type: ignore[no-untyped-def]
    cli("credit", ACCOUNT, "--amount", "1", "--reason", "x")
    for args in (("balance", ACCOUNT), ("ledger", ACCOUNT), ("payments",), ("tokens", "list")):
        result = cli(*args, "--json")
        assert result.exit_code == 0, args
        json.loads(result.stdout)
    [entry] = json.loads(cli("ledger", ACCOUNT, "--json").stdout)
    assert (entry["amount_cents"], entry["amount"], entry["kind"]) == (100, "1.00", "manual_credit")


def test_checkout_prints_the_url_and_json_has_the_amount(cli, control: EmulatorControl) -> None:  # type: ignore[no-untyped-def]
    human = cli("checkout", "--amount", "5", "--user", ACCOUNT)
    assert human.exit_code == 0, human.stderr
    first_line, url_line, _ = human.stdout.split("\n")
    assert first_line == f"Checkout for {ACCOUNT}: 5.00 USD"
    assert "/c/pay/cs_test_" in url_line
    data = json.loads(cli("checkout", "--amount", "5.25", "--user", ACCOUNT, "--json").stdout)
    assert (data["amount_cents"], data["amount"]) == (525, "5.25")


def test_checkout_without_user_and_no_terminal_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("checkout", "--amount", "5")
    assert result.exit_code == 2
    assert result.stderr == "Error: --user is required when not running on a terminal\n"


def test_checkout_below_the_minimum_is_refused_before_stripe(cli, control: EmulatorControl) -> None:  # type: ignore[no-untyped-def]
    result = cli("checkout", "--amount", "0.49", "--user", ACCOUNT)
    assert result.exit_code == 2
    assert result.stderr == "Error: amount must be at least 0.50 (got 0.49)\n"


def test_tokens_are_shown_once_listed_without_secrets_and_revocable(cli) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(cli("tokens", "create", ACCOUNT, "--json").stdout)
    assert created["secret"].startswith("stu_")
    listed = cli("tokens", "list")
    assert created["id"] in listed.stdout
    assert created["secret"] not in listed.stdout
    revoked = cli("tokens", "revoke", created["id"])
    assert revoked.stdout == f"Revoked user token {created['id']} ({ACCOUNT}).\n"
    assert cli("tokens", "revoke", "stu_nothere").exit_code == 1


def test_a_bad_setting_is_a_configuration_error_that_hides_the_value(settings: Settings) -> None:
    env = {**settings_env(settings), "STRIPE_SECRET_KEY": "pk_live_oops_this_is_secret"}
    result = CliRunner().invoke(app, ["checkout", "--amount", "5", "--user", ACCOUNT], env=env)
    assert result.exit_code == 2
    assert (
        "STRIPE_SECRET_KEY: must be an sk_test_, sk_live_, rk_test_ or rk_live_ key"
        in result.stderr
    )
    assert "oops_this_is_secret" not in result.stderr + result.stdout


def test_a_malformed_date_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("payments", "--since", "last tuesday")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --since: 'last tuesday' is not a date")
    future = cli("payments", "--since", "2999-01-01")
    assert future.exit_code == 2


def test_relative_and_future_dates_are_judged_against_the_given_now() -> None:
    now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now=now) == now - timedelta(days=7)
    assert parse_when("24h", now=now) == now - timedelta(hours=24)
    assert parse_when("2030-01-10T12:00:01Z", now=now) == now + timedelta(seconds=1)
    with pytest.raises(InvalidDate, match="is in the future"):
        parse_when("2030-01-10T12:00:01.000001Z", now=now)


def test_the_real_entry_point_runs_and_reports_its_version(
    settings: Settings, service: TopUpService
) -> None:
    env = cli_env(settings_env(settings))
    version = run_cli(["--version"], env)
    assert version.returncode == 0
    assert version.stdout.startswith("stripetopup ")
    credited = run_cli(["credit", ACCOUNT, "--amount", "3", "--reason", "smoke", "--json"], env)
    assert credited.returncode == 0, credited.stderr
    assert json.loads(credited.stdout)["balance_cents"] == 300
    assert run_cli(["db", "upgrade"], env).returncode == 0


def test_checkout_asks_for_the_account_on_a_terminal(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    primary, secondary = pty.openpty()
    env = cli_env(settings_env(settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", "checkout", "--amount", "5", "--json"],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
        cwd=REPO,
    )
    os.close(secondary)
    os.write(primary, f"{ACCOUNT}\n".encode())
    out, _ = process.communicate(timeout=60)
    prompt = os.read(primary, 1000).decode()
    os.close(primary)
    assert process.returncode == 0
    assert "Account to top up" in prompt
    assert json.loads(out)["account_id"] == ACCOUNT
