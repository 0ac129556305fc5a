"""``stripetopup emulator``: the offline Stripe emulator, standalone."""

from __future__ import annotations

from typing import Annotated

import typer

from stripetopup.cli.output import guard


def register(app: typer.Typer) -> None:
    app.command()(emulator)


def emulator(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = 12111,
) -> None:
    """Run the offline Stripe emulator (test keys only; it is not Stripe)."""
    from stripetopup.cli.listen import claim  # here, like the server: start-up cost (socket)
    from stripetopup.emulator.server import run  # here: starlette and uvicorn are slow to import

    with guard():  # a busy port is one line, exit 2, before the banner (as for serve)
        sock = claim(host, port, option="--port")
    run(sock=sock)
