"""Every date option of every command refuses '' and junk with one line and exit 2."""

from __future__ import annotations

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.support.cli import invoker

HINT = "use ISO 8601 (2026-11-01, 2026-11-01T12:00Z) or a relative window (7d, 24h)"

# Each command line with ``{}`` where the date goes, and the option it reports.
DATE_OPTIONS = [
    (["reconcile", "--since", "{}"], "--since"),
    (["reconcile", "--since", "7d", "--until", "{}"], "--until"),
    (["reconcile", "--since", "{}", "--fix", "--json"], "--since"),
    (["replay", "--failed", "--since", "{}"], "--since"),
    (["events", "--since", "{}"], "--since"),
    (["events", "list", "--since", "{}"], "--since"),
    (["payments", "--since", "{}"], "--since"),
    (["payments", "list", "--since", "{}", "--json"], "--since"),
]
BAD_DATES = [
    ("", "is not a date; " + HINT),
    ("   ", "is not a date; " + HINT),
    ("junk", "is not a date; " + HINT),
    ("7 days", "is not a date; " + HINT),
    ("\u0661\u0662d", "is not a date; " + HINT),  # Arabic-Indic digits: not what anyone types
    ("999999w", "is outside the years 1 to 9999"),
    ("0001-01-01T00:00:00+01:00", "is outside the years 1 to 9999"),
    ("9999-12-31", "is in the future"),
]


@pytest.mark.parametrize(("command", "option"), DATE_OPTIONS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize(("text", "problem"), BAD_DATES, ids=[repr(t) for t, _ in BAD_DATES])
def test_a_bad_date_is_one_line_and_exit_2(
    settings: Settings,
    service: TopUpService,
    command: list[str],
    option: str,
    text: str,
    problem: str,
) -> None:
    result = invoker(settings)(*(text if part == "{}" else part for part in command))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {option}: {text.strip()!r} {problem}\n"


@pytest.mark.parametrize("since", ["", "7d"])
def test_replay_of_one_event_refuses_since_even_an_empty_one(
    settings: Settings, service: TopUpService, since: str
) -> None:
    result = invoker(settings)("replay", "evt_123", "--since", since)
    assert result.exit_code == 2
    assert result.stderr == "Error: give either EVT_ID or --failed [--since DATE]\n"
