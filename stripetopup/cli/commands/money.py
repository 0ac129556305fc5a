"""Commands that read or move an account's money: checkout, topup-link, balance, credit,
debit.

(``ledger`` lives in :mod:`stripetopup.cli.commands.ledger`.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import Account, Amount, IdempotencyKey, JsonOutput, Reason
from stripetopup.cli.output import EXIT_USAGE, guard, run_with, say
from stripetopup.money import format_cents, format_money, parse_dollars

if TYPE_CHECKING:
    from stripetopup.core.checkout.types import CheckoutLink, TopUpLink
    from stripetopup.core.ledger.types import Balance, Posted


def register(app: typer.Typer) -> None:
    app.command()(checkout)
    app.command("topup-link")(topup_link)
    app.command()(balance)
    app.command()(credit)
    app.command()(debit)


def topup_link(
    account: Annotated[str, typer.Argument(help="The account the link tops up.")],
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl", help="How long the link opens the page: 60s to 60m (default: the setting)."
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Print a signed link to the hosted top-up page for ACCOUNT (send the user there)."""

    def human(link: TopUpLink) -> None:
        say(f"Top-up link for {link.account_id}, valid until {link.expires_at.isoformat()}")
        typer.echo(link.url)

    run_with(
        json_output, lambda: context.service().create_topup_link(account, _lifetime(ttl)), human
    )


def _lifetime(text: str | None) -> timedelta | None:
    from stripetopup.dates import parse_duration  # deferred: start-up cost

    return None if text is None else parse_duration(text, param="--ttl")


def _dollars(text: str) -> int:
    with guard():
        return parse_dollars(text, param="--amount")


def checkout(
    amount: Amount,
    user: Annotated[str | None, typer.Option("--user", help="The account to top up.")] = None,
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin", help="Frontend origin for the return URLs (default: the first allowed)."
        ),
    ] = None,
    save_card: Annotated[
        bool,
        typer.Option(
            "--save-card",
            help="The buyer consents to saving the card that pays, for auto-recharge "
            "(Checkout's setup_future_usage=off_session).",
        ),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Create a Checkout Session and print its URL."""
    cents = _dollars(amount)
    if user is None:
        if not sys.stdin.isatty():
            typer.echo("Error: --user is required when not running on a terminal", err=True)
            raise typer.Exit(code=EXIT_USAGE)
        user = typer.prompt("Account to top up", err=True)  # stdout stays clean for --json

    def human(link: CheckoutLink) -> None:
        say(f"Checkout for {link.account_id}: {format_money(link.amount_cents, link.currency)}")
        typer.echo(link.url)

    account = user

    def create() -> CheckoutLink:
        from stripetopup.core.recharge.types import ConsentDoor  # deferred: start-up cost

        door = ConsentDoor.CLI if save_card else None
        return context.service().create_checkout(account, cents, origin=origin, save_card=door)

    run_with(json_output, create, human)


def balance(account: Account, json_output: JsonOutput = False) -> None:
    """Show an account's balance (negative balances are shown in red)."""

    def human(result: Balance) -> None:
        shown = format_money(result.balance_cents, result.currency)
        color = "red" if result.balance_cents < 0 else "green"
        say(f"{result.account_id}: [{color}]{shown}[/{color}]")
        money = result.currency
        if result.promotional_cents:
            parts = [
                f"paid: {format_money(result.paid_cents, money)}",
                f"promotional: {format_money(result.promotional_cents, money)}",
            ]
            if result.deficit_cents:
                parts.append(f"deficit: {format_money(result.deficit_cents, money)}")
            say(", ".join(parts))
        if result.held_cents or result.available_cents != result.balance_cents:
            say(
                f"held: {format_money(result.held_cents, money)}, "
                f"available: {format_money(result.available_cents, money)}"
            )
        if result.next_expiry is not None:
            soon = result.next_expiry
            say(
                f"next expiry: {format_money(soon.amount_cents, money)} on "
                f"{soon.expires_at.strftime('%Y-%m-%d %H:%M UTC')}"
            )

    def read() -> Balance:
        # The core room's read on the DBAPI driver, not the service: the same answer as
        # TopUpService.balance, without importing sqlalchemy (see core/ledger/balances.py);
        # a bare context's engine only where the driver path hands over.
        from stripetopup.core.ledger import balances

        current = context.settings()
        return balances.read_on_driver(current, account, lambda: context.reads(current))

    run_with(json_output, read, human)


@dataclass(frozen=True)
class _Terms:
    """A manual credit's grant terms, as typed (``--promotional --priority --expires``)."""

    promotional: bool = False
    priority: int = 50
    expires: str | None = None


def _adjust(
    direction: int,
    account: str,
    amount: str,
    reason: str,
    key: str | None,
    json_output: bool,
    terms: _Terms | None = None,
) -> None:
    cents = _dollars(amount)

    def produce() -> Posted:
        service = context.service()
        if direction < 0 or terms is None:
            move = service.credit if direction > 0 else service.debit
            return move(account, cents, reason=reason, idempotency_key=key)
        return service.credit(
            account,
            cents,
            reason=reason,
            idempotency_key=key,
            category="promotional" if terms.promotional else "paid",
            priority=terms.priority,
            expires_at=service.grant_expiry(terms.expires),
        )

    def human(posted: Posted) -> None:
        verb = "Credited" if direction > 0 else "Debited"
        entry = posted.entry
        if not posted.created:
            say(f"Already applied (idempotency key {key}): no change. Entry {entry.id}.")
            return
        say(
            f"{verb} {format_money(abs(entry.amount_cents), entry.currency)} "
            f"{'to' if direction > 0 else 'from'} {account}; "
            f"balance {format_cents(entry.balance_after_cents)} (entry {entry.id})."
        )

    run_with(json_output, produce, human)


def credit(
    account: Account,
    amount: Amount,
    reason: Reason,
    idempotency_key: IdempotencyKey = None,
    promotional: Annotated[
        bool, typer.Option("--promotional", help="A promotional grant (default: paid).")
    ] = False,
    priority: Annotated[
        int,
        typer.Option("--priority", min=0, max=100, help="0-100; lower is spent first."),
    ] = 50,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", metavar="WHEN", help="When it expires: 30d, 12h or a date (default never)."
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Credit an account by hand, as a credit grant (paid, never expiring, unless told)."""
    terms = _Terms(promotional, priority, expires)
    _adjust(1, account, amount, reason, idempotency_key, json_output, terms)


def debit(
    account: Account,
    amount: Amount,
    reason: Reason,
    idempotency_key: IdempotencyKey = None,
    json_output: JsonOutput = False,
) -> None:
    """Debit an account by hand (the balance may go below zero)."""
    _adjust(-1, account, amount, reason, idempotency_key, json_output)
