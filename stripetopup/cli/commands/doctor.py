"""``stripetopup doctor``: check the whole setup, one line per check with a fix.

Exit codes: 0 every check is ok or warn; 1 at least one check failed (a bad or missing
setting is a failed check: doctor still checks everything it can); 2 a bad ``--url``.
``--json`` writes ``{"checks": [...], "ok": bool}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput
from stripetopup.cli.output import EXIT_FAILURE, EXIT_OK, emit_json, guard

if TYPE_CHECKING:
    from stripetopup.core.doctor.types import DoctorReport

WebhookUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The public webhook URL Stripe posts to "
        "(default: http://127.0.0.1:8000/billing/webhook).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(url: WebhookUrl = None, json_output: JsonOutput = False) -> None:
    """Check settings, Stripe key permissions and endpoints, the database, the webhook path
    and recent failures; exit 1 if any check fails."""
    from stripetopup.core import TopUpService  # here: the core imports the database layer

    with guard():
        settings = context.settings(keep_going=True)
        service = TopUpService.from_settings(settings, check_schema=False)
    try:
        with guard():
            report = service.doctor(url=url)
    finally:
        service.close()
    if json_output:
        emit_json(report.to_json())
    else:
        print_report(report)
    raise typer.Exit(code=EXIT_OK if report.ok else EXIT_FAILURE)


def lines(report: DoctorReport) -> list[str]:
    """The report for people: ``status  name  message`` and an indented fix."""
    width = max(len(check.name) for check in report.checks)
    out = []
    for check in report.checks:
        out.append(f"{check.status:<4}  {check.name:<{width}}  {check.message}")
        if check.fix and check.status != "ok":
            out.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("ok", "warn", "fail"))
    out.append(f"doctor: {counts}")
    return out


def print_report(report: DoctorReport) -> None:
    for line in lines(report):
        typer.echo(line)
