"""``stripetopup events``: the local event log, listed and shown, on both databases."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, settings_env


def test_events_lists_filters_and_shows_the_log(
    settings: Settings, service: TopUpService, control: EmulatorControl
) -> None:
    control.seed(count=1, client_reference_id=ACCOUNT, emit_events=True)
    listed = service.ctx.stripe.client.v1.events.list(params={"limit": 100})
    ids = {e.type: e.id for e in listed.auto_paging_iter()}
    completed = ids["checkout.session.completed"]
    service.replay(completed)
    service.replay(ids["payment_intent.succeeded"])
    runner, env = CliRunner(), settings_env(settings)

    everything = runner.invoke(app, ["events", "--json"], env=env)
    assert everything.exit_code == 0, everything.output
    assert {(e["event_id"], e["outcome"]) for e in json.loads(everything.output)} == {
        (completed, "credited"),
        (ids["payment_intent.succeeded"], "ignored"),
    }
    only = runner.invoke(
        app, ["events", "list", "--type", "checkout.session.completed", "--json"], env=env
    )
    assert [e["event_id"] for e in json.loads(only.output)] == [completed]
    failed = runner.invoke(app, ["events", "--failed", "--since", "1d", "--json"], env=env)
    assert json.loads(failed.output) == []
    table = runner.invoke(app, ["events"], env=env)
    assert table.exit_code == 0
    assert "credited" in table.output

    shown = runner.invoke(app, ["events", "show", completed], env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[:6] == [
        f"event: {completed}",
        "type: checkout.session.completed",
        "outcome: credited",
        "error: -",
        "attempts: 0",  # fetched by replay: not a delivery attempt of Stripe's
        "replays: 1",
    ]
    missing = runner.invoke(app, ["events", "show", "evt_missing"], env=env)
    assert missing.exit_code == 1
    assert missing.output == "Error: no event evt_missing in the local log\n"
