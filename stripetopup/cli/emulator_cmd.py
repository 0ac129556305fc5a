"""``stripetopup emulator``: the offline Stripe emulator, standalone."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command()(emulator)


def emulator(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(12111, "--port", min=0, max=65535, help="Port to listen on."),
) -> None:
    """Run the offline Stripe emulator (test keys only; it is not Stripe)."""
    from stripetopup.cli.listen import claim
    from stripetopup.cli.output import guard
    from stripetopup.emulator.server import run

    with guard():  # a busy port is one line, exit 2, before the banner (as for serve)
        sock = claim(host, port, option="--port")
    run(sock=sock)
