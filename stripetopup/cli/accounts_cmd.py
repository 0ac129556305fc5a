"""``stripetopup accounts``: create and list accounts."""

from __future__ import annotations

import typer

from stripetopup.cli import context
from stripetopup.cli.output import run_with, say, table

accounts_app = typer.Typer(help="Create and list accounts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create")
def create(
    account: str = typer.Argument(..., help="The host application's account id."),
    json_output: bool = typer.Option(False, "--json", help="Write JSON only, to stdout."),
) -> None:
    """Create an account (a no-op if it exists)."""
    run_with(
        json_output,
        lambda: context.service().open_account(account),
        lambda b: say(f"Account {b.account_id} is open (balance {b.to_json()['balance']})."),
    )


@accounts_app.command("list")
def list_(
    json_output: bool = typer.Option(False, "--json", help="Write JSON only, to stdout."),
) -> None:
    """List accounts and their balances."""
    run_with(
        json_output,
        lambda: context.service().accounts(),
        lambda rows: table(
            "Accounts",
            ["Account", "Balance"],
            [(b.account_id, b.to_json()["balance"]) for b in rows],
        ),
    )
