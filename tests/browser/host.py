"""The app under test, as an operator runs it: ``stripetopup serve --emulator`` in a process.

It runs on its own SQLite file in its own directory, with the real clock and receipts on.
The tests then act as the host application would: a service key from ``stripetopup keys
create`` against the demo's env file, links minted through the spend API, balances and
entries read through it. Accounts are opened with the core service on the same database
(input for the test, as an operator would with ``accounts create``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from tests.support.clock import ManualClock
from tests.support.servers import cli_env, free_port, run_cli, serve_process

DEMO_ENV = "stripetopup-demo.env"


@dataclass
class Host:
    """The running app, its emulator, and a host application's service key for it."""

    url: str
    emulator_url: str
    env_file: Path
    banner: str
    http: httpx.Client
    service: TopUpService
    control: EmulatorControl

    def open_account(self, account_id: str) -> str:
        self.service.open_account(account_id)
        return account_id

    def topup_link(self, account_id: str, ttl_seconds: int | None = None) -> dict[str, Any]:
        body = {} if ttl_seconds is None else {"ttl_seconds": ttl_seconds}
        answer = self.http.post(f"/api/v1/accounts/{account_id}/topup-links", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def expired_link(self, account_id: str) -> str:
        """A link signed with the app's secret whose shortest lifetime ended an hour ago:
        minted by a service whose clock stands two hours back (serve keeps the real one)."""
        clock = ManualClock()
        clock.advance(-2 * 60 * 60)
        past = TopUpService(self.service.settings, self.service.engine, clock=clock)
        link = past.create_topup_link(account_id, ttl=timedelta(minutes=1))
        assert link.url.startswith(self.url), link.url
        return link.url

    def stripe_session_count(self) -> int:
        """How many Checkout Sessions the emulator holds (a refusal must add none)."""
        key = demo_env(self.env_file)["STRIPE_SECRET_KEY"]
        answer = httpx.get(
            self.emulator_url + "/v1/checkout/sessions",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert not answer.json()["has_more"]
        return len(answer.json()["data"])

    def balance_cents(self, account_id: str) -> int:
        answer = self.http.get(f"/api/v1/accounts/{account_id}/balance")
        assert answer.status_code == 200, answer.text
        return int(answer.json()["balance_cents"])

    def entries(self, account_id: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"/api/v1/accounts/{account_id}/entries", params={"limit": 100})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["data"])


def demo_env(path: Path) -> dict[str, str]:
    """The ``KEY=value`` lines of the env file the demo wrote."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def session_id_in(url: str) -> str:
    """The Checkout Session id in an emulator page URL or a success URL."""
    query = parse_qs(urlsplit(url).query).get("session_id")
    if query:
        return query[0]
    found = re.search(r"/c/pay/(cs_[A-Za-z0-9_]+)", url)
    assert found, url
    return found.group(1)


@contextmanager
def running_host(directory: Path) -> Iterator[Host]:
    database = f"sqlite:///{directory / 'stripetopup.db'}"
    # Receipts on, as an operator selling for real would have them: the success page links one.
    env = cli_env({"DATABASE_URL": database, "STRIPETOPUP_INVOICE_CREATION": "true"})
    args = ["--emulator", "--emulator-port", "0"]
    with serve_process(args, env, free_port(), cwd=directory) as server:
        env_file = directory / DEMO_ENV
        written = demo_env(env_file)
        terminal = {k: v for k, v in env.items() if k != "DATABASE_URL"}
        created = run_cli(
            ["--env-file", str(env_file), "keys", "create", "browser-tests", "--json"], terminal
        )
        assert created.returncode == 0, created.stderr
        key = re.search(r'"secret":\s*"(stk_[^"]+)"', created.stdout)
        assert key, created.stdout
        # The env file has the page's settings too (its link secret): links minted here verify.
        service = TopUpService.from_settings(Settings(_env_file=env_file))
        headers = {"Authorization": f"Bearer {key.group(1)}"}
        with (
            httpx.Client(base_url=server.url, headers=headers, timeout=60) as http,
            EmulatorControl(written["STRIPE_API_BASE"], timeout=90) as control,
        ):
            try:
                yield Host(
                    server.url,
                    written["STRIPE_API_BASE"],
                    env_file,
                    server.output(),
                    http,
                    service,
                    control,
                )
            finally:
                service.close()
