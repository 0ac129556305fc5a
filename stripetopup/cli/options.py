"""The options and arguments that several commands share, declared once as ``Annotated``.

A command writes ``json_output: JsonOutput = False`` rather than repeating the option's
flag and help, so ``--json`` (or ``--reason``, ``--since``...) reads and behaves the same
everywhere. An option only one command has is declared ``Annotated`` in that command.

Dates stay text until :func:`parse_date` reads them under :func:`~stripetopup.cli.output.guard`:
a bad one is then the core's one ``Error:`` line and exit 2, not Click's usage block.

May import typer, the CLI's output and ``stripetopup.dates`` (a leaf); nothing heavy, so
``stripetopup --help`` stays fast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, overload

import typer

from stripetopup.cli.output import guard

DATES = "ISO date/time (UTC) or 7d, 24h"

JsonOutput = Annotated[bool, typer.Option("--json", help="Write JSON only, to stdout.")]

Account = Annotated[str, typer.Argument(help="The account id.")]

Amount = Annotated[str, typer.Option("--amount", help="Dollars, e.g. 5 or 5.25.")]

# A manual credit or debit: the reason is written on the ledger entry.
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger; required).")]

# An operator's decision on a payment (assign, dismiss): the reason is kept in its history.
ResolutionReason = Annotated[
    str, typer.Option("--reason", help="Why (recorded with the payment; required).")
]

IdempotencyKey = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="Repeat-safe key: the same key and input is a no-op."),
]

Since = Annotated[str | None, typer.Option("--since", metavar="DATE", help=f"Since: {DATES}.")]

# reconcile's window must have a start: the same option, required.
WindowStart = Annotated[str, typer.Option("--since", metavar="DATE", help=f"Start: {DATES}.")]

Until = Annotated[
    str | None,
    typer.Option("--until", metavar="DATE", help=f"End (exclusive; default now): {DATES}."),
]

# The lists of the local records (payments, events): newest first, bounded.
Limit = Annotated[int, typer.Option("--limit", min=1, max=10000, help="How many, newest first.")]


@overload
def parse_date(text: str, param: str) -> datetime: ...
@overload
def parse_date(text: None, param: str) -> None: ...
@overload
def parse_date(text: str | None, param: str) -> datetime | None: ...
def parse_date(text: str | None, param: str) -> datetime | None:
    """``text`` as an aware UTC datetime (``None`` stays ``None``), or exit 2 with one line.

    ``is None``, not falsiness: an empty ``--since ''`` is a bad date to report, not a
    missing one.
    """
    if text is None:
        return None
    with guard():
        from stripetopup.dates import parse_when  # deferred: start-up cost

        return parse_when(text, param=param)
