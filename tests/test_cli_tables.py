"""Every table command at 80 and 60 columns: every id and amount appears whole, never cut.

In process with COLUMNS set (rich honours it, on a terminal or not) for every command, and
the real entry point under a real pseudo-terminal of 80 and 60 columns; both databases.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass

import pytest

from stripetopup.config import Settings
from tests.conftest import ACCOUNT, Running, settings_env
from tests.support.cli import invoker
from tests.support.ledger import paid_session
from tests.support.servers import REPO, cli_env

UUID_ACCOUNT = "0b9b0b3c-6f0e-4b8e-9d7a-3f1c2b4a5e6d"
WIDTHS = [80, 60]


@dataclass
class Seeded:
    """What the tables must show whole: ids and amounts, by command."""

    settings: Settings
    expected: dict[str, list[str]]


@pytest.fixture
def seeded(running: Running) -> Seeded:
    service = running.service
    service.open_account(UUID_ACCOUNT)
    credited = paid_session(running.control, ACCOUNT, 500)
    stray = paid_session(running.control, "acct-nobody", 1250)
    running.control.wait_idle()
    service.debit(ACCOUNT, 10006_00, reason="a long reason " * 6)
    service.credit(UUID_ACCOUNT, 1_000_000_00, reason="[red]not markup[/]")
    token = service.create_token(ACCOUNT)[0].id
    key = service.create_service_key("billing-worker")[0].id
    event_ids = [e.event_id for e in service.events()]
    assert len(event_ids) >= 2
    return Seeded(
        settings=service.settings,
        expected={
            "accounts list": [ACCOUNT, UUID_ACCOUNT, "-10001.00", "1000000.00"],
            f"ledger {ACCOUNT}": ["5.00", "-10006.00", "-10001.00"],
            f"ledger {UUID_ACCOUNT}": ["1000000.00"],
            "payments": [credited, stray, ACCOUNT, "acct-nobody", "5.00", "12.50"],
            "payments --attention": [stray, "acct-nobody", "12.50"],
            "events": event_ids,
            "tokens list": [token, ACCOUNT],
            "keys list": [key, "billing-worker"],
            "reconcile --since 1d": ["sessions checked", "remaining"],
        },
    )


def appears_whole(token: str, output: str) -> bool:
    """``token`` is in ``output`` unbroken and not as part of a longer id or number."""
    return re.search(rf"(?<![\w.-]){re.escape(token)}(?![\w.-])", output) is not None


def assert_nothing_cut(output: str, width: int, expected: list[str]) -> None:
    """Every expected id and amount whole, no ellipsis, and every table line within the
    width (lines that are not a table, such as records, are the terminal's to wrap)."""
    assert "…" not in output
    missing = [token for token in expected if not appears_whole(token, output)]
    assert missing == [], output
    too_wide = [line for line in output.splitlines() if line[:1] in TABLE and len(line) > width]
    assert too_wide == [], output


TABLE = set("┏┃┡│└")


COMMANDS = [
    "accounts list",
    f"ledger {ACCOUNT}",
    f"ledger {UUID_ACCOUNT}",
    "payments",
    "payments --attention",
    "events",
    "tokens list",
    "keys list",
    "reconcile --since 1d",
]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_table_at_this_width_shows_every_id_and_amount_whole(
    seeded: Seeded, width: int
) -> None:
    invoke = invoker(seeded.settings, {"COLUMNS": str(width)})
    for command in COMMANDS:
        result = invoke(*command.split())
        # reconcile exits 1: the stray payment's unknown account remains a difference
        assert result.exit_code == (1 if command.startswith("reconcile") else 0), command
        assert result.stderr == "", command
        assert_nothing_cut(result.stdout, width, seeded.expected[command])


def test_a_narrow_table_says_what_it_left_out_and_too_narrow_ones_become_records(
    seeded: Seeded,
) -> None:
    narrow = invoker(seeded.settings, {"COLUMNS": "60"})
    ledger = narrow("ledger", ACCOUNT)
    assert ledger.exit_code == 0
    assert ledger.stdout.splitlines()[-1] == (
        "Not shown: Kind, Source, Actor, Reason (see --json)."
    )
    payments = narrow("payments", "--attention")
    assert payments.exit_code == 0
    session = seeded.expected["payments --attention"][0]
    assert payments.stdout.splitlines()[:4] == [
        "Payments",
        f"Session:       {session}",
        "Account:       acct-nobody",
        "Amount:        12.50",
    ]
    wide = invoker(seeded.settings, {"COLUMNS": "200"})("ledger", UUID_ACCOUNT)
    assert "[red]not markup[/]" in wide.stdout  # a cell is shown as written


def run_in_a_terminal(args: list[str], env: dict[str, str], width: int) -> tuple[int, str]:
    """The entry point on a real pseudo-terminal ``width`` columns wide: (exit code, output)."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    terminal_env = {k: v for k, v in env.items() if k != "COLUMNS"}
    terminal_env |= {"TERM": "xterm", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=terminal_env,
        cwd=REPO,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    code = process.wait(timeout=120)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # styles are not content


def test_a_real_terminal_of_80_or_60_columns_gets_every_id_and_amount_whole(
    seeded: Seeded,
) -> None:
    env = cli_env(settings_env(seeded.settings))
    for width in WIDTHS:
        for command in ("payments", f"ledger {ACCOUNT}", "events"):
            code, output = run_in_a_terminal(command.split(), env, width)
            assert code == 0, output
            assert_nothing_cut(output, width, seeded.expected[command])
