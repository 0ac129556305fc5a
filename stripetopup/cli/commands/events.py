"""``stripetopup events``: the local log of Stripe events, their outcome, error and attempts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput, Limit, Since, parse_date
from stripetopup.cli.output import emit_json, guard, run_with, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.events.types import EventRecord

events_app = typer.Typer(help="The local log of received Stripe events.", no_args_is_help=False)

Failed = Annotated[bool, typer.Option("--failed", help="Only events whose processing failed.")]
EventType = Annotated[str | None, typer.Option("--type", help="Only this event type.")]
Everything = Annotated[
    bool,
    typer.Option(
        "--all", help="Also doctor's self-test pings (evt_doctor_..., hidden by default)."
    ),
]


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
    failed: Failed = False,
    event_type: EventType = None,
    since: Since = None,
    limit: Limit = 200,
    everything: Everything = False,
    json_output: JsonOutput = False,
) -> None:
    """List received events, newest first."""
    if ctx.invoked_subcommand is None:  # `events` alone, or `events list`
        list_events(failed, event_type, since, limit, json_output, everything)


# `events list` is the group's own listing under a name: one function, one set of options.
events_app.command("list", help="List received events, newest first (same as `events`).")(events)


def list_events(
    failed: bool,
    event_type: str | None,
    since: str | None,
    limit: int,
    json_output: bool,
    everything: bool = False,
) -> None:
    since_at = parse_date(since, "--since")

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
    event_id: Annotated[str, typer.Argument(help="The event id (evt_...).")],
    payload: Annotated[
        bool, typer.Option("--payload", help="Also print the stored payload.")
    ] = False,
    json_output: JsonOutput = False,
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
