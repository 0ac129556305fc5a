"""The offline demo behind ``serve --emulator``: the emulator in this process, wired in.

It starts the emulator on the socket ``serve`` claimed for it, points the Stripe settings at
it (through the environment, so uvicorn workers see the same), registers the webhook
endpoint with a fresh secret, turns the hosted top-up page on (a fresh link secret, the
app's loopback URL as its public URL), writes ``stripetopup-demo.env`` for the operator's
other terminal, creates a demo account and token, and prints a top-up link and how to top
up. Every path and URL it prints is absolute, so the commands work from any directory.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import socket

    from stripetopup.core import TopUpService
    from stripetopup.emulator.server import EmulatorServer

DEMO_ACCOUNT = "demo"
ENV_FILE = "stripetopup-demo.env"
_STRIPE_VARIABLES = (
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "ALLOWED_FRONTEND_ORIGINS",
    "STRIPETOPUP_TOPUP_PAGE",
    "STRIPETOPUP_TOPUP_LINK_SECRET",
    "STRIPETOPUP_PUBLIC_URL",
)
DEMO_LINK_MINUTES = 60


@dataclass
class Demo:
    server: EmulatorServer
    app_url: str

    @classmethod
    def start(cls, *, host: str, port: int, emulator: socket.socket) -> Demo:
        # Here, not at the top: the emulator imports starlette and uvicorn, slow to import.
        from stripetopup.emulator.client import EmulatorControl
        from stripetopup.emulator.server import EmulatorServer

        server = EmulatorServer(sock=emulator)
        server.start()
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        app_url = f"http://{shown_host}:{port}"
        secret = "whsec_" + secrets.token_hex(24)
        os.environ.update(
            {
                "STRIPE_SECRET_KEY": "sk_test_emulator" + secrets.token_hex(12),
                "STRIPE_WEBHOOK_SECRET": f"demo:{secret}",
                "STRIPE_API_BASE": server.url,
                "ALLOWED_FRONTEND_ORIGINS": os.environ.get("ALLOWED_FRONTEND_ORIGINS", app_url),
                # The hosted top-up page, on this app's own loopback URL.
                "STRIPETOPUP_TOPUP_PAGE": "true",
                "STRIPETOPUP_TOPUP_LINK_SECRET": secrets.token_urlsafe(32),
                "STRIPETOPUP_PUBLIC_URL": app_url,
            }
        )
        with EmulatorControl(server.url) as control:
            control.add_webhook_endpoint(
                url=f"{app_url}/billing/webhook", secrets=[secret], enabled_events=["*"]
            )
        return cls(server=server, app_url=app_url)

    def prepare(self, service: TopUpService) -> None:
        service.open_account(DEMO_ACCOUNT)
        _, token = service.create_token(DEMO_ACCOUNT)
        link = service.create_topup_link(DEMO_ACCOUNT, timedelta(minutes=DEMO_LINK_MINUTES))
        env_file = _write_env_file(service.settings.database_url)
        cli = f"{_how_we_were_run()} --env-file {shlex.quote(str(env_file))}"
        typer.echo(self._banner(service, token, cli, link.url))

    def _banner(self, service: TopUpService, token: str, cli: str, link: str) -> str:
        from stripetopup.emulator.page import PAY, PAY_DELAYED  # the emulator: slow to import

        origin = service.settings.allowed_frontend_origins[0]
        url, emulator = self.app_url, self.server.url
        return f"""
stripetopup offline demo (Stripe emulator at {emulator}: not Stripe, no real money)

  API docs:      {url}/docs   (served by the app: works offline)
  Health:        {url}/healthz
  Demo account:  {DEMO_ACCOUNT}
  Demo token:    {token}

Top up in a browser: the hosted top-up page, for the next {DEMO_LINK_MINUTES} minutes

  {link}

  (a new link: {cli} topup-link {DEMO_ACCOUNT})

Or top up from another terminal (these commands work from any directory):

  {cli} checkout --amount 5 --user {DEMO_ACCOUNT}
  curl -s -X POST {url}/billing/checkout-session \\
       -H 'Authorization: Bearer {token}' -H 'Origin: {origin}' \\
       -H 'Content-Type: application/json' -d '{{"amount_cents": 500}}'

Open the printed URL: the emulator's hosted checkout page. "{PAY}" pays at once and sends
a signed webhook here. "{PAY_DELAYED}" completes the checkout unpaid (like a bank
debit); settle it later with
  curl -s -X POST {emulator}/_emulator/checkout/sessions/<cs_id>/async_succeed   (or async_fail)
Then:

  {cli} balance {DEMO_ACCOUNT}
  curl -s {url}/billing/balance -H 'Authorization: Bearer {token}'
"""

    def stop(self) -> None:
        self.server.stop()


def _write_env_file(database_url: str) -> Path:
    """``stripetopup-demo.env`` in this directory, naming the database by absolute path."""
    path = Path(ENV_FILE).resolve()
    lines = [f"{name}={os.environ[name]}\n" for name in _STRIPE_VARIABLES]
    path.write_text(
        "# Written by `stripetopup serve --emulator`: points the CLI at the demo.\n"
        + "".join(lines)
        + f"DATABASE_URL={_absolute_sqlite(database_url)}\n",
        encoding="utf-8",
    )
    return path


def _absolute_sqlite(database_url: str) -> str:
    """A relative SQLite path made absolute, so the env file works from anywhere."""
    from sqlalchemy.engine import make_url  # slow to import: only the demo needs it

    url = make_url(database_url)
    database = url.database
    if not url.drivername.startswith("sqlite") or not database or database == ":memory:":
        return database_url
    if database.startswith("file:") or Path(database).is_absolute():
        return database_url
    return url.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)


def _how_we_were_run() -> str:
    """The command to type for this same installation, from any directory."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m stripetopup"
    if shutil.which(program.name) == str(program.resolve()):
        return program.name
    return shlex.quote(os.path.abspath(program))
