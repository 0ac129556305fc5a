"""``stripetopup serve``: the web app under uvicorn, optionally beside the emulator.

The ports are claimed first (:mod:`stripetopup.cli.listen`), so a busy one is one line and
exit 2 before any banner, with one worker or many. SIGHUP, SIGINT and SIGTERM all stop the
server, its workers included (:mod:`stripetopup.cli.workers`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stripetopup.cli import context
from stripetopup.cli.output import guard

if TYPE_CHECKING:
    import socket

    import uvicorn

    from stripetopup.config import Settings
    from stripetopup.core import TopUpService


def register(app: typer.Typer) -> None:
    app.command()(serve)


Host = Annotated[str, typer.Option("--host", envvar="STRIPETOPUP_HOST", help="Interface.")]
Port = Annotated[
    int,
    typer.Option(
        "--port", envvar="STRIPETOPUP_PORT", min=0, max=65535, help="Port (0: any free one)."
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        "--workers", envvar="STRIPETOPUP_WORKERS", min=1, max=64, help="Worker processes."
    ),
]
Emulator = Annotated[
    bool, typer.Option("--emulator", help="Offline demo: run the Stripe emulator beside the app.")
]
EmulatorPort = Annotated[
    int,
    typer.Option(
        "--emulator-port", min=0, max=65535, help="Port for --emulator (0: any free one)."
    ),
]


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    emulator: Emulator = False,
    emulator_port: EmulatorPort = 12111,
) -> None:
    """Serve the checkout, webhook, balance and spend endpoints."""
    # Deferred, start-up cost: every other command (and --help) loads this module too.
    from stripetopup import metrics_dir
    from stripetopup.cli.demo import Demo
    from stripetopup.cli.listen import bound_port, claim

    with guard():  # first: before prometheus_client is imported; the workers inherit it
        metrics_dir.prepare()
    demo = None
    with guard():
        # Ports first: a busy one is reported before any banner, and before the demo
        # rewrites the env file of another demo that may be running in this directory.
        app_socket = claim(host, port, option="--port")
        if emulator:
            emulator_socket = claim("127.0.0.1", emulator_port, option="--emulator-port")
            demo = Demo.start(host=host, port=bound_port(app_socket), emulator=emulator_socket)
        settings = context.settings()
        settings.require_stripe_key()
        settings.require_webhook_secrets()
        service = context.service()
        if demo is not None:
            demo.prepare(service)
    try:
        _run(service, settings, app_socket, workers=workers, demo=demo is not None)
    finally:
        if demo is not None:
            demo.stop()


def _run(
    service: TopUpService, settings: Settings, sock: socket.socket, *, workers: int, demo: bool
) -> None:
    # Here, after metrics_dir.prepare(): uvicorn is slow to import, and the web app imports
    # prometheus_client, which must find its multiprocess directory ready.
    import logging

    import uvicorn

    from stripetopup.cli import workers as processes
    from stripetopup.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    # Our own logger: the demo's emulator quiets uvicorn's loggers (process-wide).
    logging.getLogger("stripetopup.serve").info(
        "Listening on http://%s:%d with %d worker(s); Ctrl+C to stop", shown, port, workers
    )
    processes.stop_on_hangup()
    if workers == 1:
        from stripetopup.web.app import create_app  # one worker: this process serves the app

        config = _uvicorn_config(create_app(service, demo=demo), host, port)
        config.load()  # as uvicorn would at start; loaded now, it is part of the settled heap
        processes.settle_heap()
        run: Callable[[], None] = functools.partial(uvicorn.Server(config).run, sockets=[sock])
    else:
        service.close()  # each worker builds its own from the environment
        if demo:
            os.environ[processes.DEMO_PAGES_VARIABLE] = "1"
        config = _uvicorn_config(processes.FACTORY, host, port, workers=workers, factory=True)
        run = processes.Supervisor(config, sockets=[sock]).run
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C once it is done
        run()


def _uvicorn_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The one uvicorn configuration, for one worker or many."""
    import uvicorn  # slow to import: only serve needs it

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=False,  # STRIPETOPUP_TRUSTED_PROXIES decides (web.ratelimit)
        http="stripetopup.web.protocol:JsonErrorH11Protocol",  # our error shape for bad bytes
        **options,
    )
