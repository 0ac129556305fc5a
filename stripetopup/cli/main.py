"""The ``stripetopup`` command: the Typer app and its global options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from stripetopup import __version__
from stripetopup.cli import context
from stripetopup.cli.commands import accounts as accounts_cmd
from stripetopup.cli.commands import autorecharge as autorecharge_cmd
from stripetopup.cli.commands import cards as cards_cmd
from stripetopup.cli.commands import db as db_cmd
from stripetopup.cli.commands import doctor as doctor_cmd
from stripetopup.cli.commands import emulator as emulator_cmd
from stripetopup.cli.commands import events as events_cmd
from stripetopup.cli.commands import grants as grants_cmd
from stripetopup.cli.commands import hooks as hooks_cmd
from stripetopup.cli.commands import ledger as ledger_cmd
from stripetopup.cli.commands import money as money_cmd
from stripetopup.cli.commands import outbox as outbox_cmd
from stripetopup.cli.commands import payments as payments_cmd
from stripetopup.cli.commands import reconcile as reconcile_cmd
from stripetopup.cli.commands import serve as serve_cmd
from stripetopup.cli.commands import tokens as tokens_cmd

app = typer.Typer(
    name="stripetopup",
    help="Sell prepaid credit through Stripe Checkout, with an exactly-once ledger.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    # Plain Click help: rendering help through rich costs more than the rest of startup.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stripetopup {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            envvar="STRIPETOPUP_ENV_FILE",
            help="Read settings from this file instead of ./.env.",
            dir_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Sell prepaid credit through Stripe Checkout, with an exactly-once ledger."""
    ctx.call_on_close(context.close_all)
    if env_file is not None:
        if not env_file.exists():
            typer.echo(f"Error: --env-file {env_file} does not exist", err=True)
            raise typer.Exit(code=2)
        # Settings are read by each command; the env var carries the choice down to them
        # (and to uvicorn workers, which build their own settings).
        os.environ["STRIPETOPUP_ENV_FILE"] = str(env_file)


serve_cmd.register(app)
money_cmd.register(app)
ledger_cmd.register(app)
grants_cmd.register(app)
cards_cmd.register(app)
autorecharge_cmd.register(app)
payments_cmd.register(app)
accounts_cmd.register(app)
tokens_cmd.register(app)
db_cmd.register(app)
emulator_cmd.register(app)
reconcile_cmd.register(app)
events_cmd.register(app)
doctor_cmd.register(app)
outbox_cmd.register(app)
hooks_cmd.register(app)


def main() -> None:
    app()
