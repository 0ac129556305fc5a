"""The offline demo, as `make demo` runs it: `serve --emulator` on a fresh SQLite file, then a
top-up from a second terminal exactly as the printed instructions say.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import REPO, cli_env, free_port, serve_process

pytestmark = pytest.mark.slow


def printed_command(banner: str, contains: str) -> list[str]:
    """The banner's command line containing ``contains``, split as a shell would."""
    (line,) = [line for line in banner.splitlines() if contains in line]
    return shlex.split(line)


def test_the_offline_demo_takes_a_top_up_end_to_end(tmp_path: Path) -> None:
    env = cli_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    env.pop("STRIPETOPUP_ENV_FILE")
    # The emulator takes any free port (0): two free_port() calls may return the same one.
    with serve_process(
        ["--emulator", "--emulator-port", "0"], env, free_port(), cwd=tmp_path
    ) as server:
        printed = server.output()
        assert "not Stripe, no real money" in printed
        token = re.search(r"Demo token:\s+(stu_\S+)", printed).group(1)  # type: ignore[union-attr]
        env_file = tmp_path / "stripetopup-demo.env"
        assert env_file.is_file()

        # The printed commands work from any directory, with nothing but the env file.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        other_terminal = {k: v for k, v in env.items() if k != "DATABASE_URL"}
        checkout = printed_command(printed, "checkout --amount 5")
        assert checkout[checkout.index("--env-file") + 1] == str(env_file)
        created = run_in(elsewhere, [*checkout, "--json"], other_terminal)
        assert created.returncode == 0, created.stderr
        url = json.loads(created.stdout)["url"]
        with httpx.Client(timeout=10) as http:
            for label in ("API docs:", "Health:"):
                shown = re.search(rf"{label}\s+(\S+)", printed).group(1)  # type: ignore[union-attr]
                assert http.get(shown).status_code == 200, shown
            page = http.get(url)
            assert "$5.00" in page.text
            buttons = re.findall(r"<button type='submit'>(.*?)</button>", page.text)
            assert buttons == ["Pay", "Pay with a delayed method", "Cancel"]
            assert all(f'"{button}"' in printed for button in buttons[:2])
            paid = http.post(url + "/pay", data={"method": "card"})
            assert paid.status_code == 303
            assert paid.headers["location"].startswith(
                server.url + "/billing/success?session_id=cs_"
            )
            balance = {}
            deadline = time.monotonic() + 60  # wide: the webhook lands a moment after the redirect
            while time.monotonic() < deadline:
                balance = http.get(
                    server.url + "/billing/balance", headers={"Authorization": f"Bearer {token}"}
                ).json()
                if balance["balance_cents"]:
                    break
                time.sleep(0.1)  # the webhook lands a moment after the redirect
            assert balance["balance_cents"] == 500
            landed = http.get(paid.headers["location"])
            assert landed.status_code == 200
            assert "5.00 USD was paid and credited to account <code>demo</code>" in landed.text
        shown = run_in(elsewhere, printed_command(printed, "balance demo"), other_terminal)
        assert shown.stdout == "demo: 5.00 USD\n"


def run_in(cwd: Path, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_demo_with_several_workers_serves_its_pages_in_every_worker(tmp_path: Path) -> None:
    env = cli_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    args = ["--emulator", "--emulator-port", "0", "--workers", "2"]
    with serve_process(args, env, free_port(), cwd=tmp_path) as server, httpx.Client() as http:
        for _ in range(6):  # new connections, so more than one worker answers
            page = http.get(server.url + "/billing/cancel", headers={"Connection": "close"})
            assert page.status_code == 200
            assert "Nothing was charged." in page.text


def start_make_demo(demo_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``make demo`` as a terminal would run it; returns it and the app's URL once healthy.

    Port 0 for both servers (any free one, no race with other tests); the banner says which.
    """
    command = ["make", "-s", "-o", ".venv/.installed", "demo", f"DEMO_DIR={demo_dir}"]
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [*command, "ARGS=--port 0 --emulator-port 0"],
            cwd=REPO,
            env=cli_env({}),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        shown = re.search(r"Health:\s+(http://\S+)/healthz", log.read_text())
        try:
            if shown and httpx.get(shown.group(1) + "/healthz", timeout=2).status_code == 200:
                return process, shown.group(1)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"make demo did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(60)


def test_make_demo_keeps_the_previous_demo_and_says_where_the_new_one_is(
    tmp_path: Path,
) -> None:
    demo_dir = tmp_path / "demo"
    runs = []
    for attempt in range(2):
        log = tmp_path / f"make-{attempt}.log"
        process, url = start_make_demo(demo_dir, log)
        try:
            token = re.search(r"Demo token:\s+(stu_\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
            if attempt == 0:  # leave something behind worth keeping
                balance = httpx.get(
                    url + "/billing/balance", headers={"Authorization": f"Bearer {token}"}
                )
                assert balance.status_code == 200
        finally:
            stop(process)
        first_line = log.read_text().splitlines()[0]
        run = re.fullmatch(
            rf"Demo data: ({re.escape(str(demo_dir))}/\S+) \(earlier demos stay in .*\)", first_line
        )
        assert run is not None, first_line
        runs.append(Path(run.group(1)))
    assert runs[0] != runs[1]
    for run in runs:
        assert (run / "stripetopup.db").is_file()
        assert (run / "stripetopup-demo.env").is_file()
    assert sorted(demo_dir.iterdir()) == sorted(runs)
