"""Real servers on loopback for tests: uvicorn in a thread, and the CLI in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def serve_in_thread(app: Any, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (free port) until the block ends; yields its base URL.

    Waits on ``server.started`` as encode/httpx's tests do. ``lifespan="on"`` runs the
    app's background jobs too, as ``serve`` does.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, proxy_headers=False
    )  # like `serve`: X-Forwarded-For is believed only from STRIPETOPUP_TRUSTED_PROXIES
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(settings_env: Mapping[str, str]) -> dict[str, str]:
    """A clean environment for running the real ``stripetopup`` entry point."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE", "DATABASE_URL"))}
    env.update(settings_env)
    env["STRIPETOPUP_ENV_FILE"] = os.devnull
    env["COLUMNS"] = "200"
    return env


def imported_by_cli(
    args: list[str], env: Mapping[str, str]
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m stripetopup ARGS``; its result and the modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stripetopup", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, names


def run_cli(
    args: list[str], env: Mapping[str, str], input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stripetopup", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        input=input_text,
        timeout=120,
        cwd=REPO,
        check=False,
    )


@dataclass
class ServerProcess:
    """A running ``stripetopup serve``: its URL and everything it printed so far."""

    url: str
    lines: list[str]

    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def serve_process(
    args: list[str], env: Mapping[str, str], port: int, cwd: Path = REPO
) -> Iterator[ServerProcess]:
    """``stripetopup serve ...`` as a real process group, until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", "serve", "--port", str(port), *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    running = ServerProcess(f"http://127.0.0.1:{port}", lines)
    try:
        _wait_healthy(running, process)
        yield running
    finally:
        _stop_group(process)
        reader.join(10)
        process.stdout.close()


@contextmanager
def serve_subprocess(args: list[str], env: Mapping[str, str], port: int) -> Iterator[str]:
    """``stripetopup serve ...`` as a real process group; yields its URL once healthy."""
    with serve_process(args, env, port) as running:
        yield running.url


def _stop_group(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(5)


def _wait_healthy(running: ServerProcess, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            time.sleep(0.2)
            raise RuntimeError(f"server exited early ({process.returncode}):\n{running.output()}")
        try:
            if httpx.get(running.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


PATIENCE = 180.0  # seconds; generous on a loaded machine, never a measurement


def wait_for(condition: Callable[[], bool], seconds: float = PATIENCE) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve_group(
    args: list[str], env: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``stripetopup serve ARGS`` in a process group of its own (so a test can kill -9 all
    of it: ``os.killpg(process.pid, SIGKILL)``), its output dropped; yields the process and
    its URL once healthy, and stops what is left of it after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", "serve", "--port", str(port), *args],
        env=dict(env),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: process.poll() is not None or healthy(url), 60)
        assert process.poll() is None, f"serve exited early ({process.returncode})"
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
