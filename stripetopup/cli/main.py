"""The ``stripetopup`` command: the Typer app and its global options.

``main`` builds the app with just the command module the run needs (see ``COMMANDS``), so
a quick command imports nothing of the others; ``app`` is the app with every command.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from stripetopup import __version__
from stripetopup.cli import context

# Each command module (stripetopup/cli/commands/) and the top-level commands its
# ``register`` adds, in the order ``--help`` lists them. ``main`` imports only the module
# of the command it runs (``stripetopup balance`` loads no other command's module); help,
# no command or an unknown one load them all. tests/test_quick_reads.py keeps this in step.
COMMANDS: dict[str, tuple[str, ...]] = {
    "serve": ("serve",),
    "money": ("checkout", "topup-link", "balance", "credit", "debit"),
    "ledger": ("ledger",),
    "grants": ("grants",),
    "cards": ("cards",),
    "autorecharge": ("autorecharge",),
    "payments": ("payments",),
    "accounts": ("accounts",),
    "tokens": ("tokens", "keys"),
    "db": ("db",),
    "emulator": ("emulator",),
    "reconcile": ("reconcile", "replay"),
    "events": ("events",),
    "doctor": ("doctor",),
    "outbox": ("outbox",),
    "hooks": ("hooks",),
}
MODULE_OF = {command: module for module, names in COMMANDS.items() for command in names}
HELP = "Sell prepaid credit through Stripe Checkout, with an exactly-once ledger."


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stripetopup {__version__}")
        raise typer.Exit()


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


def build(modules: Iterable[str] = COMMANDS) -> typer.Typer:
    """The Typer app with the commands of ``modules`` (all by default)."""
    built = typer.Typer(
        name="stripetopup",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
        # Plain Click help: rendering help through rich costs more than the rest of startup.
        rich_markup_mode=None,
    )
    built.callback()(root)
    for module in modules:
        importlib.import_module(f"stripetopup.cli.commands.{module}").register(built)
    return built


def modules_for(args: Sequence[str]) -> Iterable[str]:
    """The command modules a run with ``args`` needs: the one of its command, else all."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--env-file" and rest:  # the root's one option with a value
            rest.pop(0)
        elif option not in ("--version",) and not option.startswith("--env-file="):
            return COMMANDS  # --help, or an option Click will refuse with its usage
    module = MODULE_OF.get(rest[0]) if rest else None
    return COMMANDS if module is None else (module,)


app: typer.Typer  # every command: built on first use (``from stripetopup.cli.main import app``)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        globals()["app"] = built = build()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    build(modules_for(sys.argv[1:]))()
