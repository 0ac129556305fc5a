"""The quick read commands: ``stripetopup balance`` runs without the ORM, the web stack or the
Stripe SDK, and answers exactly as ``TopUpService.balance`` does (both databases).

What the process imports is read from the real entry point's ``-X importtime`` report, not
timed: the speed itself is measured in ``bench/startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.models import SQLModel
from stripetopup.store import balances, entries
from tests.conftest import ACCOUNT, settings_env
from tests.support.servers import REPO, cli_env, run_cli

HEAVY = ("sqlmodel", "sqlalchemy.orm", "fastapi", "starlette", "stripe", "httpx", "uvicorn")
BROKE = "acct-broke"


def imported_by(
    args: list[str], settings: Settings
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m stripetopup ARGS``; its result and the modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stripetopup", *args],
        env=cli_env(settings_env(settings)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, names


def heavy_in(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


@pytest.fixture
def accounts(service: TopUpService) -> TopUpService:
    """One account with paid and expiring promotional credit and an open hold; one whose
    debit went past its credit (a deficit, a negative balance)."""
    service.open_account(ACCOUNT)
    service.credit(ACCOUNT, 1_000, reason="paid")
    expires = service.ctx.clock() + timedelta(days=3)
    service.credit(ACCOUNT, 250, reason="promo", category="promotional", expires_at=expires)
    service.place_hold(ACCOUNT, 300, idempotency_key="hold-1")
    service.open_account(BROKE)
    service.credit(BROKE, 100, reason="paid")
    service.debit(BROKE, 350, reason="over")
    return service


def test_balance_imports_neither_the_orm_nor_the_web_stack_nor_the_sdk(
    settings: Settings, accounts: TopUpService
) -> None:
    for args in (
        ["balance", ACCOUNT],
        ["balance", ACCOUNT, "--json"],
        ["balance", "acct-x"],
        ["ledger", ACCOUNT],
        ["ledger", ACCOUNT, "--limit", "2", "--json"],
    ):
        done, names = imported_by(args, settings)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        assert "sqlalchemy" in names  # the probe sees what ran
        assert heavy_in(names) == [], args


def test_balance_answers_as_the_service_does(settings: Settings, accounts: TopUpService) -> None:
    env = cli_env(settings_env(settings))
    for account in (ACCOUNT, BROKE):
        shown = run_cli(["balance", account, "--json"], env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == accounts.balance(account).to_json()
    rich = json.loads(run_cli(["balance", ACCOUNT, "--json"], env).stdout)
    assert (rich["paid_cents"], rich["promotional_cents"], rich["held_cents"]) == (1000, 250, 300)
    assert rich["next_expiry"]["amount_cents"] == 250
    assert json.loads(run_cli(["balance", BROKE, "--json"], env).stdout)["deficit_cents"] == 250


def test_ledger_answers_as_the_service_does(settings: Settings, accounts: TopUpService) -> None:
    env = cli_env(settings_env(settings))
    for account, limit in ((ACCOUNT, 50), (BROKE, 1)):
        shown = run_cli(["ledger", account, "--limit", str(limit), "--json"], env)
        assert shown.returncode == 0, shown.stderr
        expected = [entry.to_json() for entry in accounts.ledger(account, limit=limit)]
        assert json.loads(shown.stdout) == expected
        assert len(expected) == (2 if account == ACCOUNT else 1)
    older = accounts.ledger(BROKE, limit=1, before_id=accounts.ledger(BROKE)[0].id)
    assert [e.amount_cents for e in older] == [100]


def test_balance_prints_the_same_lines_and_exit_codes(
    settings: Settings, accounts: TopUpService
) -> None:
    env = cli_env(settings_env(settings))
    shown = run_cli(["balance", BROKE], env)
    assert (shown.returncode, shown.stdout) == (0, f"{BROKE}: -2.50 USD\n")
    missing = run_cli(["balance", "acct-nobody"], env)
    assert missing.returncode == 1
    assert missing.stderr == (
        "Error: unknown account: acct-nobody; open it with: "
        "stripetopup accounts create acct-nobody\n"
    )
    bad = run_cli(["balance", "no spaces allowed"], env)
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: ")


def test_a_bad_setting_is_refused_by_balance_as_by_every_command(
    settings: Settings, accounts: TopUpService
) -> None:
    env = cli_env(settings_env(settings)) | {"STRIPETOPUP_HOLD_TTL_SECONDS": "soon"}
    quick, full = run_cli(["balance", ACCOUNT], env), run_cli(["ledger", ACCOUNT], env)
    assert quick.returncode == full.returncode == 2
    assert quick.stderr == full.stderr
    assert "STRIPETOPUP_HOLD_TTL_SECONDS" in quick.stderr


def test_the_light_tables_name_the_models_columns_and_types() -> None:
    """store.balances names its tables without sqlmodel: the same names and types."""
    for light in (
        balances.ACCOUNTS,
        balances.HOLDS,
        balances.GRANTS,
        balances.DRAWS,
        balances.RESERVATIONS,
        entries.ENTRIES,
    ):
        table = SQLModel.metadata.tables[light.name]
        for column in light.columns:
            assert column.name in table.c, f"{light.name}.{column.name}"
            model_type = table.c[column.name].type
            # sqlmodel's AutoString is a decorated String: compare what it decorates.
            if type(model_type) is not type(column.type):
                model_type = getattr(model_type, "impl_instance", model_type)
            assert type(model_type) is type(column.type), f"{light.name}.{column.name}"


def test_every_default_rate_limit_parses() -> None:
    """The settings skip parsing a rate limit that is its default: each default must parse."""
    from limits import parse_many

    checked = Settings.__pydantic_decorators__.field_validators["_rate_limit_syntax"].info.fields
    assert len(checked) >= 4
    for name in checked:
        default = Settings.model_fields[name].default
        assert parse_many(default), name


def test_the_command_table_names_what_each_module_registers() -> None:
    """cli/main builds an app with just the module of the command run: the table must say,
    for every command module, exactly the commands its ``register`` adds."""
    from stripetopup.cli import main

    on_disk = {p.stem for p in (REPO / "stripetopup/cli/commands").glob("*.py")} - {"__init__"}
    assert set(main.COMMANDS) == on_disk
    for module, names in main.COMMANDS.items():
        built = main.build([module])
        added = [c.name or c.callback.__name__ for c in built.registered_commands]  # type: ignore[union-attr]
        added += [g.name for g in built.registered_groups if g.name]
        assert sorted(added) == sorted(names), module


def test_a_run_builds_only_its_commands_module() -> None:
    from stripetopup.cli.main import COMMANDS, modules_for

    assert modules_for(["balance", "acct-1", "--json"]) == ("money",)
    assert modules_for(["--env-file", "x.env", "ledger", "acct-1"]) == ("ledger",)
    assert modules_for(["--env-file=x.env", "keys", "list"]) == ("tokens",)
    for everything in ([], ["--help"], ["balanse"], ["--bogus", "balance"]):
        assert modules_for(everything) is COMMANDS
