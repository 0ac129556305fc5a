"""Auto-recharge rules (issue 15, second part): set, show, pause, resume and off through
the CLI and the spend API, on both databases; no rule without a consented saved card, and
a rule whose card goes away is paused with the reason shown.

The card is saved through the real path (a consenting checkout, paid in the emulator, its
signed webhook delivered to the app on loopback).
"""

from __future__ import annotations

import json
from typing import Any

import stripe

from stripetopup.emulator import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, Running
from tests.support.cards import saved_and_paid
from tests.support.cli import invoker

RULE = ["--below", "5", "--amount", "20", "--monthly-cap", "100"]
PATH = f"/api/v1/accounts/{ACCOUNT}/auto-recharge"


def key_headers(running: Running, idempotency_key: str | None = "k1") -> dict[str, str]:
    _, key = running.service.create_service_key("host-app")
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def test_no_rule_without_a_saved_card_with_consent(running: Running) -> None:
    invoke = invoker(running.service.settings)
    refused = invoke("autorecharge", "set", ACCOUNT, *RULE)
    assert refused.exit_code == 1
    assert "no saved card with consent" in refused.output
    headers = key_headers(running)
    body = {"below_cents": 500, "amount_cents": 2000, "monthly_cap_cents": 10000}
    answer = running.http.put(PATH, json=body, headers=headers)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_saved_card"
    assert running.http.get(PATH, headers=headers).status_code == 404
    shown = invoke("autorecharge", "show", ACCOUNT)
    assert shown.exit_code == 1
    assert "no auto-recharge rule" in shown.output


def test_the_rule_on_the_cli_set_show_pause_resume_off(running: Running) -> None:
    card = saved_and_paid(running)
    invoke = invoker(running.service.settings)
    made = invoke("autorecharge", "set", ACCOUNT, *RULE, "--cooldown", "15m", "--json")
    assert made.exit_code == 0, made.output
    rule = json.loads(made.stdout)
    assert (rule["status"], rule["below_cents"], rule["amount_cents"]) == ("active", 500, 2000)
    assert (rule["monthly_cap_cents"], rule["cooldown_seconds"]) == (10000, 900)
    assert rule["card"]["payment_method_id"] == card["payment_method_id"]
    paused = json.loads(invoke("autorecharge", "pause", ACCOUNT, "--json").stdout)
    assert (paused["status"], paused["paused_reason"]) == ("paused", "paused by an operator")
    resumed = json.loads(invoke("autorecharge", "resume", ACCOUNT, "--json").stdout)
    assert (resumed["status"], resumed["paused_reason"]) == ("active", None)
    shown = invoke("autorecharge", "show", ACCOUNT)
    assert shown.exit_code == 0
    assert "4242" in shown.output
    off = json.loads(invoke("autorecharge", "off", ACCOUNT, "--json").stdout)
    assert off == {"account_id": ACCOUNT, "deleted": True}
    assert invoke("autorecharge", "show", ACCOUNT).exit_code == 1


def test_bad_terms_are_refused_and_write_nothing(running: Running) -> None:
    saved_and_paid(running)
    invoke = invoker(running.service.settings)
    cases: list[list[str]] = [
        ["--below", "5", "--amount", "20", "--up-to", "50", "--monthly-cap", "100"],
        ["--below", "5", "--monthly-cap", "100"],
        ["--below", "5", "--amount", "20", "--monthly-cap", "10"],
        ["--below", "5", "--up-to", "5", "--monthly-cap", "100"],
        ["--below", "0", "--amount", "20", "--monthly-cap", "100"],
        [*RULE, "--cooldown", "soon"],
        [*RULE, "--cooldown", "31d"],
        [*RULE, "--monthly-count", "0"],
        ["--below", "5", "--amount", "20.001", "--monthly-cap", "100"],
    ]
    for args in cases:
        result = invoke("autorecharge", "set", ACCOUNT, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert invoke("autorecharge", "show", ACCOUNT).exit_code == 1


def test_the_rule_over_the_spend_api(running: Running) -> None:
    saved_and_paid(running)
    headers = key_headers(running)
    body: dict[str, Any] = {"below_cents": 500, "up_to_cents": 3000, "monthly_cap_cents": 9000}
    assert running.http.put(PATH, json=body, headers=key_headers(running, None)).status_code == 400
    put = running.http.put(PATH, json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["up_to_cents"] == 3000
    assert put.json()["cooldown_seconds"] == 600
    assert running.http.get(PATH, headers=headers).json()["status"] == "active"
    bad = running.http.put(PATH, json={**body, "below_cents": "5"}, headers=headers)
    assert bad.status_code == 400
    gone = running.http.delete(PATH, headers=headers)
    assert gone.json() == {"account_id": ACCOUNT, "deleted": True}
    assert running.http.get(PATH, headers=headers).status_code == 404


def test_removing_or_losing_the_card_pauses_the_rule_with_the_reason(
    running: Running, emulator: EmulatorServer
) -> None:
    card = saved_and_paid(running)
    invoke = invoker(running.service.settings)
    assert invoke("autorecharge", "set", ACCOUNT, *RULE).exit_code == 0
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    client.v1.payment_methods.detach(card["payment_method_id"])
    running.control.wait_idle(timeout=30)
    rule = running.service.auto_recharge(ACCOUNT)
    assert rule.status == "paused"
    assert rule.paused_reason == "saved card: payment_method.detached in Stripe"
    assert rule.card is None
    resumed = invoke("autorecharge", "resume", ACCOUNT)
    assert resumed.exit_code == 1  # no card to charge: stays paused
    assert running.service.auto_recharge(ACCOUNT).status == "paused"
