"""Printing for the CLI: JSON to stdout, rich tables for people, errors on stderr.

:func:`guard` is the CLI's single error translation: a domain error prints
``Error: <message>`` on stderr and exits 2 for usage/configuration problems, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from stripetopup.cli.tables import Column, print_table
from stripetopup.errors import ConfigError, StripeTopupError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def exit_code_for(exc: StripeTopupError) -> int:
    return EXIT_USAGE if isinstance(exc, ConfigError | UsageError) else EXIT_FAILURE


@contextmanager
def guard() -> Iterator[None]:
    """Turn domain errors into ``Error: ...`` on stderr and the documented exit code."""
    try:
        yield
    except StripeTopupError as exc:
        from stripetopup.redact import redact  # deferred: start-up cost (only on an error)

        typer.echo(f"Error: {redact(exc.message)}", err=True)
        raise typer.Exit(code=exit_code_for(exc)) from None


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console  # slow to import: only printing commands need it

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _piped_width()
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def _piped_width() -> int:
    # Piped output has no terminal width to fit: do not squeeze ids into 80 columns,
    # unless COLUMNS says how wide the reader is (as on a terminal, rich honours it).
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 200


def table(title: str, columns: Sequence[str | Column], rows: Sequence[Sequence[Any]]) -> None:
    """A table that never cuts an id or an amount: see :mod:`stripetopup.cli.tables`."""

    specs = [c if isinstance(c, Column) else Column.named(c) for c in columns]
    print_table(console(), title, specs, rows)


def say(message: str) -> None:
    """A line for people on stdout (never used together with --json).

    Soft-wrapped: the terminal, not rich, breaks a long line, so an id in it stays whole
    when copied. Piped, a plain line is written without rich (see :func:`plain_line`).
    """
    line = plain_line(message)
    if line is None:
        console().print(message, soft_wrap=True)
    else:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# The styles a plain line may carry (rich knows each); rich drops them on a non-terminal.
_PLAIN_STYLES = frozenset({"red", "green", "yellow", "bold", "dim"})
_STYLE_TAG = re.compile(r"\[(/?)([a-z]+)\]")
# What rich would treat as an emoji code (``:name:``), or escape, or another tag.
_RICH_SPECIAL = re.compile(r":\S*?:|[\[\]\\]")


def plain_line(message: str) -> str | None:
    """``message`` as rich would print it to stdout when that is not a terminal (its style
    tags dropped), or None when only rich can say (a terminal, a forced one, or markup
    beyond balanced tags of :data:`_PLAIN_STYLES` on printable ASCII).

    Why: importing rich costs about as much as the rest of ``stripetopup balance``'s own
    work; a script piping a read command gets the same bytes without it.
    """
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ or sys.stdout.isatty():
        return None
    if not (message.isascii() and message.isprintable()):
        return None
    opened: list[str] = []
    for closing, style in _STYLE_TAG.findall(message):
        if style not in _PLAIN_STYLES or (closing and (not opened or opened.pop() != style)):
            return None
        if not closing:
            opened.append(style)
    text = _STYLE_TAG.sub("", message)
    return None if opened or _RICH_SPECIAL.search(text) else text


def run_with(json_output: bool, produce: Callable[[], Any], human: Callable[[Any], None]) -> None:
    """Compute under :func:`guard`, then print as JSON (answer aware) or for people."""
    with guard():
        result = produce()
    if json_output:
        emit_json(_jsonable(result))
    else:
        human(result)


def _jsonable(value: Any) -> Any:
    """``value`` as JSON data: a core result through its answer model (core.answers)."""
    # Here, not at the top: `stripetopup --help` must start without pydantic (by the time a
    # result is printed, the core has imported it anyway).
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value
