"""``ledger show`` is documented, ``ledger --help`` lists its options, and
``events show --payload --json`` embeds the payload as JSON."""

from __future__ import annotations

import json

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, NEW_SECRET
from tests.support.cli import invoker
from tests.support.stripe_events import body, checkout_session, event, sign


def test_ledger_help_lists_show_and_the_options_of_ledger_account(
    settings: Settings, service: TopUpService
) -> None:
    result = invoker(settings)("ledger", "--help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "  show    List an account's ledger entries, newest first." in lines
    assert "Options of ledger ACCOUNT (same as ledger show):" in lines
    listed = "\n".join(lines[lines.index("Options of ledger ACCOUNT (same as ledger show):") :])
    assert "--limit" in listed
    assert "--json" in listed


def test_ledger_show_is_the_same_command_as_ledger_account(
    settings: Settings, service: TopUpService
) -> None:
    service.credit(ACCOUNT, 500, reason="welcome")
    invoke = invoker(settings)
    shown = invoke("ledger", "show", ACCOUNT, "--json")
    assert shown.exit_code == 0
    assert shown.stdout == invoke("ledger", ACCOUNT, "--json").stdout
    assert [e["amount_cents"] for e in json.loads(shown.stdout)] == [500]


def test_events_show_payload_json_embeds_the_payload_as_an_object(
    settings: Settings, service: TopUpService
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 700))
    payload = body(evt)
    assert service.handle_webhook(payload, sign(payload, NEW_SECRET)).result == "credited"
    result = invoker(settings)("events", "show", evt["id"], "--payload", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["payload"] == evt
    assert shown["event_id"] == evt["id"]


def test_events_show_json_without_payload_leaves_it_out(
    settings: Settings, service: TopUpService
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 700))
    payload = body(evt)
    service.handle_webhook(payload, sign(payload, NEW_SECRET))
    result = invoker(settings)("events", "show", evt["id"], "--json")
    assert result.exit_code == 0
    assert "payload" not in json.loads(result.stdout)
