"""``stripetopup serve``: the web app under uvicorn, optionally beside the emulator."""

from __future__ import annotations

import typer

from stripetopup.cli.output import guard


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", envvar="STRIPETOPUP_HOST", help="Interface."),
    port: int = typer.Option(8000, "--port", envvar="STRIPETOPUP_PORT", help="Port."),
    workers: int = typer.Option(
        1, "--workers", envvar="STRIPETOPUP_WORKERS", min=1, max=64, help="Worker processes."
    ),
    emulator: bool = typer.Option(
        False, "--emulator", help="Offline demo: run the Stripe emulator beside the app."
    ),
    emulator_port: int = typer.Option(12111, "--emulator-port", help="Port for --emulator."),
) -> None:
    """Serve the checkout, webhook, balance and spend endpoints."""
    from stripetopup import metrics_dir

    with guard():  # first: before prometheus_client is imported; the workers inherit it
        metrics_dir.prepare()
    import uvicorn

    from stripetopup.cli import context

    demo = None
    with guard():
        if emulator:
            from stripetopup.cli.demo import Demo

            demo = Demo.start(host=host, port=port, emulator_port=emulator_port)
        settings = context.settings()
        settings.require_stripe_key()
        settings.require_webhook_secrets()
        service = context.service()
        if demo is not None:
            demo.prepare(service)
    try:
        if workers == 1:
            from stripetopup.logs import configure_logging
            from stripetopup.web.app import create_app

            configure_logging(settings.log_format, settings.log_level)
            uvicorn.run(
                create_app(service, demo=demo is not None),
                host=host,
                port=port,
                log_config=None,
                proxy_headers=False,
                http="stripetopup.web.protocol:JsonErrorH11Protocol",  # JSON 400s
            )
        else:
            service.close()
            uvicorn.run(
                "stripetopup.web.app:create_app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_config=None,
                proxy_headers=False,  # STRIPETOPUP_TRUSTED_PROXIES decides, as with one worker
                http="stripetopup.web.protocol:JsonErrorH11Protocol",  # JSON 400s
            )
    finally:
        if demo is not None:
            demo.stop()
