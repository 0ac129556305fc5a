"""``stripetopup grants``: an account's credit grants (``grants ACCOUNT``) and ``grants expire``.

Like ``ledger``, ``grants`` is a group whose default command is ``show``: ``grants acct-1``
runs ``grants show acct-1``; ``grants expire`` writes off every grant past its expiry
(for cron; ``serve`` runs the same job in the background), and an account literally named
``expire`` or ``show`` is listed with ``grants show expire``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from stripetopup.cli import context
from stripetopup.cli.options import Account, JsonOutput
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column
from stripetopup.money import format_cents

if TYPE_CHECKING:
    from datetime import datetime

    from typer._click.core import Context

    from stripetopup.core.grants.types import ExpiryRun, GrantList

DEFAULT_COMMAND = "show"


class GrantsGroup(TyperGroup):
    """A group that treats an unknown first word as the account of ``show``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


grants_app = typer.Typer(
    cls=GrantsGroup,
    help="An account's credit grants, in burn-down order: grants ACCOUNT [--all] [--json] "
    "(or grants show ACCOUNT). Write off expired grants: grants expire [--json].",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(grants_app, name="grants")


GRANT_COLUMNS = [
    Column("Grant", keep=True),
    Column("Category", priority=4),
    Column("Priority", numeric=True, priority=2),
    Column("Remaining", keep=True, numeric=True),
    Column("Amount", numeric=True, priority=5),
    Column("Expires", priority=6),
    Column("Status", priority=3),
    Column("Source", priority=1),
]


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@grants_app.command(DEFAULT_COMMAND)
def show(
    account: Account,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Also the spent and expired grants.")
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """List an account's credit grants, the one spent first first."""

    def human(listed: GrantList) -> None:
        rows = [
            (
                g.grant_id,
                g.category,
                g.priority,
                format_cents(g.remaining_cents),
                format_cents(g.amount_cents),
                _when(g.expires_at),
                g.status,
                g.source,
            )
            for g in listed.grants
        ]
        table(f"Credit grants of {account}", GRANT_COLUMNS, rows)

    run_with(
        json_output,
        lambda: context.service().grants(account, include_closed=include_closed),
        human,
    )


@grants_app.command("expire")
def expire(json_output: JsonOutput = False) -> None:
    """Write off the remainder of every grant past its expiry, exactly once (for cron)."""

    def human(run: ExpiryRun) -> None:
        grants = "grant" if run.expired == 1 else "grants"
        line = f"Expired {run.expired} {grants}, {format_cents(run.expired_cents)} written off."
        if run.waiting:
            line += f" {run.waiting} kept for open holds until they end."
        say(line)

    run_with(json_output, lambda: context.service().expire_grants(), human)
