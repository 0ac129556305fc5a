"""The offline demo behind ``serve --emulator``: the emulator in this process, wired in.

It starts the emulator, points the Stripe settings at it (through the environment, so
uvicorn workers see the same), registers the webhook endpoint with a fresh secret,
writes ``stripetopup-demo.env`` for the operator's other terminal, creates a demo account
and token, and prints how to top up.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from stripetopup.core import TopUpService
    from stripetopup.emulator.server import EmulatorServer

DEMO_ACCOUNT = "demo"
ENV_FILE = "stripetopup-demo.env"


@dataclass
class Demo:
    server: EmulatorServer
    app_url: str

    @classmethod
    def start(cls, *, host: str, port: int, emulator_port: int) -> Demo:
        from stripetopup.emulator.client import EmulatorControl
        from stripetopup.emulator.server import EmulatorServer

        server = EmulatorServer(host="127.0.0.1", port=emulator_port)
        server.start()
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        app_url = f"http://{shown_host}:{port}"
        secret = "whsec_" + secrets.token_hex(24)
        values = {
            "STRIPE_SECRET_KEY": "sk_test_emulator" + secrets.token_hex(12),
            "STRIPE_WEBHOOK_SECRET": f"demo:{secret}",
            "STRIPE_API_BASE": server.url,
            "ALLOWED_FRONTEND_ORIGINS": os.environ.get("ALLOWED_FRONTEND_ORIGINS", app_url),
        }
        os.environ.update(values)
        Path(ENV_FILE).write_text(
            "# Written by `stripetopup serve --emulator`: points the CLI at the demo.\n"
            + "".join(f"{key}={value}\n" for key, value in values.items())
            + f"DATABASE_URL={os.environ.get('DATABASE_URL', 'sqlite:///./stripetopup.db')}\n",
            encoding="utf-8",
        )
        with EmulatorControl(server.url) as control:
            control.add_webhook_endpoint(
                url=f"{app_url}/billing/webhook", secrets=[secret], enabled_events=["*"]
            )
        return cls(server=server, app_url=app_url)

    def prepare(self, service: TopUpService) -> None:
        service.open_account(DEMO_ACCOUNT)
        _, token = service.create_token(DEMO_ACCOUNT)
        origin = service.settings.allowed_frontend_origins[0]
        cli = _how_we_were_run()
        typer.echo(
            f"""
stripetopup offline demo (Stripe emulator at {self.server.url}: not Stripe, no real money)

  App:           {self.app_url}   (API docs: {self.app_url}/docs)
  Demo account:  {DEMO_ACCOUNT}
  Demo token:    {token}

Top up from another terminal in this directory:

  {cli} --env-file {ENV_FILE} checkout --amount 5 --user {DEMO_ACCOUNT}
  curl -s -X POST {self.app_url}/billing/checkout-session \\
       -H 'Authorization: Bearer {token}' -H 'Origin: {origin}' \\
       -H 'Content-Type: application/json' -d '{{"amount_cents": 500}}'

Open the printed URL: the emulator's hosted checkout page (Pay / Pay later / Cancel).
Paying sends a signed webhook here; then:

  {cli} --env-file {ENV_FILE} balance {DEMO_ACCOUNT}
  curl -s {self.app_url}/billing/balance -H 'Authorization: Bearer {token}'
"""
        )

    def stop(self) -> None:
        self.server.stop()


def _how_we_were_run() -> str:
    """The command to type for this same installation (``make demo`` runs it from .venv)."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":
        return f"{sys.executable} -m stripetopup"
    if shutil.which(program.name) == str(program.resolve()):
        return program.name
    return str(program)
