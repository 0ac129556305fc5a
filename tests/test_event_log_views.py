"""What the event log shows an operator: doctor's self-test pings stay out of `events` unless
asked for, and `replay` is counted apart from Stripe's delivery attempts; on both databases.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from stripetopup.cli.main import app
from tests.conftest import ACCOUNT, Running, settings_env
from tests.support.ledger import paid_session


def events_cli(running: Running, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["events", *args], env=settings_env(running.service.settings))


def test_doctor_pings_are_hidden_from_events_unless_asked_for(running: Running) -> None:
    paid_session(running.control, ACCOUNT, 500)
    running.control.wait_idle()
    report = running.service.doctor(url=running.url + "/billing/webhook")
    assert report.by_name("webhook self-test").status == "ok"
    stripes = {e.event_id for e in running.service.events()}
    assert stripes
    assert not any(e.startswith("evt_doctor_") for e in stripes)
    [ping] = {e.event_id for e in running.service.events(include_doctor=True)} - stripes
    assert ping.startswith("evt_doctor_")

    listed = events_cli(running, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert {e["event_id"] for e in json.loads(listed.stdout)} == stripes
    table = events_cli(running, "list")
    assert table.exit_code == 0
    assert "evt_doctor_" not in table.stdout
    everything = events_cli(running, "list", "--all", "--json")
    assert {e["event_id"] for e in json.loads(everything.stdout)} == stripes | {ping}
    by_type = events_cli(running, "--type", "stripetopup.doctor.ping", "--json")
    assert [e["event_id"] for e in json.loads(by_type.stdout)] == [ping]


def test_a_replay_is_counted_apart_from_delivery_attempts(running: Running) -> None:
    paid_session(running.control, ACCOUNT, 500)
    running.control.wait_idle()
    [delivered] = running.service.events(event_type="checkout.session.completed")
    assert (delivered.attempts, delivered.replays) == (1, 0)
    assert running.service.replay(delivered.event_id).result == "already_applied"
    running.service.replay(delivered.event_id)
    shown = events_cli(running, "show", delivered.event_id)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[2:6] == ["outcome: credited", "error: -", "attempts: 1", "replays: 2"]
    [as_json] = json.loads(events_cli(running, "--type", delivered.type, "--json").stdout)
    assert (as_json["attempts"], as_json["replays"]) == (1, 2)
