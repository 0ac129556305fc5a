"""`serve` stops on SIGHUP, SIGINT and SIGTERM, every worker with it, and frees its port.

The real entry point runs in a session of its own (as from a terminal); each test waits for
every worker to be up, signals, and then checks the supervisor, every process it started
and the port. Timeouts are generous: nothing here measures speed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_KEY, NEW_SECRET
from tests.support.servers import cli_env, free_port

pytestmark = pytest.mark.slow
PATIENCE = 60.0  # seconds; a loaded machine is slow, a hung supervisor never ends
Launch = Callable[[int], tuple[subprocess.Popen[bytes], int]]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> list[int]:
    out = []
    for child in children_of(pid):
        out.extend([child, *descendants_of(child)])
    return out


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def workers_of(pid: int) -> list[int]:
    return [
        child
        for child in children_of(pid)
        if "spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
    ]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Launch]:
    started: list[subprocess.Popen[bytes]] = []

    def launch(workers: int) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        env = cli_env(
            {
                "STRIPE_SECRET_KEY": API_KEY,
                "STRIPE_WEBHOOK_SECRET": NEW_SECRET,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'stripetopup.db'}",
            }
        )
        command = [sys.executable, "-m", "stripetopup", "serve", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(process)
        wait_for(lambda: healthy(port) or process.poll() is not None, "the server to answer")
        assert process.poll() is None, f"serve exited early ({process.returncode})"
        if workers > 1:
            wait_for(lambda: len(workers_of(process.pid)) == workers, "every worker")
        return process, port

    yield launch
    for process in started:  # a failed test must not leave a server behind
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def assert_stopped(process: subprocess.Popen[bytes], others: list[int], port: int) -> int:
    """Wait for the server, every process it started and its port; its exit code."""
    process.wait(PATIENCE)
    wait_for(lambda: not any(running(pid) for pid in others), "every worker to exit")
    wait_for(lambda: port_is_free(port), "the port to be free")
    return process.returncode


SIGNALS = [signal.SIGHUP, signal.SIGINT, signal.SIGTERM]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_the_supervisor_stops_with_its_workers_on_each_signal(
    start: Launch, signum: signal.Signals
) -> None:
    process, port = start(2)
    others = descendants_of(process.pid)
    os.kill(process.pid, signum)  # the supervisor alone, as a service manager does
    assert assert_stopped(process, others, port) == 0


def test_closing_the_terminal_stops_the_supervisor_and_its_workers(start: Launch) -> None:
    process, port = start(2)
    others = descendants_of(process.pid)
    os.killpg(process.pid, signal.SIGHUP)  # the whole process group, as a hang-up does
    assert assert_stopped(process, others, port) == 0


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_one_worker_stops_on_each_signal(start: Launch, signum: signal.Signals) -> None:
    process, port = start(1)
    os.kill(process.pid, signum)
    code = assert_stopped(process, [], port)
    # Ctrl+C is a clean exit; uvicorn ends a SIGTERM (SIGHUP is handled as one) by
    # re-raising it once shut down, so the parent sees which signal ended it.
    assert code == (0 if signum == signal.SIGINT else -signal.SIGTERM)
