"""Commands that read or move an account's money: checkout, balance, credit, debit.

(``ledger`` lives in :mod:`stripetopup.cli.ledger_cmd`.)
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from stripetopup.cli import context
from stripetopup.cli.output import EXIT_USAGE, guard, run_with, say

if TYPE_CHECKING:
    from stripetopup.core.results import Balance, CheckoutLink, Posted

JSON_OPTION = typer.Option(False, "--json", help="Write JSON only, to stdout.")


def register(app: typer.Typer) -> None:
    app.command()(checkout)
    app.command()(balance)
    app.command()(credit)
    app.command()(debit)


def _dollars(text: str) -> int:
    from stripetopup.money import parse_dollars

    with guard():
        return parse_dollars(text, param="--amount")


def checkout(
    amount: str = typer.Option(..., "--amount", help="Dollars, e.g. 5 or 5.25."),
    user: str | None = typer.Option(None, "--user", help="The account to top up."),
    origin: str | None = typer.Option(
        None, "--origin", help="Frontend origin for the return URLs (default: the first allowed)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Create a Checkout Session and print its URL."""
    cents = _dollars(amount)
    if user is None:
        if not sys.stdin.isatty():
            typer.echo("Error: --user is required when not running on a terminal", err=True)
            raise typer.Exit(code=EXIT_USAGE)
        user = typer.prompt("Account to top up", err=True)  # stdout stays clean for --json

    def human(link: CheckoutLink) -> None:
        say(f"Checkout for {link.account_id}: {_money(link.amount_cents, link.currency)}")
        typer.echo(link.url)

    account = user
    run_with(
        json_output, lambda: context.service().create_checkout(account, cents, origin=origin), human
    )


def balance(
    account: str = typer.Argument(..., help="The account id."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Show an account's balance (negative balances are shown in red)."""

    def human(result: Balance) -> None:
        shown = _money(result.balance_cents, result.currency)
        color = "red" if result.balance_cents < 0 else "green"
        say(f"{result.account_id}: [{color}]{shown}[/{color}]")
        if result.held_cents:
            say(
                f"held: {_money(result.held_cents, result.currency)}, "
                f"available: {_money(result.available_cents, result.currency)}"
            )

    run_with(json_output, lambda: context.service().balance(account), human)


def _adjust(
    direction: int, account: str, amount: str, reason: str, key: str | None, json_output: bool
) -> None:
    cents = _dollars(amount)

    def produce() -> Posted:
        service = context.service()
        move = service.credit if direction > 0 else service.debit
        return move(account, cents, reason=reason, idempotency_key=key)

    def human(posted: Posted) -> None:
        verb = "Credited" if direction > 0 else "Debited"
        entry = posted.entry
        if not posted.created:
            say(f"Already applied (idempotency key {key}): no change. Entry {entry.id}.")
            return
        say(
            f"{verb} {_money(abs(entry.amount_cents), entry.currency)} "
            f"{'to' if direction > 0 else 'from'} {account}; "
            f"balance {_signed(entry.balance_after_cents)} (entry {entry.id})."
        )

    run_with(json_output, produce, human)


REASON_OPTION = typer.Option(..., "--reason", help="Why (kept in the ledger; required).")
KEY_OPTION = typer.Option(
    None, "--idempotency-key", help="Repeat-safe key: the same key and input is a no-op."
)


def credit(
    account: str = typer.Argument(..., help="The account id."),
    amount: str = typer.Option(..., "--amount", help="Dollars, e.g. 5 or 5.25."),
    reason: str = REASON_OPTION,
    idempotency_key: str | None = KEY_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Credit an account by hand."""
    _adjust(1, account, amount, reason, idempotency_key, json_output)


def debit(
    account: str = typer.Argument(..., help="The account id."),
    amount: str = typer.Option(..., "--amount", help="Dollars, e.g. 5 or 5.25."),
    reason: str = REASON_OPTION,
    idempotency_key: str | None = KEY_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Debit an account by hand (the balance may go below zero)."""
    _adjust(-1, account, amount, reason, idempotency_key, json_output)


def _money(cents: int, currency: str) -> str:
    from stripetopup.money import format_cents

    return f"{format_cents(cents)} {currency.upper()}"


def _signed(cents: int) -> str:
    from stripetopup.money import format_cents

    return format_cents(cents)
