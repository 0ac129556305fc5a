"""``stripetopup accounts``: open and list accounts, and set their low-balance threshold.

``accounts create`` is the one way to open an account from the command line (``tokens
create --open`` calls it too); opening one that exists says so and exits 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import Account, JsonOutput
from stripetopup.cli.output import guard, run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.ledger.types import Balance, OpenedAccount

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


Below = Annotated[
    str | None,
    typer.Option(
        "--below",
        metavar="DOLLARS",
        help="Send balance.low when the available balance falls below this (e.g. 5 or 0).",
    ),
]
Default = Annotated[
    bool, typer.Option("--default", help="Use STRIPETOPUP_LOW_BALANCE_THRESHOLD_CENTS again.")
]


@accounts_app.command("threshold")
def threshold(
    account: Account, below: Below = None, default: Default = False, json_output: JsonOutput = False
) -> None:
    """Set an account's low-balance threshold (--below DOLLARS or --default); with
    neither, show it. Setting it re-evaluates at once: balance.low if already below."""
    if below is not None and default:
        typer.echo("Error: give --below or --default, not both", err=True)
        raise typer.Exit(code=2)
    cents = None if below is None else _threshold_cents(below)

    def produce() -> Balance:
        service = context.service()
        if below is None and not default:
            return service.balance(account)
        return service.set_low_balance_threshold(account, cents)

    run_with(json_output, produce, _threshold_line)


def _threshold_cents(text: str) -> int:
    from stripetopup.money import parse_dollars

    if text.strip() in {"0", "0.0", "0.00"}:
        return 0
    with guard():
        return parse_dollars(text, param="--below")


def _threshold_line(balance: Balance) -> None:
    from stripetopup.money import format_money

    available = format_money(balance.available_cents, balance.currency)
    if balance.low_balance_threshold_cents is None:
        say(f"{balance.account_id}: no low-balance threshold (available {available}).")
        return
    limit = format_money(balance.low_balance_threshold_cents, balance.currency)
    state = "below it" if balance.below_threshold else "at or above it"
    say(f"{balance.account_id}: low-balance threshold {limit}; available {available}, {state}.")


@accounts_app.command("list")
def list_(json_output: JsonOutput = False) -> None:
    """List accounts and their balances."""

    def read() -> list[Balance]:
        # The ledger room's listing on the DBAPI driver, as for balance (no sqlalchemy); a
        # bare context's engine only where the driver path hands over.
        from stripetopup.core.ledger import balances

        current = context.settings()
        return balances.listed_on_driver(current, lambda: context.reads(current))

    run_with(
        json_output,
        read,
        lambda rows: table(
            "Accounts",
            [Column("Account", keep=True), Column("Balance", keep=True, numeric=True)],
            [(b.account_id, b.to_json()["balance"]) for b in rows],
        ),
    )
