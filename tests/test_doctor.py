"""``stripetopup doctor``: a healthy setup, and each failure it detects, over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.core.doctor.local import rotation_checks
from stripetopup.core.doctor.types import DoctorReport
from stripetopup.emulator import EmulatorControl
from stripetopup.web.app import create_app
from tests.conftest import (
    ACCOUNT,
    API_KEY,
    NEW_SECRET,
    OLD_SECRET,
    Running,
    make_settings,
    settings_env,
)
from tests.support.proxies import reencoding_proxy, slash_redirect_proxy
from tests.support.servers import free_port, serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign
from tests.test_webhook import _drop_failing_trigger, _install_failing_trigger

OTHER_SECRET = "whsec_other_" + "c" * 24
ALL_PERMISSIONS = {
    "checkout_sessions": "write",
    "events": "read",
    "webhook_endpoints": "read",
    "refunds": "read",
    "payment_intents": "read",
    "charges": "read",
    "disputes": "read",
}


def doctor(settings: Settings, *args: str) -> Result:
    from stripetopup.cli.main import app

    return CliRunner().invoke(app, ["doctor", *args], env=settings_env(settings))


def report_for(settings: Settings, url: str | None) -> DoctorReport:
    service = TopUpService.from_settings(settings)
    try:
        return service.doctor(url=url)
    finally:
        service.close()


def webhook_url(base: str) -> str:
    return base + "/billing/webhook"


@contextmanager
def other_server(settings: Settings) -> Iterator[str]:
    service = TopUpService.from_settings(settings)
    try:
        with serve_in_thread(create_app(service)) as url:
            yield url
    finally:
        service.close()


def assert_no_secret(text: str) -> None:
    for secret in (API_KEY, OLD_SECRET, NEW_SECRET, OTHER_SECRET):
        assert secret not in text
    assert not re.search(r"(whsec|sk_test|rk_test)_[A-Za-z0-9]{4}", text)


# A healthy setup --------------------------------------------------------------------------


def test_a_healthy_setup_is_all_ok_and_exits_0(running: Running, settings: Settings) -> None:
    url = webhook_url(running.url)
    result = doctor(settings, "--url", url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line.startswith("ok  ") for line in lines[:-1]), result.output
    assert lines[-1] == "doctor: 13 ok, 0 warn, 0 fail"
    assert "ok    stripe key                test-mode secret key (sk_), API at " in lines[0]
    assert "ok    webhook secrets           2 secrets (labels: old, new)" in lines
    assert f"ok    database schema           at {schema.HEAD_REVISION}" in lines
    assert "ok    secret 'old'              never matched an event" in lines
    permissions = "ok    stripe permissions        every call stripetopup makes is allowed"
    assert permissions + " (9 probed)" in lines
    assert (
        f"ok    stripe webhook endpoints  {running.endpoint_id} sends every event" in result.output
    )
    assert_no_secret(result.output)


def test_the_test_event_is_recorded_as_ignored_and_json_is_the_only_output(
    running: Running, settings: Settings
) -> None:
    result = doctor(settings, "--url", webhook_url(running.url), "--json")
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["ok"] is True
    statuses = {check["name"]: check["status"] for check in answer["checks"]}
    assert set(statuses.values()) == {"ok"}
    assert set(answer["checks"][0]) == {"name", "status", "message", "fix"}
    (ping,) = running.service.events(event_type="stripetopup.doctor.ping")
    assert ping.outcome == "ignored"
    assert ping.event_id.startswith("evt_doctor_")
    assert running.service.balance(ACCOUNT).balance_cents == 0


# The webhook path -------------------------------------------------------------------------


def test_a_server_with_other_secrets_fails_the_self_test(
    running: Running, settings: Settings
) -> None:
    other = make_settings(
        settings.database_url,
        settings.stripe_api_base or "",
        stripe_webhook_secret=SecretStr(f"other:{OTHER_SECRET}"),
    )
    with other_server(other) as url:
        result = doctor(settings, "--url", webhook_url(url))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "webhook self-test" in line)
    assert line == (
        f"fail  webhook self-test         the signature no longer verifies at "
        f"{webhook_url(url)}: the server has other webhook secrets than these settings, "
        "or something in front of it alters the body"
    )
    assert result.output.splitlines()[-1] == "doctor: 11 ok, 1 warn, 1 fail"
    assert_no_secret(result.output)


def test_settings_with_other_secrets_than_the_server_fail_the_self_test(
    running: Running, settings: Settings
) -> None:
    mine = settings.model_copy(
        update={"stripe_webhook_secret": SecretStr("whsec_mine_" + "d" * 24)}
    )
    check = report_for(mine, webhook_url(running.url)).by_name("webhook self-test")
    assert check.status == "fail"
    assert "the server has other webhook secrets than these settings" in check.message


def test_a_proxy_that_reencodes_json_breaks_the_signature(
    running: Running, settings: Settings
) -> None:
    with serve_in_thread(reencoding_proxy(running.url)) as proxy:
        report = report_for(settings, webhook_url(proxy))
    check = report.by_name("webhook self-test")
    assert check.status == "fail"
    assert check.message == (
        f"the signature no longer verifies at {webhook_url(proxy)} when the body is sent as "
        "JSON: something in front of the app (proxy, middleware) re-encodes JSON bodies"
    )
    assert "byte for byte" in (check.fix or "")
    assert not report.ok


def test_a_proxy_that_redirects_to_a_trailing_slash_fails_naming_the_location(
    running: Running, settings: Settings
) -> None:
    with serve_in_thread(slash_redirect_proxy(running.url)) as proxy:
        result = doctor(settings, "--url", webhook_url(proxy))
        followed = report_for(settings, webhook_url(proxy) + "/")
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "webhook self-test" in line)
    assert line == (
        f"fail  webhook self-test         {webhook_url(proxy)} answered 307 redirecting to "
        f"{webhook_url(proxy)}/: Stripe does not follow redirects, so every delivery fails"
    )
    assert followed.by_name("webhook self-test").status == "ok"


def test_nothing_listening_at_the_url_fails(settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/billing/webhook"
    check = report_for(settings, url).by_name("webhook self-test")
    assert (check.status, check.message) == (
        "fail",
        f"nothing is listening at {url} (connection refused)",
    )


# Stripe: key permissions and endpoints -----------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "level", "permission", "what"),
    [
        ("checkout_sessions", "read", "rak_checkout_session_write", "create checkout sessions"),
        ("refunds", "none", "rak_refund_read", "list refunds"),
        ("events", "none", "rak_event_read", "read events (replay)"),
    ],
)
def test_a_restricted_key_missing_a_permission_fails_naming_it(
    running: Running,
    settings: Settings,
    control: EmulatorControl,
    resource: str,
    level: str,
    permission: str,
    what: str,
) -> None:
    key = control.create_restricted_key({**ALL_PERMISSIONS, resource: level})
    restricted = settings.model_copy(update={"stripe_secret_key": SecretStr(key)})
    result = doctor(restricted, "--url", webhook_url(running.url))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "ok    stripe key                test-mode restricted key (rk_), API at " in lines[0]
    assert (
        "fail  stripe permissions        the key lacks 1 permission(s) stripetopup needs: "
        f"{permission} ({what})"
    ) in lines
    assert key not in result.output
    assert_no_secret(result.output)


def test_a_key_that_may_not_read_endpoints_is_only_a_warning(
    running: Running, settings: Settings, control: EmulatorControl
) -> None:
    key = control.create_restricted_key({**ALL_PERMISSIONS, "webhook_endpoints": "none"})
    restricted = settings.model_copy(update={"stripe_secret_key": SecretStr(key)})
    report = report_for(restricted, webhook_url(running.url))
    check = report.by_name("stripe permissions")
    assert check.status == "warn"
    assert "rak_webhook_read" in check.message
    assert "stripe webhook endpoints" not in [c.name for c in report.checks]
    assert report.ok


def test_a_registered_endpoint_missing_an_event_type_fails_naming_it(
    running: Running, settings: Settings, control: EmulatorControl
) -> None:
    control.update_webhook_endpoint(
        running.endpoint_id, enabled_events=["checkout.session.completed"]
    )
    check = report_for(settings, webhook_url(running.url)).by_name("stripe webhook endpoints")
    assert check.status == "fail"
    prefix = f"{running.endpoint_id} ({webhook_url(running.url)}) does not send "
    assert check.message.startswith(prefix)
    missing = check.message.removeprefix(prefix).split(", ")
    assert "checkout.session.async_payment_succeeded" in missing
    assert "checkout.session.completed" not in missing


def test_no_endpoint_for_the_url_is_a_warning(running: Running, settings: Settings) -> None:
    report = report_for(settings, webhook_url(running.url) + "/")
    check = report.by_name("stripe webhook endpoints")
    assert check.status == "warn"
    assert check.message == (
        f"no registered endpoint has the URL {webhook_url(running.url)}/ "
        f"(registered: {webhook_url(running.url)})"
    )


# The event log ----------------------------------------------------------------------------


def deliver(running: Running, evt: dict[str, Any], secret: str = NEW_SECRET) -> int:
    payload = body(evt)
    headers = {"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"}
    return running.http.post("/billing/webhook", content=payload, headers=headers).status_code


def test_a_failure_streak_fails_and_doctor_pings_do_not_break_it(
    running: Running, settings: Settings
) -> None:
    _install_failing_trigger(running)
    try:
        for _ in range(3):
            paid = event("checkout.session.completed", checkout_session(ACCOUNT, 700))
            assert deliver(running, paid) == 500
    finally:
        _drop_failing_trigger(running)
    url = webhook_url(running.url)
    for _ in range(2):  # the second run sees the first run's ping in the log
        result = doctor(settings, "--url", url)
        assert result.exit_code == 1
        assert (
            "fail  event failures            3 most recent event(s) failed in a row; "
            "3 failed in the last 24 h: Stripe disables endpoints that keep failing"
        ) in result.output.splitlines()
        assert "fix: see `stripetopup events --failed` for the errors" in result.output


def test_one_recent_failure_is_a_warning(running: Running, settings: Settings) -> None:
    _install_failing_trigger(running)
    try:
        assert (
            deliver(running, event("checkout.session.completed", checkout_session(ACCOUNT))) == 500
        )
    finally:
        _drop_failing_trigger(running)
    assert deliver(running, event("checkout.session.expired", checkout_session(ACCOUNT))) == 200
    check = report_for(settings, webhook_url(running.url)).by_name("event failures")
    assert (check.status, check.message) == (
        "warn",
        "0 most recent event(s) failed in a row; 1 failed in the last 24 h",
    )


def test_a_labelled_secret_that_no_longer_matches_is_a_warning(
    running: Running, settings: Settings, control: EmulatorControl
) -> None:
    session = running.service.create_checkout(ACCOUNT, 500, origin="https://app.example.com")
    control.pay(session.checkout_session_id)  # the emulator signs with NEW_SECRET only
    control.wait_idle()
    result = doctor(settings, "--url", webhook_url(running.url))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert (
        "warn  secret 'old'              never matched an event; 'new' matched in the last "
        "7 days: it can probably be removed"
    ) in lines
    assert any(
        line.startswith("ok    secret 'new'              last matched an event at ")
        for line in lines
    )
    assert (
        "fix: remove 'old:whsec_...' from STRIPE_WEBHOOK_SECRET and restart the server"
        in result.output
    )


def test_a_newest_secret_that_never_matched_may_not_be_in_use_yet() -> None:
    now = datetime(2030, 1, 10, tzinfo=UTC)
    checks = rotation_checks(["old", "new"], {"old": now - timedelta(hours=1)}, now)
    assert [c.status for c in checks] == ["ok", "warn"]
    assert "Stripe may not be signing with this (newest) secret yet" in checks[1].message


def test_a_secret_unused_for_a_week_while_another_is_used_is_a_warning() -> None:
    now = datetime(2030, 1, 10, tzinfo=UTC)
    last = {"old": now - timedelta(days=8), "new": now - timedelta(minutes=5)}
    checks = rotation_checks(["old", "new"], last, now)
    assert [c.status for c in checks] == ["warn", "ok"]
    assert checks[0].message == (
        "last matched an event at 2030-01-02 00:00 UTC; 'new' matched in the last 7 days: "
        "it can probably be removed"
    )
    quiet = rotation_checks(["old", "new"], {"old": now - timedelta(days=30)}, now)
    assert [c.status for c in quiet] == ["ok", "ok"]


# The database and the settings -------------------------------------------------------------


def test_a_ledger_balance_that_differs_from_its_entries_fails(
    service: TopUpService, settings: Settings
) -> None:
    service.credit(ACCOUNT, 500, reason="bonus")
    with service.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE accounts SET balance_cents = 900")
    check = report_for(settings, None).by_name("ledger balances")
    assert (check.status, check.message) == (
        "fail",
        f"1 account(s) differ from their entries: {ACCOUNT}: balance 900, entries sum 500",
    )


def test_an_unmigrated_database_fails_and_skips_the_log_checks(
    tmp_path: Any, emulator: Any
) -> None:
    (tmp_path / "empty.db").touch()  # exists, but nothing in it
    settings = make_settings(f"sqlite:///{tmp_path}/empty.db", emulator.url)
    result = doctor(settings, "--url", f"http://127.0.0.1:{free_port()}/billing/webhook")
    assert result.exit_code == 1
    assert (
        "fail  database schema           schema is at an empty database, this version needs "
        f"{schema.HEAD_REVISION}"
    ) in result.output.splitlines()
    assert "fix: run `stripetopup db upgrade`" in result.output
    assert "event failures" not in result.output


def test_missing_origins_warn_and_the_default_url_only_warns_when_nothing_listens(
    settings: Settings,
) -> None:
    bare = settings.model_copy(update={"allowed_frontend_origins": []})
    report = report_for(bare, None)
    assert report.by_name("allowed origins").status == "warn"
    self_test = report.by_name("webhook self-test")
    if "nothing is listening" in self_test.message:
        assert self_test.status == "warn"


def test_an_invalid_setting_is_a_failed_check_and_the_other_checks_still_run(
    settings: Settings, service: TopUpService
) -> None:
    from stripetopup.cli.main import app

    env = {
        **settings_env(settings),
        "STRIPE_WEBHOOK_SECRET": "not-a-secret",
        "STRIPETOPUP_MAX_AMOUNT_CENTS": "10",
    }
    url = f"http://127.0.0.1:{free_port()}/billing/webhook"
    result = CliRunner().invoke(app, ["doctor", "--url", url, "--json"], env=env)
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert (checks["webhook secrets"]["status"], checks["webhook secrets"]["message"]) == (
        "fail",
        "STRIPE_WEBHOOK_SECRET is invalid: each webhook secret must start with whsec_ "
        "(label:whsec_... allowed)",
    )
    assert checks["STRIPETOPUP_MAX_AMOUNT_CENTS"]["message"] == (
        "STRIPETOPUP_MAX_AMOUNT_CENTS is invalid: Input should be greater than or equal to 50"
    )
    assert checks["database"]["status"] == "ok"
    assert checks["stripe permissions"]["status"] == "ok"
    human = CliRunner().invoke(app, ["doctor", "--url", url], env=env)
    assert human.exit_code == 1
    assert "not-a-secret" not in human.output + result.output


def test_a_url_that_is_not_http_is_a_usage_error(settings: Settings) -> None:
    result = doctor(settings, "--url", "example.com/billing/webhook")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --url must be an http(s) URL, like https://example.com/billing/webhook\n"
    )


def test_the_fix_for_missing_permissions_lists_what_to_grant(
    settings: Settings, control: EmulatorControl
) -> None:
    key = control.create_restricted_key({**ALL_PERMISSIONS, "refunds": "none", "disputes": "none"})
    restricted = settings.model_copy(update={"stripe_secret_key": SecretStr(key)})
    check = report_for(restricted, None).by_name("stripe permissions")
    assert check.fix == (
        "in the Stripe dashboard (Developers > API keys) edit the restricted key and grant "
        "rak_refund_read, rak_dispute_read"
    )
