"""reconcile against the emulator, on both databases: every kind of difference, --fix,
a clean second run, the CLI's lines and exit codes, and a race with live webhooks.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.dates import utcnow
from stripetopup.db import transaction
from stripetopup.emulator import EmulatorControl
from stripetopup.store import payments
from tests.conftest import ACCOUNT, Running, settings_env

WEEK = timedelta(days=7)


def one(control: EmulatorControl, **options: Any) -> str:
    return str(control.seed(count=1, **options)["ids"][0])


def forge_paid(service: TopUpService, session_id: str, event_id: str, **changes: Any) -> None:
    """Apply a completed+paid event for a session Stripe has in another state."""
    obj = service.ctx.stripe.retrieve_checkout_session(session_id)
    obj.update(status="complete", payment_status="paid", **changes)
    event = {"id": event_id, "object": "event", "type": "checkout.session.completed"}
    service.apply_event({**event, "livemode": False, "data": {"object": obj}}, actor="test")


def entries(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, amount_cents FROM ledger_entries"))
        return sorted((str(s), int(a)) for s, a in rows)


def test_every_kind_of_difference_is_reported_fixed_and_clean_on_the_second_run(
    service: TopUpService, control: EmulatorControl
) -> None:
    now = control.now()
    ok, refunded, disputed = (one(control, client_reference_id=ACCOUNT) for _ in range(3))
    assert service.reconcile(utcnow() - WEEK, fix=True).fixed == 3
    control.refund(refunded, amount=200)
    control.dispute(disputed)
    missing = one(control, client_reference_id=ACCOUNT)
    never_paid = one(control, state="open", client_reference_id=ACCOUNT)
    forge_paid(service, never_paid, "evt_forged_unpaid")
    short = one(control, client_reference_id=ACCOUNT, amount=700)
    forge_paid(service, short, "evt_forged_short", amount_total=500)
    euro = one(control, client_reference_id=ACCOUNT, currency="eur")
    live = one(control, client_reference_id=ACCOUNT, livemode=True)
    stranger = one(control, client_reference_id="acct-nobody")
    stale = one(control, state="unpaid", client_reference_id=ACCOUNT, created=now - 100 * 3600)
    with transaction(service.engine) as session:
        payments.record_created(
            session,
            checkout_session_id="cs_test_gone",
            account_id=ACCOUNT,
            amount_requested_cents=300,
            currency="usd",
            livemode=False,
            url=None,
        )

    report = service.reconcile(utcnow() - WEEK)
    found = sorted(
        (d.kind, d.checkout_session_id, d.amount_cents, d.local_cents) for d in report.items
    )
    assert found == sorted(
        [
            ("paid_not_credited", missing, 500, None),
            ("refund_not_debited", refunded, 200, 0),
            ("dispute_not_debited", disputed, 500, 0),
            ("credited_not_paid", never_paid, None, 500),
            ("amount_mismatch", short, 700, 500),
            ("currency_mismatch", euro, 500, None),
            ("livemode_mismatch", live, 500, None),
            ("unknown_account", stranger, 500, None),
            ("pending_too_long", stale, 500, None),
            ("unknown_to_stripe", "cs_test_gone", None, 300),
        ]
    )
    assert ok not in {d.checkout_session_id for d in report.items}
    assert (report.sessions, report.remaining, report.clean) == (10, 10, False)
    by_id = {(d.kind, d.checkout_session_id): d for d in report.items}
    assert by_id["paid_not_credited", missing].fix == "credit 5.00 USD to acct-alice (--fix)"
    assert (
        by_id["unknown_account", stranger].detail == "paid 5.00 USD to unknown account acct-nobody"
    )

    fixed = service.reconcile(utcnow() - WEEK, fix=True)
    actions = {d.kind: (d.fixed, d.action) for d in fixed.items}
    assert actions["paid_not_credited"][0] is True
    assert actions["refund_not_debited"][1].startswith("debited 2.00 (entry ")
    assert actions["dispute_not_debited"][1].startswith("debited 5.00 (entry ")
    assert actions["unknown_account"] == (False, "recorded as needing attention")
    assert (fixed.fixed, fixed.remaining) == (3, 7)
    assert service.balance(ACCOUNT).balance_cents == 500 * 6 - 200 - 500

    again = service.reconcile(utcnow() - WEEK, fix=True)
    assert sorted(again.by_kind) == sorted(
        [
            "credited_not_paid",
            "amount_mismatch",
            "currency_mismatch",
            "livemode_mismatch",
            "unknown_account",
            "pending_too_long",
            "unknown_to_stripe",
        ]
    )
    assert again.fixed == 0
    assert all(d.action is None for d in again.items)
    assert len(entries(service)) == 8


def test_the_cli_reports_fixes_and_then_finds_nothing(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    session_id = one(control, client_reference_id=ACCOUNT)
    runner, env = CliRunner(), settings_env(settings)
    first = runner.invoke(app, ["reconcile", "--since", "1d"], env=env)
    assert first.exit_code == 1, first.output
    line = (
        f"paid_not_credited {session_id} (acct-alice): paid 5.00 USD, not credited; "
        "fix: credit 5.00 USD to acct-alice (--fix)"
    )
    assert line in first.output.splitlines()
    assert "1 difference(s) remain; run with --fix to apply what can be fixed." in first.output

    fixed = runner.invoke(app, ["reconcile", "--since", "1d", "--fix"], env=env)
    assert fixed.exit_code == 0, fixed.output
    assert (
        f"paid_not_credited {session_id} (acct-alice): paid 5.00 USD, not credited; "
        "fixed: credited 5.00 (entry 1)"
    ) in fixed.output.splitlines()
    assert "Nothing to fix (fixed 1)." in fixed.output

    clean = runner.invoke(app, ["reconcile", "--since", "1d", "--json"], env=env)
    assert clean.exit_code == 0, clean.output
    import json

    document = json.loads(clean.output)
    assert document["items"] == []
    assert document["summary"]["sessions"] == 1
    assert document["summary"]["remaining"] == 0


def test_usage_and_stripe_errors_have_their_exit_codes(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    runner, env = CliRunner(), settings_env(settings)
    future = runner.invoke(app, ["reconcile", "--since", "2999-01-01"], env=env)
    assert future.exit_code == 2
    assert "Error: --since: '2999-01-01' is in the future" in future.output
    bad = runner.invoke(app, ["reconcile", "--since", "last tuesday"], env=env)
    assert bad.exit_code == 2
    key = control.create_restricted_key({"checkout_sessions": "none"})
    denied = runner.invoke(
        app, ["reconcile", "--since", "1d"], env={**env, "STRIPE_SECRET_KEY": key}
    )
    assert denied.exit_code == 1
    assert "the API key lacks a permission (HTTP 403" in denied.output
    assert "rak_checkout_session_read" in denied.output


def test_reconcile_racing_live_webhooks_leaves_one_entry_per_session(running: Running) -> None:
    service, control = running.service, running.control
    ids = [service.create_checkout(ACCOUNT, 100 + i).checkout_session_id for i in range(12)]
    stop, errors = threading.Event(), []

    def keep_reconciling() -> None:
        try:
            while not stop.is_set():
                service.reconcile(utcnow() - timedelta(hours=1), fix=True)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=keep_reconciling)
    worker.start()
    try:
        for session_id in ids:
            control.pay(session_id)
        control.wait_idle(timeout=30)
    finally:
        stop.set()
        worker.join()
    assert errors == []
    final = service.reconcile(utcnow() - timedelta(hours=1), fix=True)
    assert (final.remaining, final.fixed) == (0, 0)
    assert entries(service) == sorted(
        (f"checkout_session:{session_id}", 100 + i) for i, session_id in enumerate(ids)
    )
    assert service.balance(ACCOUNT).balance_cents == sum(100 + i for i in range(12))
