"""replay against the emulator, on both databases: every event type twice, dry runs, events
Stripe no longer has, and a failed event replayed once its cause is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from stripetopup.errors import ProcessingError
from tests.conftest import ACCOUNT, settings_env

GONE = "events are kept for 30 days. Use `stripetopup reconcile --since DATE --fix`"


def stripe_events(service: TopUpService) -> list[dict[str, Any]]:
    """Every event the emulator has, oldest first."""
    listed = service.ctx.stripe.client.v1.events.list(params={"limit": 100})
    return [e.to_dict() for e in reversed(list(listed.auto_paging_iter()))]


def ledger(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, amount_cents FROM ledger_entries"))
        return sorted((str(s), int(a)) for s, a in rows)


@contextmanager
def failing_ledger(service: TopUpService) -> Iterator[None]:
    """A real trigger that makes every INSERT into ledger_entries fail."""
    postgres = service.engine.dialect.name == "postgresql"
    create = (
        [
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ "
            "LANGUAGE plpgsql",
            "CREATE TRIGGER boom BEFORE INSERT ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION boom()",
        ]
        if postgres
        else [
            "CREATE TRIGGER boom BEFORE INSERT ON ledger_entries "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        ]
    )
    drop = (
        ["DROP TRIGGER boom ON ledger_entries", "DROP FUNCTION boom()"]
        if postgres
        else ["DROP TRIGGER boom"]
    )
    with service.engine.begin() as connection:
        for statement in create:
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with service.engine.begin() as connection:
            for statement in drop:
                connection.exec_driver_sql(statement)


def test_replaying_every_event_type_twice_moves_money_once(
    service: TopUpService, control: EmulatorControl
) -> None:
    paid = control.seed(count=1, client_reference_id=ACCOUNT, emit_events=True)["ids"][0]
    delayed = control.seed(
        count=1, state="unpaid", client_reference_id=ACCOUNT, amount=900, emit_events=True
    )["ids"][0]
    control.async_succeed(delayed)
    control.seed(count=1, state="async_failed", client_reference_id=ACCOUNT, emit_events=True)
    control.seed(count=1, state="expired", client_reference_id=ACCOUNT, emit_events=True)
    events = stripe_events(service)
    types = {e["type"] for e in events}
    assert {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "payment_intent.succeeded",
    } <= types

    first = [service.replay(e["id"]) for e in events]
    second = [service.replay(e["id"]) for e in events]

    credited = {o.event_type: o.result for o in first if o.result == "credited"}
    assert credited == {
        "checkout.session.completed": "credited",
        "checkout.session.async_payment_succeeded": "credited",
    }
    assert "credited" not in {o.result for o in second}
    assert {o.result for o in second if o.event_id in {e["id"] for e in events}} <= {
        "already_applied",
        "ignored",
        "recorded",
    }
    # A Checkout payment's PaymentIntent: credited by its session, ignored here (only an
    # auto-recharge charge is credited from payment_intent.succeeded).
    unhandled = [o for o in first if o.event_type == "payment_intent.succeeded"]
    assert unhandled[0].result == "ignored"
    assert unhandled[0].detail.startswith("not an auto-recharge charge")
    assert ledger(service) == sorted(
        [(f"checkout_session:{paid}", 500), (f"checkout_session:{delayed}", 900)]
    )
    assert service.balance(ACCOUNT).balance_cents == 1400


def test_a_dry_run_says_what_would_happen_and_writes_nothing(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    control.seed(count=1, client_reference_id=ACCOUNT, emit_events=True)
    [event] = [e for e in stripe_events(service) if e["type"] == "checkout.session.completed"]
    result = CliRunner().invoke(
        app, ["replay", event["id"], "--dry-run"], env=settings_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{event['id']} checkout.session.completed: dry run: would be credited "
        "(credited 500 to acct-alice)"
    ]
    assert ledger(service) == []
    assert service.events() == []


def test_an_event_stripe_no_longer_has_points_to_reconcile(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    control.seed(count=1, client_reference_id=ACCOUNT, emit_events=True)
    [event] = [e for e in stripe_events(service) if e["type"] == "checkout.session.completed"]
    runner, env = CliRunner(), settings_env(settings)
    missing = runner.invoke(app, ["replay", "evt_doesnotexist"], env=env)
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: Stripe has no event evt_doesnotexist: " + GONE)
    control.advance_clock(31 * 24 * 3600)
    old = runner.invoke(app, ["replay", event["id"]], env=env)
    assert old.exit_code == 1
    assert f"Error: Stripe has no event {event['id']}: {GONE}" in old.output
    usage = runner.invoke(app, ["replay"], env=env)
    assert usage.exit_code == 2


def test_a_failed_event_is_replayed_once_the_cause_is_gone(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    session_id = control.seed(count=1, client_reference_id=ACCOUNT, emit_events=True)["ids"][0]
    [event] = [e for e in stripe_events(service) if e["type"] == "checkout.session.completed"]
    runner, env = CliRunner(), settings_env(settings)
    with failing_ledger(service):
        with pytest.raises(ProcessingError):
            service.apply_event(event, actor="webhook")
        still = runner.invoke(app, ["replay", "--failed"], env=env)
        assert still.exit_code == 1, still.output
        assert f"{event['id']} checkout.session.completed: failed (" in still.output
        assert "Replayed 1 failed event(s); 1 still failing." in still.output
    assert [e.event_id for e in service.events(failed_only=True)] == [event["id"]]

    fixed = runner.invoke(app, ["replay", "--failed"], env=env)
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.splitlines() == [
        f"{event['id']} checkout.session.completed: credited (credited 500 to acct-alice)",
        "Replayed 1 failed event(s); 0 still failing.",
    ]
    assert ledger(service) == [(f"checkout_session:{session_id}", 500)]
    assert service.events(failed_only=True) == []
    again = runner.invoke(app, ["replay", event["id"], "--json"], env=env)
    assert again.exit_code == 0
    assert '"result": "already_applied"' in again.output
