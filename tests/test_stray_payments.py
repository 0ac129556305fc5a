"""Stray payments through the CLI, on both databases: `payments --attention` lists them,
`payments assign` credits Stripe's amount once (and debits what Stripe already refunded),
`payments dismiss` credits nothing, now or when an event comes later.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, Running, settings_env
from tests.support.ledger import entries, paid_session, settled_balance


@pytest.fixture
def cli(running: Running):  # type: ignore[no-untyped-def]
    env = settings_env(running.service.settings)
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def stray(running: Running, **options: object) -> str:
    session_id = paid_session(running.control, "acct-nobody", 500, **options)
    running.control.wait_idle()
    return session_id


def late_completed_event(service: TopUpService, session_id: str) -> str:
    obj = service.ctx.stripe.retrieve_checkout_session(session_id)
    event = {"id": f"evt_late_{session_id[-8:]}", "object": "event", "livemode": False}
    event |= {"type": "checkout.session.completed", "data": {"object": obj}}
    return service.apply_event(event, actor="test").result


def test_assign_credits_a_stray_payment_once_with_its_reason_and_actor(
    cli, running: Running
) -> None:  # type: ignore[no-untyped-def]
    session_id = stray(running)
    [listed] = json.loads(cli("payments", "--attention", "--json").stdout)
    assert (listed["checkout_session_id"], listed["attention_reason"]) == (
        session_id,
        "unknown account: acct-nobody",
    )
    first = cli("payments", "assign", session_id, ACCOUNT, "--reason", "typo in the account id")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == (
        f"Assigned {session_id} to {ACCOUNT}: credited 5.00 USD (entry 1).\n"
        f"Balance of {ACCOUNT}: 5.00 USD.\n"
    )
    again = cli("payments", "assign", session_id, ACCOUNT, "--reason", "typo in the account id")
    assert again.exit_code == 0
    assert again.stdout == (
        f"Already assigned: {session_id} is credited to {ACCOUNT} (entry 1); no change.\n"
    )
    running.service.open_account("acct-carol")
    elsewhere = cli("payments", "assign", session_id, "acct-carol", "--reason", "x")
    assert elsewhere.exit_code == 1
    assert elsewhere.stderr == (
        f"Error: {session_id} is already credited to {ACCOUNT} (entry 1); "
        "debit it there by hand first\n"
    )
    assert entries(running.service, ACCOUNT) == [(f"checkout_session:{session_id}", 500)]
    [payment] = running.service.payments()
    assert (payment.state, payment.account_id, payment.resolved_by, payment.resolution) == (
        "credited",
        ACCOUNT,
        "operator:assign",
        "typo in the account id",
    )
    assert late_completed_event(running.service, session_id) == "already_applied"
    assert settled_balance(running.service, ACCOUNT) == 500


def test_assign_debits_what_stripe_already_refunded(cli, running: Running) -> None:  # type: ignore[no-untyped-def]
    session_id = stray(running)
    refund = running.control.refund(session_id, amount=200)
    running.control.wait_idle()
    assert entries(running.service, ACCOUNT) == []
    result = cli("payments", "assign", session_id, ACCOUNT, "--reason", "found the owner")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Assigned {session_id} to {ACCOUNT}: credited 5.00 USD (entry 1).\n"
        f"Debited 2.00 USD for refund:{refund['id']}, already in Stripe.\n"
        f"Balance of {ACCOUNT}: 3.00 USD.\n"
    )
    assert settled_balance(running.service, ACCOUNT) == 300


def test_assign_refuses_an_unpaid_or_foreign_currency_payment(
    cli, running: Running, control: EmulatorControl
) -> None:  # type: ignore[no-untyped-def]
    unpaid = str(control.seed(count=1, state="open", client_reference_id="acct-nobody")["ids"][0])
    result = cli("payments", "assign", unpaid, ACCOUNT, "--reason", "x")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr
        == f"Error: {unpaid} is not paid (Stripe says open/unpaid): nothing to credit\n"
    )
    euro = stray(running, currency="eur")
    result = cli("payments", "assign", euro, ACCOUNT, "--reason", "x")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {euro} was paid in EUR; only USD is credited "
        "(refund it in Stripe, or dismiss it)\n"
    )
    usd = stray(running)
    ghost = cli("payments", "assign", usd, "acct-ghost", "--reason", "x")
    assert (ghost.exit_code, ghost.stderr) == (
        1,
        "Error: unknown account: acct-ghost; "
        "open it with: stripetopup accounts create acct-ghost\n",
    )
    assert cli("payments", "assign", euro, ACCOUNT, "--reason", " ").exit_code == 2
    assert entries(running.service, ACCOUNT) == []


def test_dismiss_credits_nothing_now_or_when_the_event_comes_later(cli, running: Running) -> None:  # type: ignore[no-untyped-def]
    euro = stray(running, currency="eur")
    result = cli("payments", "dismiss", euro, "--reason", "refunded by support")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Dismissed {euro}: nothing credited (refunded by support).\n"
    again = cli("payments", "dismiss", euro, "--reason", "refunded by support")
    assert (again.exit_code, again.stdout) == (0, f"Already dismissed: {euro}; no change.\n")
    # A payment Stripe has but we never heard of, for a real account: dismissed first...
    quiet = str(running.control.seed(count=1, client_reference_id=ACCOUNT)["ids"][0])
    as_json = json.loads(
        cli("payments", "dismiss", quiet, "--reason", "test order", "--json").stdout
    )
    assert (as_json["action"], as_json["payment"]["state"]) == ("dismissed", "dismissed")
    assert as_json["payment"]["resolved_by"] == "operator:dismiss"
    # ...so its completed event, arriving later, credits nothing.
    assert late_completed_event(running.service, quiet) == "ignored"
    assert entries(running.service, ACCOUNT) == []
    assert cli("payments", "--attention", "--json").stdout.strip() == "[]"


def test_dismiss_refuses_a_credited_payment(cli, running: Running) -> None:  # type: ignore[no-untyped-def]
    session_id = paid_session(running.control, ACCOUNT, 500)
    running.control.wait_idle()
    result = cli("payments", "dismiss", session_id, "--reason", "oops")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {session_id} is already credited (5.00 to {ACCOUNT}, entry 1); "
        "to take it back, debit the account\n"
    )
    assert cli("payments", "dismiss", "cs_test_nothere", "--reason", "x").exit_code == 1
