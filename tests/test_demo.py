"""The offline demo, as `make demo` runs it: `serve --emulator` on a fresh SQLite file, then a
top-up from a second terminal exactly as the printed instructions say.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import cli_env, free_port, run_cli, serve_process

pytestmark = pytest.mark.slow


def test_the_offline_demo_takes_a_top_up_end_to_end(tmp_path: Path) -> None:
    env = cli_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    env.pop("STRIPETOPUP_ENV_FILE")
    port, emulator_port = free_port(), free_port()
    with serve_process(
        ["--emulator", "--emulator-port", str(emulator_port)], env, port, cwd=tmp_path
    ) as server:
        printed = server.output()
        assert "not Stripe, no real money" in printed
        token = re.search(r"Demo token:\s+(stu_\S+)", printed).group(1)  # type: ignore[union-attr]
        env_file = tmp_path / "stripetopup-demo.env"
        assert env_file.is_file()

        created = run_cli(
            ["--env-file", str(env_file), "checkout", "--amount", "5", "--user", "demo", "--json"],
            env,
        )
        assert created.returncode == 0, created.stderr
        url = json.loads(created.stdout)["url"]
        with httpx.Client(timeout=10) as http:
            page = http.get(url)
            assert "$5.00" in page.text
            paid = http.post(url + "/pay", data={"method": "card"})
            assert paid.status_code == 303
            assert paid.headers["location"].startswith(
                server.url + "/billing/success?session_id=cs_"
            )
            assert http.get(paid.headers["location"]).status_code == 200
            balance = {}
            deadline = time.monotonic() + 60  # wide: the webhook lands a moment after the redirect
            while time.monotonic() < deadline:
                balance = http.get(
                    server.url + "/billing/balance", headers={"Authorization": f"Bearer {token}"}
                ).json()
                if balance["balance_cents"]:
                    break
                time.sleep(0.1)
        assert balance["balance_cents"] == 500
        shown = run_cli(["--env-file", str(env_file), "balance", "demo"], env)
        assert shown.stdout == "demo: 5.00 USD\n"
