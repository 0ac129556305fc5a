"""``stripetopup reconcile`` and ``stripetopup replay``: find and fix what the webhook missed.

Exit codes: 0 nothing remains to fix; 1 differences remain, a replay failed or Stripe
refused; 2 usage or configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput, Since, Until, WindowStart, parse_date
from stripetopup.cli.output import EXIT_FAILURE, EXIT_USAGE, console, emit_json, guard, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.events.types import EventOutcome
    from stripetopup.core.reconcile.types import Difference, ReconcileReport


def register(app: typer.Typer) -> None:
    app.command()(reconcile)
    app.command()(replay)


def reconcile(
    since: WindowStart,
    until: Until = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply missing credits and debits.")] = False,
    json_output: JsonOutput = False,
) -> None:
    """Compare Stripe's Checkout Sessions and auto-recharge charges in a window with the
    ledger (exit 1: differences)."""
    since_at, until_at = parse_date(since, "--since"), parse_date(until, "--until")
    items: list[Difference] = []
    on_item = items.append if json_output else print_difference
    with guard(), _progress(enabled=not json_output) as on_page:
        report = context.service().reconcile(
            since_at, until_at, fix=fix, on_item=on_item, on_page=on_page
        )
    if json_output:
        emit_json({"summary": report.summary_json(), "items": [d.to_json() for d in items]})
    else:
        print_summary(report)
    raise typer.Exit(code=0 if report.clean else EXIT_FAILURE)


def print_difference(diff: Difference) -> None:
    """One line per difference: kind, session (or recharge PaymentIntent), account, what
    differs, and the fix."""
    head = f"{diff.kind} {diff.subject} ({diff.account_id or 'no account'})"
    if diff.fixed:
        tail = f"fixed: {diff.action}"
    elif diff.action:
        tail = f"fix: {diff.fix} [{diff.action}]"
    else:
        tail = f"fix: {diff.fix}"
    typer.echo(f"{head}: {diff.detail}; {tail}")


def print_summary(report: ReconcileReport) -> None:
    # Here, not at the top: importing the core imports the database layer.
    from stripetopup.core.reconcile.types import KINDS

    rows: list[tuple[str, int]] = [
        ("sessions checked", report.sessions),
        ("recharge charges checked", report.payment_intents),
    ]
    rows += [(kind, report.by_kind[kind]) for kind in KINDS if report.by_kind.get(kind)]
    rows += [("fixed", report.fixed), ("remaining", report.remaining)]
    window = f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    columns = [Column("Check", keep=True), Column("Count", keep=True, numeric=True)]
    table(f"Reconcile {window}", columns, rows)
    if report.grant_problems:
        say(f"{report.grant_problems} credit grant invariant(s) broken: see ledger verify.")
    if report.clean:
        say(f"Nothing to fix{f' (fixed {report.fixed})' if report.fixed else ''}.")
    elif report.remaining:
        hint = "" if report.fix else "; run with --fix to apply what can be fixed"
        say(f"{report.remaining} difference(s) remain{hint}.")


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr while paging, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # slow import

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("Checking sessions: 0")
        yield lambda seen: bar.update(task, description=f"Checking sessions: {seen}")


def replay(
    event_id: Annotated[str | None, typer.Argument(help="The event to replay (evt_...).")] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Replay every stored failed event.")
    ] = False,
    since: Since = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; write nothing.")
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Fetch events from Stripe and apply them as the webhook would (exit 1: one failed).

    Give EVT_ID, or --failed for every stored failed event (with --since: only those
    received since then)."""
    if (event_id is None) == (not failed) or (since is not None and not failed):
        typer.echo("Error: give either EVT_ID or --failed [--since DATE]", err=True)
        raise typer.Exit(code=EXIT_USAGE)
    if event_id is not None:
        with guard():
            outcome = context.service().replay(event_id, dry_run=dry_run)
        if json_output:
            emit_json(outcome.to_json())
        else:
            typer.echo(describe(outcome))
        raise typer.Exit(code=EXIT_FAILURE if outcome.result == "failed" else 0)
    since_at = parse_date(since, "--since")
    on_outcome = None if json_output else (lambda o: typer.echo(describe(o)))
    with guard():
        batch = context.service().replay_failed(
            since=since_at, dry_run=dry_run, on_outcome=on_outcome
        )
    if json_output:
        emit_json(batch.to_json())
    else:
        typer.echo(f"Replayed {len(batch.outcomes)} failed event(s); {batch.failed} still failing.")
    raise typer.Exit(code=EXIT_FAILURE if batch.failed else 0)


def describe(outcome: EventOutcome) -> str:
    """``evt_... checkout.session.completed: credited (credited 500 to acct-1)``."""
    prefix = "dry run: would be " if outcome.dry_run else ""
    detail = f" ({outcome.detail})" if outcome.detail else ""
    return f"{outcome.event_id} {outcome.event_type}: {prefix}{outcome.result}{detail}"
