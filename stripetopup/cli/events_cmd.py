"""``stripetopup events``: the local log of Stripe events, their outcome, error and attempts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from stripetopup.cli import context
from stripetopup.cli.output import emit_json, guard, run_with, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.results import EventRecord

events_app = typer.Typer(help="The local log of received Stripe events.", no_args_is_help=False)

FAILED_OPTION = typer.Option(False, "--failed", help="Only events whose processing failed.")
TYPE_OPTION = typer.Option(None, "--type", help="Only this event type.")
SINCE_OPTION = typer.Option(None, "--since", help="Received since: ISO date/time or 7d, 24h.")
LIMIT_OPTION = typer.Option(200, "--limit", min=1, max=10000, help="How many, newest first.")
JSON_OPTION = typer.Option(False, "--json", help="Write JSON only, to stdout.")
ALL_OPTION = typer.Option(
    False, "--all", help="Also doctor's self-test pings (evt_doctor_..., hidden by default)."
)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")


# The event id (what `replay` and `events show` need) is never left out.
EVENT_COLUMNS = [
    Column("Event", keep=True),
    Column("Type", priority=5),
    Column("Outcome", priority=6),
    Column("Attempts", numeric=True, priority=2),
    Column("Replays", numeric=True, priority=1),
    Column("Received", priority=3),
    Column("Error", wrap=True, priority=4),
]


@events_app.callback(invoke_without_command=True)
def events(
    ctx: typer.Context,
    failed: bool = FAILED_OPTION,
    event_type: str | None = TYPE_OPTION,
    since: str | None = SINCE_OPTION,
    limit: int = LIMIT_OPTION,
    everything: bool = ALL_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """List received events, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    list_events(failed, event_type, since, limit, json_output, everything)


@events_app.command("list")
def list_command(
    failed: bool = FAILED_OPTION,
    event_type: str | None = TYPE_OPTION,
    since: str | None = SINCE_OPTION,
    limit: int = LIMIT_OPTION,
    everything: bool = ALL_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """List received events, newest first (same as `events`)."""
    list_events(failed, event_type, since, limit, json_output, everything)


def list_events(
    failed: bool,
    event_type: str | None,
    since: str | None,
    limit: int,
    json_output: bool,
    everything: bool = False,
) -> None:
    from stripetopup.dates import parse_when

    with guard():
        since_at = parse_when(since) if since is not None else None

    def human(rows: list[EventRecord]) -> None:
        table(
            "Events",
            EVENT_COLUMNS,
            [
                (
                    e.event_id,
                    e.type,
                    e.outcome or "received",
                    e.attempts,
                    e.replays,
                    e.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.error,
                )
                for e in rows
            ],
        )

    run_with(
        json_output,
        lambda: context.service().events(
            failed_only=failed,
            event_type=event_type,
            since=since_at,
            limit=limit,
            include_doctor=everything,
        ),
        human,
    )


@events_app.command("show")
def show(
    event_id: str = typer.Argument(..., help="The event id (evt_...)."),
    payload: bool = typer.Option(False, "--payload", help="Also print the stored payload."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Show one event from the local log."""
    with guard():
        record = context.service().event(event_id)
    if json_output:
        emit_json(record.to_json(with_payload=payload))
        return
    processed = record.processed_at.isoformat() if record.processed_at else "not yet"
    lines = [
        f"event: {record.event_id}",
        f"type: {record.type}",
        f"outcome: {record.outcome or 'received'}",
        f"error: {record.error or '-'}",
        f"attempts: {record.attempts}",
        f"replays: {record.replays}",
        f"livemode: {'yes' if record.livemode else 'no'}",
        f"received: {record.received_at.isoformat()}",
        f"processed: {processed}",
    ]
    for line in lines:
        typer.echo(line)
    if payload:
        typer.echo(record.payload)
