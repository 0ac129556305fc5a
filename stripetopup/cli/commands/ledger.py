"""``stripetopup ledger``: an account's entries (``ledger ACCOUNT``) and ``ledger verify``.

``ledger`` is a group whose default command is ``show``: ``ledger acct-1`` runs
``ledger show acct-1``, while ``ledger verify`` runs the check (an account literally named
``verify`` or ``show`` is listed with ``ledger show verify``). ``ledger --help`` lists
``show``'s options too, since ``ledger ACCOUNT`` is how most people call it. ``verify``
exits 1 when any balance differs from the sum of its entries or a credit grant invariant
is broken, 0 otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from stripetopup.cli import context
from stripetopup.cli.options import Account, JsonOutput
from stripetopup.cli.output import EXIT_FAILURE, emit_json, guard, run_with, table
from stripetopup.cli.tables import Column
from stripetopup.money import format_cents

if TYPE_CHECKING:
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter

    from stripetopup.core.ledger.types import Entry, LedgerVerification

DEFAULT_COMMAND = "show"


class LedgerGroup(TyperGroup):
    """A group that treats an unknown first word as the account of ``show``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The group's own options and commands, then those of ``ledger ACCOUNT``."""
        super().format_options(ctx, formatter)
        show_command = self.commands[DEFAULT_COMMAND]
        params = [p for p in show_command.get_params(ctx) if p.name != "help"]
        records = [param.get_help_record(ctx) for param in params]
        with formatter.section(f"Options of ledger ACCOUNT (same as ledger {DEFAULT_COMMAND})"):
            formatter.write_dl([record for record in records if record is not None])


ledger_app = typer.Typer(
    cls=LedgerGroup,
    help="An account's entries: ledger ACCOUNT [--limit N] [--json] (or ledger show ACCOUNT). "
    "Check every balance against its entries: ledger verify [--json] (exit 1 on a difference).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")


# Entry id and money are never left out; on a narrow terminal the actor goes first.
LEDGER_COLUMNS = [
    Column("ID", keep=True, numeric=True),
    Column("When", priority=5),
    Column("Kind", priority=3),
    Column("Amount", keep=True, numeric=True),
    Column("Balance after", keep=True, numeric=True),
    Column("Source", priority=4),
    Column("Actor", priority=1),
    Column("Reason", wrap=True, priority=2),
]


@ledger_app.command(DEFAULT_COMMAND)
def show(
    account: Account,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="How many entries, newest first.")
    ] = 50,
    json_output: JsonOutput = False,
) -> None:
    """List an account's ledger entries, newest first."""

    def human(entries: list[Entry]) -> None:
        table(
            f"Ledger for {account}",
            LEDGER_COLUMNS,
            [
                (
                    e.id,
                    e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.kind,
                    format_cents(e.amount_cents),
                    format_cents(e.balance_after_cents),
                    e.source,
                    e.actor,
                    e.reason,
                )
                for e in entries
            ],
        )

    def read() -> list[Entry]:
        # The ledger room's core-SQL read on a bare context, as for balance (no ORM).
        from stripetopup.core.ledger import entries

        return entries.read(context.reads(), account, limit=limit)

    run_with(json_output, read, human)


@ledger_app.command("verify")
def verify(json_output: JsonOutput = False) -> None:
    """Recompute every balance from its entries; exit 1 if any differs."""
    with guard():
        report: LedgerVerification = context.service().verify_ledger()
    if json_output:
        emit_json(report.to_json())
    elif report.ok:
        typer.echo(
            f"Ledger verified: {_accounts(report.accounts)}, every balance equals the sum of "
            "its entries and of its credit grants."
        )
    else:
        for problem in report.grant_problems:
            typer.echo(f"{problem.account_id}: grants: {problem.subject}: {problem.detail}")
        for d in report.differences:
            typer.echo(
                f"{d.account_id}: balance {format_cents(d.balance_cents)} but its entries sum to "
                f"{format_cents(d.entries_cents)} (difference {format_cents(d.difference_cents)})"
            )
        if report.differences or not report.grant_problems:
            differ = "differs" if len(report.differences) == 1 else "differ"
            typer.echo(f"{len(report.differences)} of {_accounts(report.accounts)} {differ}.")
        if report.grant_problems:
            typer.echo(f"{len(report.grant_problems)} credit grant invariant(s) broken.")
    if not report.ok:
        raise typer.Exit(code=EXIT_FAILURE)


def _accounts(count: int) -> str:
    return f"{count} account" + ("" if count == 1 else "s")
