"""``stripetopup outbox``: the outbound events stripetopup has written for the host
application (the transactional outbox), and their JSON Schemas.

``outbox list`` reads the same feed as ``GET /api/v1/events``: oldest first, after a
cursor (an event's ``msg_`` id). Delivery to webhook endpoints is ``stripetopup hooks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.outbound.types import EventPage

outbox_app = typer.Typer(help="Outbound events for the host application.", no_args_is_help=True)

After = Annotated[
    str | None, typer.Option("--after", metavar="MSG_ID", help="Only events after this one.")
]
Types = Annotated[
    list[str] | None,
    typer.Option("--type", help="Only this type or family (balance.*); repeat for more."),
]
OfAccount = Annotated[str | None, typer.Option("--account", help="Only events about this account.")]
PageSize = Annotated[int, typer.Option("--limit", min=1, max=100, help="How many, oldest first.")]
SchemaDir = Annotated[Path, typer.Argument(help="Where to write one JSON Schema per type.")]
Check = Annotated[
    bool, typer.Option("--check", help="Write nothing; exit 1 if a file differs or is missing.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


# The cents each type is about: an entry's or hold's amount, the available balance, a payment.
_AMOUNT_KEYS = ("amount_cents", "available_cents", "amount_total_cents")
EVENT_COLUMNS = [
    Column("Id", keep=True),
    Column("Type", keep=True),
    Column("Account", priority=3),
    Column("Created", priority=2),
    Column("Amount", numeric=True, priority=1),
]


@outbox_app.command("list")
def list_(
    after: After = None,
    types: Types = None,
    account: OfAccount = None,
    limit: PageSize = 100,
    json_output: JsonOutput = False,
) -> None:
    """List outbound events oldest first; --after the last id shown reads on."""
    run_with(
        json_output,
        lambda: context.service().outbound_events(
            after=after, limit=limit, types=types or (), account_id=account
        ),
        _print_page,
    )


def _print_page(page: EventPage) -> None:
    rows = []
    for event in page.data:
        data = event.data.model_dump(mode="json")
        amount = data.get(
            "amount_cents", data.get("available_cents", data.get("amount_total_cents"))
        )
        rows.append((event.id, event.type, data.get("account_id") or "", event.created, amount))
    table("Outbound events", EVENT_COLUMNS, rows)
    if page.has_more:
        say(f"More events follow: stripetopup outbox list --after {page.next_after}")


@outbox_app.command("schemas")
def schemas(directory: SchemaDir, check: Check = False) -> None:
    """Write the JSON Schema of every event type into DIRECTORY (docs/events)."""
    from stripetopup.core.outbound.schemas import json_schemas

    files = json_schemas()
    if check:
        stale = sorted(
            name
            for name, text in files.items()
            if not (directory / name).is_file() or (directory / name).read_text() != text
        )
        if stale:
            typer.echo(f"Error: out of date in {directory}: {', '.join(stale)}", err=True)
            raise typer.Exit(code=1)
        say(f"{len(files)} schemas in {directory} are up to date.")
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    say(f"Wrote {len(files)} schemas to {directory}.")
