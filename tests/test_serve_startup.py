"""`serve` start-up: a port it cannot have is one line naming the option, exit 2, before
any banner, with one worker or many, and nothing of a demo is written.

Each test holds a real port with a real listening socket and runs the real entry point.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stripetopup.cli.listen import bound_port, claim
from stripetopup.errors import ConfigError
from tests.support.servers import cli_env, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def serve(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env({"DATABASE_URL": f"sqlite:///{cwd / 'stripetopup.db'}"})
    return subprocess.run(
        [sys.executable, "-m", "stripetopup", "serve", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_app_port_is_one_line_and_exit_2(
    busy_port: int, tmp_path: Path, workers: str
) -> None:
    result = serve(["--port", str(busy_port), "--workers", workers], tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"Error: port {busy_port} on 127.0.0.1 is already in use (--port)\n"
    assert result.stdout == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_app_port_with_the_emulator_is_reported_before_any_banner(
    busy_port: int, tmp_path: Path, workers: str
) -> None:
    args = ["--port", str(busy_port), "--emulator", "--emulator-port", "0"]
    result = serve([*args, "--workers", workers], tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"Error: port {busy_port} on 127.0.0.1 is already in use (--port)\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no demo env file, no database


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_emulator_port_is_one_line_and_exit_2(
    busy_port: int, tmp_path: Path, workers: str
) -> None:
    args = ["--port", "0", "--emulator", "--emulator-port", str(busy_port)]
    result = serve([*args, "--workers", workers], tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: port {busy_port} on 127.0.0.1 is already in use (--emulator-port)\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_the_same_port_for_the_app_and_the_emulator_is_one_line(tmp_path: Path) -> None:
    port = str(free_port())
    result = serve(["--port", port, "--emulator", "--emulator-port", port], tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"Error: port {port} on 127.0.0.1 is already in use (--emulator-port)\n"


def test_a_host_that_is_not_this_machines_is_one_line(tmp_path: Path) -> None:
    # 192.0.2.0/24 is TEST-NET-1: documentation only, never a local address.
    result = serve(["--host", "192.0.2.1", "--port", "0"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: cannot listen on 192.0.2.1: not an address of this machine (--host)\n"
    )


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = serve(["--port", "70000"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--port' (env var: 'STRIPETOPUP_PORT'): "
        "Input should be less than or equal to 65535"
    )


def test_the_standalone_emulator_on_a_busy_port_is_one_line_before_its_banner(
    busy_port: int, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stripetopup", "emulator", "--port", str(busy_port)],
        env=cli_env({}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"Error: port {busy_port} on 127.0.0.1 is already in use (--port)\n"
    assert result.stdout == ""


def test_a_claimed_port_is_already_listening_so_nothing_else_can_take_it() -> None:
    with claim("127.0.0.1", 0, option="--port") as claimed, socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", bound_port(claimed)))


def test_claiming_a_busy_port_names_the_option_it_came_from(busy_port: int) -> None:
    with pytest.raises(ConfigError) as refused:
        claim("127.0.0.1", busy_port, option="--emulator-port")
    assert refused.value.message == (
        f"port {busy_port} on 127.0.0.1 is already in use (--emulator-port)"
    )


@pytest.mark.parametrize("host", ["no such host!", "bad\x00host"])
def test_claiming_on_a_host_that_is_not_one_names_the_host_option(host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        claim(host, 0, option="--port")
    assert refused.value.message == (
        f"cannot listen on {host!r}: not a host name or address (--host)"
    )
