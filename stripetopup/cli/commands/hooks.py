"""``stripetopup hooks``: the host application's webhook endpoints and their deliveries.

``add`` and ``rotate-secret`` print a signing secret once; nothing else ever shows one.
``deliver`` runs the delivery worker (``--once``: one pass, for cron). ``events``,
``attempts`` and ``replay`` show what became of each event and send it again; ``retry`` is
``replay``'s old name, kept as a hidden alias of the same implementation.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import DATES, JsonOutput, Limit, Since, parse_date
from stripetopup.cli.output import EXIT_USAGE, guard, run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from datetime import datetime

    from stripetopup.core.outbound.hook_types import (
        Delivery,
        DeliveryAttempt,
        DeliveryRun,
        Endpoint,
        EndpointSecret,
        EventDeliveries,
        RemovedEndpoint,
        Retried,
    )

hooks_app = typer.Typer(
    help="Webhook endpoints of the host application: signed outbound events.",
    no_args_is_help=True,
)

EndpointId = Annotated[str, typer.Argument(metavar="ID", help="The endpoint id (ep_...).")]
Url = Annotated[str, typer.Argument(metavar="URL", help="Where to POST events (https://...).")]
Events = Annotated[
    str,
    typer.Option(
        "--events",
        metavar="TYPES",
        help="Comma-separated event types or families: balance.*,payment.attention (default *).",
    ),
]
Description = Annotated[
    str | None, typer.Option("--description", help="What the endpoint is (one line).")
]
Grace = Annotated[
    str,
    typer.Option(
        "--grace", metavar="DURATION", help="How long the old secret keeps signing (0s-7d)."
    ),
]
Failed = Annotated[bool, typer.Option("--failed", help="Only failed and dead deliveries.")]
Once = Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")]


def register(app: typer.Typer) -> None:
    app.add_typer(hooks_app, name="hooks")


@hooks_app.command("add", help="Add an endpoint; prints its id and signing secret once.")
def add(
    url: Url, events: Events = "*", description: Description = None, json_output: JsonOutput = False
) -> None:
    patterns = [part for part in events.split(",") if part.strip()] or [""]
    run_with(
        json_output,
        lambda: context.service().add_hook(url, events=patterns, description=description),
        lambda r: _print_secret(r, f"Added endpoint {r.endpoint.id} for {r.endpoint.url}"),
    )


@hooks_app.command("list", help="List endpoints (never their secrets).")
def list_hooks(json_output: JsonOutput = False) -> None:
    def human(rows: list[Endpoint]) -> None:
        table(
            "Webhook endpoints",
            [
                Column("ID", keep=True),
                Column("URL", keep=True),
                Column("Events", priority=4),
                Column("Status", priority=5),
                Column("Failing since", priority=3),
                Column("Description", wrap=True, priority=1),
            ],
            [
                (
                    e.id,
                    e.url,
                    ",".join(e.events),
                    "enabled" if e.enabled else f"disabled: {e.disabled_reason}",
                    _when(e.failing_since),
                    e.description or "",
                )
                for e in rows
            ],
        )

    run_with(json_output, lambda: context.service().hooks(), human)


@hooks_app.command("disable", help="Stop sending to an endpoint (deliveries wait).")
def disable(endpoint_id: EndpointId, json_output: JsonOutput = False) -> None:
    run_with(
        json_output,
        lambda: context.service().disable_hook(endpoint_id),
        lambda e: say(f"Disabled endpoint {e.id}; its deliveries wait until it is enabled."),
    )


@hooks_app.command("enable", help="Send to an endpoint again.")
def enable(endpoint_id: EndpointId, json_output: JsonOutput = False) -> None:
    run_with(
        json_output,
        lambda: context.service().enable_hook(endpoint_id),
        lambda e: say(f"Enabled endpoint {e.id}."),
    )


@hooks_app.command("remove", help="Delete an endpoint and its deliveries.")
def remove(endpoint_id: EndpointId, json_output: JsonOutput = False) -> None:
    def human(result: RemovedEndpoint) -> None:
        say(
            f"Removed endpoint {result.endpoint.id} ({result.endpoint.url}) and "
            f"{result.deliveries_removed} delivery record(s)."
        )

    run_with(json_output, lambda: context.service().remove_hook(endpoint_id), human)


@hooks_app.command("rotate-secret", help="A new signing secret; printed once.")
def rotate_secret(
    endpoint_id: EndpointId, grace: Grace = "24h", json_output: JsonOutput = False
) -> None:
    def produce() -> EndpointSecret:
        from stripetopup.dates import parse_duration  # deferred: start-up cost

        length = parse_duration(grace, param="--grace")
        return context.service().rotate_hook_secret(endpoint_id, grace=length)

    def human(result: EndpointSecret) -> None:
        until = result.endpoint.previous_secret_expires_at
        both = f"; the old secret also signs until {_when(until)}" if until else ""
        _print_secret(result, f"Rotated the secret of {result.endpoint.id}{both}")

    run_with(json_output, produce, human)


DELIVERY_COLUMNS = [
    Column("Delivery", keep=True),
    Column("Endpoint", priority=3),
    Column("Event", keep=True),
    Column("Type", priority=4),
    Column("State", priority=6),
    Column("Attempts", numeric=True, priority=5),
    Column("Next attempt", priority=2),
    Column("Last error", wrap=True, priority=1),
]


@hooks_app.command("deliveries", help="Deliveries, newest first (of one endpoint with ID).")
def list_deliveries(
    endpoint_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    failed: Failed = False,
    event: Annotated[
        str | None, typer.Option("--event", metavar="MSG", help="Only this event's (msg_...).")
    ] = None,
    limit: Limit = 200,
    json_output: JsonOutput = False,
) -> None:
    def human(rows: list[Delivery]) -> None:
        table(
            "Webhook deliveries",
            DELIVERY_COLUMNS,
            [
                (
                    d.id,
                    d.endpoint_id,
                    d.event_id,
                    d.event_type,
                    d.state,
                    d.attempts,
                    _when(d.next_attempt_at),
                    d.last_error or "",
                )
                for d in rows
            ],
        )

    run_with(
        json_output,
        lambda: context.service().hook_deliveries(
            endpoint_id=endpoint_id, failed_only=failed, event_id=event, limit=limit
        ),
        human,
    )


EVENT_COLUMNS = [
    Column("Event", keep=True),
    Column("Type", priority=4),
    Column("Created", priority=3),
    Column("Deliveries", keep=True, wrap=True),
]


@hooks_app.command("events", help="Outbound events, newest first, with each endpoint's state.")
def list_events(
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Only events not delivered after an attempt, or dead."),
    ] = False,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ID", help="Only deliveries to ID.")
    ] = None,
    since: Since = None,
    limit: Limit = 200,
    json_output: JsonOutput = False,
) -> None:
    def produce() -> list[EventDeliveries]:
        since_at = parse_date(since, "--since")
        return context.service().hook_events(
            failed_only=failed, endpoint_id=endpoint, since=since_at, limit=limit
        )

    def human(rows: list[EventDeliveries]) -> None:
        table(
            "Outbound events",
            EVENT_COLUMNS,
            [(e.id, e.type, _when(e.created_at), _states(e.deliveries)) for e in rows],
        )

    run_with(json_output, produce, human)


def _states(rows: list[Delivery]) -> str:
    if not rows:
        return "(no endpoint)"
    return ", ".join(f"{d.endpoint_id}: {d.state} ({d.attempts})" for d in rows)


ATTEMPT_COLUMNS = [
    Column("Delivery", keep=True),
    Column("Endpoint", priority=3),
    Column("#", numeric=True, keep=True),
    Column("At", keep=True),
    Column("Status", numeric=True, priority=5),
    Column("ms", numeric=True, priority=4),
    Column("Error", wrap=True, priority=2),
]


@hooks_app.command("attempts", help="Every attempt of an event's deliveries (msg_...).")
def list_attempts(
    event_id: Annotated[str, typer.Argument(metavar="MSG", help="The event's id (msg_...).")],
    json_output: JsonOutput = False,
) -> None:
    def human(rows: list[DeliveryAttempt]) -> None:
        table(
            f"Attempts of {event_id}",
            ATTEMPT_COLUMNS,
            [
                (
                    a.delivery_id,
                    a.endpoint_id,
                    a.attempt,
                    _when(a.at),
                    "" if a.status_code is None else a.status_code,
                    a.duration_ms,
                    a.error or "",
                )
                for a in rows
            ],
        )

    run_with(json_output, lambda: context.service().hook_attempts(event_id), human)


REPLAY_HELP = "Send again: an event (msg_...), a delivery (dlv_...), or --failed ones."


@hooks_app.command("replay", help=REPLAY_HELP)
def replay(
    target: Annotated[
        str | None, typer.Argument(metavar="[MSG]", help="An event's msg_... or a dlv_...")
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every failed and dead delivery.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help=f"With --failed: of events since {DATES}."),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ID", help="Every failed delivery of ID.")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    _usage_unless(
        (target is not None) != (failed or endpoint is not None),
        "give an event id (msg_...) or --failed (one of them)",
    )
    _usage_unless(target is None or since is None, "--since goes with --failed, not an id")

    def produce() -> Retried:
        service = context.service()
        if target is not None:
            return service.retry_delivery(target)
        since_at = parse_date(since, "--since")
        return service.replay_failed_hooks(since=since_at, endpoint_id=endpoint)

    run_with(
        json_output, produce, lambda r: say(f"{r.retried} delivery(ies) will be sent again now.")
    )


@hooks_app.command("retry", help="The old name of replay (the same command).", hidden=True)
def retry(
    delivery_id: Annotated[
        str | None, typer.Argument(metavar="[DELIVERY]", help="dlv_... or an event's msg_...")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ID", help="Every failed delivery of ID.")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    _usage_unless(
        (delivery_id is None) != (endpoint is None),
        "give a DELIVERY id or --endpoint ID (one of them)",
    )
    replay(delivery_id, False, None, endpoint, json_output)


def _usage_unless(ok: bool, message: str) -> None:
    if not ok:
        typer.echo(f"Error: {message}", err=True)
        raise typer.Exit(code=EXIT_USAGE)


@hooks_app.command("deliver", help="Run the delivery worker (--once: one pass, for cron).")
def deliver(once: Once = False, json_output: JsonOutput = False) -> None:
    if once:
        run_with(json_output, lambda: context.service().deliver_hooks_once(), _print_run)
        return
    with guard():
        worker = context.service().hooks_worker()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: worker.request_stop())
    say("Delivering webhooks; Ctrl+C to stop.")
    worker.run()


def _print_run(run: DeliveryRun) -> None:
    disabled = f"; disabled {', '.join(run.disabled_endpoints)}" if run.disabled_endpoints else ""
    say(
        f"Queued {run.queued}, attempted {run.attempted}: delivered {run.delivered}, "
        f"failed {run.failed} (to retry), dead {run.dead}{disabled}."
    )


def _print_secret(result: EndpointSecret, headline: str) -> None:
    say(f"{headline}.")
    say("Store its signing secret now; it is shown only once:")
    typer.echo(result.secret)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""
