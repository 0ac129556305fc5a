"""A dismissed payment stays dismissed unless an operator forces an assign, and every
decision (assign, dismiss, forced assign) is kept with who, when and why; on both databases.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from stripetopup.cli.main import app
from tests.conftest import ACCOUNT, Running, settings_env
from tests.support.ledger import entries, paid_session, settled_balance


@pytest.fixture
def cli(running: Running):  # type: ignore[no-untyped-def]
    env = settings_env(running.service.settings)
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def dismissed_stray(cli, running: Running) -> str:  # type: ignore[no-untyped-def]
    session_id = paid_session(running.control, "acct-nobody", 500)
    running.control.wait_idle()
    result = cli("payments", "dismiss", session_id, "--reason", "refunded by support")
    assert result.exit_code == 0, result.stderr
    return session_id


def utc(at: datetime | None) -> str:
    assert at is not None
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def test_a_dismissed_payment_is_not_assigned_without_force(cli, running: Running) -> None:  # type: ignore[no-untyped-def]
    session_id = dismissed_stray(cli, running)
    [before] = running.service.payments()
    result = cli("payments", "assign", session_id, ACCOUNT, "--reason", "found the owner")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {session_id} was dismissed by operator:dismiss at {utc(before.resolved_at)} "
        "(refunded by support); nothing was credited. Pass --force to assign it anyway\n"
    )
    [after] = running.service.payments()
    assert after == before  # who dismissed it, when and why are untouched
    assert entries(running.service, ACCOUNT) == []
    as_json = cli("payments", "assign", session_id, ACCOUNT, "--reason", "x", "--json")
    assert (as_json.exit_code, as_json.stdout) == (1, "")


def test_force_assigns_a_dismissed_payment_and_the_history_keeps_every_decision(
    cli, running: Running
) -> None:  # type: ignore[no-untyped-def]
    session_id = dismissed_stray(cli, running)
    forced = cli(
        "payments", "assign", session_id, ACCOUNT, "--reason", "customer wrote in", "--force"
    )
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout == (
        f"Assigned {session_id} to {ACCOUNT}: credited 5.00 USD (entry 1).\n"
        f"Balance of {ACCOUNT}: 5.00 USD.\n"
    )
    again = cli("payments", "assign", session_id, ACCOUNT, "--reason", "again", "--force")
    assert again.stdout == (
        f"Already assigned: {session_id} is credited to {ACCOUNT} (entry 1); no change.\n"
    )
    assert settled_balance(running.service, ACCOUNT) == 500

    detail = running.service.payment(session_id)
    dismissed, assigned = detail.history
    assert (dismissed.action, dismissed.forced, dismissed.actor, dismissed.reason) == (
        "dismissed",
        False,
        "operator:dismiss",
        "refunded by support",
    )
    assert (assigned.action, assigned.forced, assigned.account_id, assigned.reason) == (
        "assigned",
        True,
        ACCOUNT,
        "customer wrote in",
    )
    shown = cli("payments", "show", session_id)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"payment: {session_id}",
        f"account: {ACCOUNT}",
        "amount: 5.00 USD",
        "stripe status: complete/paid",
        "state: credited",
        "note: unknown account: acct-nobody",
        f"created: {utc(detail.payment.created_at)}",
        "credited entry: 1",
        "history:",
        f"  {utc(dismissed.at)}  dismissed by operator:dismiss: refunded by support",
        f"  {utc(assigned.at)}  assigned to {ACCOUNT} (forced) by operator:assign: "
        "customer wrote in",
    ]
    as_json = json.loads(cli("payments", "show", session_id, "--json").stdout)
    assert (as_json["state"], as_json["resolved_by"]) == ("credited", "operator:assign")
    assert [(d["action"], d["forced"], d["reason"]) for d in as_json["history"]] == [
        ("dismissed", False, "refunded by support"),
        ("assigned", True, "customer wrote in"),
    ]


def test_show_names_a_payment_with_no_decisions_and_refuses_an_unknown_one(
    cli, running: Running
) -> None:  # type: ignore[no-untyped-def]
    session_id = paid_session(running.control, ACCOUNT, 700)
    running.control.wait_idle()
    shown = cli("payments", "show", session_id)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[-1] == "history: none"
    assert "state: credited" in shown.stdout.splitlines()
    missing = cli("payments", "show", "cs_test_nothere")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr == "Error: no payment cs_test_nothere in the local record\n"


@pytest.mark.parametrize("reason", ["a\x00b", "two\nlines", "esc \x1b[31m red"])
@pytest.mark.parametrize("action", ["assign", "dismiss"])
def test_a_reason_with_a_control_character_is_refused_and_changes_nothing(
    cli, running: Running, action: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    session_id = paid_session(running.control, "acct-nobody", 500)
    running.control.wait_idle()
    [before] = running.service.payments()
    args = [session_id, ACCOUNT] if action == "assign" else [session_id]
    result = cli("payments", action, *args, "--reason", reason)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "Error: reason must not contain control characters\n"
    assert running.service.payments() == [before]
    assert running.service.payment(session_id).history == ()
    assert entries(running.service, ACCOUNT) == []
