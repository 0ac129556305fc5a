"""The quick read commands: ``stripetopup balance``, ``ledger ACCOUNT`` and ``accounts list``
run without the ORM, the web stack or the Stripe SDK (and, piped, without rich; balance and
accounts list without sqlalchemy), and answer exactly as the service does (both
databases); the other read commands, still on the service, load neither the web stack, nor
the SDK, nor prometheus_client.

What the process imports is read from the real entry point's ``-X importtime`` report, not
timed: the speed itself is measured in ``bench/startup.py``.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest

from stripetopup.cli import output
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.models import SQLModel
from stripetopup.store import balances, entries
from tests.conftest import ACCOUNT, settings_env
from tests.support.servers import REPO, cli_env, imported_by_cli, run_cli

HEAVY = ("sqlmodel", "sqlalchemy.orm", "fastapi", "starlette", "stripe", "httpx", "uvicorn")
# What no read command needs, even those that still read through the service (the ORM).
SERVING = ("fastapi", "starlette", "stripe", "httpx", "uvicorn", "prometheus_client")
BROKE = "acct-broke"


def imported_by(
    args: list[str], settings: Settings
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    return imported_by_cli(args, cli_env(settings_env(settings)))


def heavy_in(names: set[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in heavy))


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
        ["accounts", "list"],
        ["accounts", "list", "--json"],
    ):
        done, names = imported_by(args, settings)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        if args[0] == "ledger":
            assert "sqlalchemy" in names  # the probe sees what ran
        else:  # balance and accounts list read on the driver (tests/test_driver_reads.py)
            assert "stripetopup.store.driver_balances" in names
            assert heavy_in(names, ("sqlalchemy",)) == [], args
        assert heavy_in(names) == [], args


def test_a_piped_balance_prints_without_rich(settings: Settings, accounts: TopUpService) -> None:
    for account in (ACCOUNT, BROKE, "acct-nobody"):
        done, names = imported_by(["balance", account], settings)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        assert heavy_in(names, ("rich",)) == [], account
    done, names = imported_by(["ledger", ACCOUNT], settings)  # a table: rich draws it
    assert done.returncode == 0
    assert "rich.table" in names


def test_the_reads_on_the_service_load_no_web_stack_sdk_or_metrics(
    settings: Settings, accounts: TopUpService
) -> None:
    for args in (
        ["ledger", "verify"],
        ["ledger", "verify", "--json"],
        ["payments"],
        ["payments", "list", "--json"],
        ["events"],
        ["events", "list", "--json"],
        ["grants", ACCOUNT],
        ["grants", "show", ACCOUNT, "--json"],
        ["cards", ACCOUNT],
        ["cards", "show", ACCOUNT, "--json"],
        ["autorecharge", "show", ACCOUNT],
        ["autorecharge", "show", ACCOUNT, "--json"],
    ):
        done, names = imported_by(args, settings)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        assert "sqlmodel" in names  # these still read through the service's ORM
        assert heavy_in(names, SERVING) == [], args


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


def test_accounts_list_answers_as_the_service_does(
    settings: Settings, accounts: TopUpService
) -> None:
    env = cli_env(settings_env(settings))
    shown = run_cli(["accounts", "list", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    expected = [balance.to_json() for balance in accounts.accounts()]
    assert json.loads(shown.stdout) == expected
    assert [(b["account_id"], b["balance_cents"]) for b in expected] == [
        (ACCOUNT, 1250),
        (BROKE, -250),
    ]
    table = run_cli(["accounts", "list"], env)
    assert table.returncode == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines() if "acct-" in line]
    assert rows == [["│", ACCOUNT, "│", "12.50", "│"], ["│", BROKE, "│", "-2.50", "│"]]


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


SAID = [
    f"{ACCOUNT}: [green]12.50 USD[/green]",
    f"{BROKE}: [red]-2.50 USD[/red]",
    "paid: 10.00 USD, promotional: 2.50 USD, deficit: 0.50 USD",
    "next expiry: 2.50 USD on 2026-12-05 12:00 UTC",
    "[bold]a[/bold] [dim]b[/dim] [yellow][red]c[/red][/yellow]",
    "Account user@example.com+1 is open (balance 0.00).",
    "  spaced   out  ",
    "",
    "x" * 500,
    # Only rich can say what these print: an emoji code, a time, other markup, a closing
    # tag out of order, an unknown style, an escape, a tab, non-ASCII.
    "ok :thumbs_up: done",
    "at 12:00:00",
    "[link=https://example.com]here[/link]",
    "[red]x[/green]",
    "[blink]x[/blink]",
    "\\[red] literal",
    "a\tb",
    "café",
]


@pytest.mark.parametrize("message", SAID)
def test_a_plain_line_is_what_rich_prints_when_piped(
    message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """say skips rich on a non-terminal only where its bytes are rich's; otherwise rich."""
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    try:
        output.console().print(message, soft_wrap=True)
    except Exception:  # markup rich refuses: the plain path must not accept it either
        capsys.readouterr()
        assert output.plain_line(message) is None
        return
    by_rich = capsys.readouterr().out
    plain = output.plain_line(message)
    output.say(message)
    assert capsys.readouterr().out == by_rich
    if plain is not None:
        assert plain + "\n" == by_rich
    assert (plain is None) == (SAID.index(message) >= SAID.index("ok :thumbs_up: done"))
    monkeypatch.setenv("FORCE_COLOR", "1")  # colour forced: rich's, always
    assert output.plain_line(message) is None


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
