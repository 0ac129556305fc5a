"""``stripetopup accounts``: open and list accounts.

``accounts create`` is the one way to open an account from the command line (``tokens
create --open`` calls it too); opening one that exists says so and exits 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.ledger.types import OpenedAccount

accounts_app = typer.Typer(help="Create and list accounts.", no_args_is_help=True)


# The one place an id is chosen, so its help says the rule.
NewAccount = Annotated[
    str,
    typer.Argument(
        metavar="ACCOUNT",
        help="The host application's account id: 1 to 128 ASCII letters, digits and "
        ". _ : @ + -, starting with a letter or digit (a UUID, user_123, an email).",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create")
def create(account: NewAccount, json_output: JsonOutput = False) -> None:
    """Open an account. If it exists already, say so and change nothing (exit 0; --json
    gives "created": false)."""
    run_with(json_output, lambda: context.service().open_account(account), _opened)


def _opened(opened: OpenedAccount) -> None:
    balance = opened.balance.to_json()["balance"]
    if opened.created:
        say(f"Account {opened.account_id} is open (balance {balance}).")
    else:
        say(f"Account {opened.account_id} already exists (balance {balance}); nothing changed.")


@accounts_app.command("list")
def list_(json_output: JsonOutput = False) -> None:
    """List accounts and their balances."""
    run_with(
        json_output,
        lambda: context.service().accounts(),
        lambda rows: table(
            "Accounts",
            [Column("Account", keep=True), Column("Balance", keep=True, numeric=True)],
            [(b.account_id, b.to_json()["balance"]) for b in rows],
        ),
    )
