"""Prometheus metrics: off unless a token is set, token-only, counts that are right, figures
read from the database, and one scrape summing every ``serve --workers 2`` process.

In-process servers share this process's counters across tests, so those tests compare a
scrape before and after; the ``serve`` test starts from a fresh directory and compares totals.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.dates import utcnow
from stripetopup.emulator import EmulatorControl, EmulatorServer
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, make_settings, settings_env
from tests.support.servers import cli_env, free_port, run_cli, serve_in_thread, serve_process
from tests.support.stripe_events import body, checkout_session, event, sign
from tests.test_webhook import _drop_failing_trigger, _install_failing_trigger

TOKEN = "metrics-token-" + "m" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECONCILE_TEXTFILE = ("last_differences", "last_remaining", "last_run_timestamp_seconds")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: Samples, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


class Metered:
    """The app with metrics on, on loopback."""

    def __init__(self, url: str, service: TopUpService, http: httpx.Client) -> None:
        self.url, self.service, self.http = url, service, http

    def scrape(self) -> Samples:
        response = self.http.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return samples(response.text)

    def deliver(self, payload: bytes, secret: str = NEW_SECRET) -> int:
        headers = {"Stripe-Signature": sign(payload, secret)}
        return self.http.post("/billing/webhook", content=payload, headers=headers).status_code


@pytest.fixture
def metered(database_url: str, emulator: EmulatorServer) -> Iterator[Metered]:
    settings = make_settings(database_url, emulator.url, metrics_token=SecretStr(TOKEN))
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield Metered(url, service, http)
    service.close()


def test_metrics_are_not_served_when_no_token_is_set(running_http: httpx.Client) -> None:
    response = running_http.get("/metrics", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.fixture
def running_http(service: TopUpService) -> Iterator[httpx.Client]:
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}],
    ids=["none", "wrong", "not bearer"],
)
def test_metrics_without_the_token_are_401_and_show_nothing(
    metered: Metered, headers: dict[str, str]
) -> None:
    response = metered.http.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"] == ("the metrics token is missing or wrong (Authorization: Bearer ...)")
    assert "stripetopup_" not in response.text
    assert TOKEN not in response.text


def test_a_token_shorter_than_sixteen_characters_is_refused_at_start() -> None:
    from stripetopup.config import load_settings
    from stripetopup.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        load_settings(metrics_token="short")
    assert refused.value.message == (
        "invalid configuration: STRIPETOPUP_METRICS_TOKEN: "
        "must be at least 16 characters (a long random string)"
    )
    assert load_settings(metrics_token="").metrics_token is None
    assert load_settings(reconcile_metrics_file="").reconcile_metrics_file is None


def test_webhook_deliveries_are_counted_by_event_type_and_outcome(metered: Metered) -> None:
    name = "stripetopup_webhook_deliveries_total"
    completed = "checkout.session.completed"
    before = metered.scrape()
    paid = body(event(completed, checkout_session(ACCOUNT, 500)))
    assert metered.deliver(paid) == 200
    assert metered.deliver(paid) == 200  # the duplicate
    assert metered.deliver(body(event("customer.created", {"id": "cus_1"}))) == 200
    assert metered.deliver(paid, secret="whsec_forged_" + "f" * 20) == 400
    after = metered.scrape()

    def grew(event_type: str, outcome: str) -> float:
        labels = {"event_type": event_type, "outcome": outcome}
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(completed, "credited") == 1
    assert grew(completed, "already_applied") == 1
    assert grew("customer.created", "ignored") == 1
    assert grew("unverified", "refused") == 1
    latency = "stripetopup_webhook_duration_seconds_count"
    for outcome, count in (("credited", 1), ("already_applied", 1), ("refused", 1)):
        timed = value(after, latency, outcome=outcome) - value(before, latency, outcome=outcome)
        assert timed == count


def test_ledger_totals_and_payments_by_state_are_read_from_the_database(
    metered: Metered,
) -> None:
    service = metered.service
    service.open_account("acct-bob")
    service.credit(ACCOUNT, 1000, reason="welcome", idempotency_key="welcome-a")
    service.debit(ACCOUNT, 250, reason="used", idempotency_key="used-a")
    assert (
        metered.deliver(body(event("checkout.session.completed", checkout_session(ACCOUNT, 500))))
        == 200
    )
    stray = checkout_session("acct-nobody", 700)
    assert metered.deliver(body(event("checkout.session.completed", stray))) == 200
    scrape = metered.scrape()
    assert value(scrape, "stripetopup_accounts") == 2
    assert value(scrape, "stripetopup_balance_cents") == 1000 - 250 + 500
    kinds = {
        labels[0][1]: count
        for (name, labels), count in scrape.items()
        if name == "stripetopup_ledger_entries"
    }
    assert sum(kinds.values()) == 3
    assert (
        sum(
            cents
            for (name, _), cents in scrape.items()
            if name == "stripetopup_ledger_entries_cents"
        )
        == 1250
    )
    assert value(scrape, "stripetopup_payments", state="credited") == 1
    assert value(scrape, "stripetopup_payments", state="attention") == 1
    assert value(scrape, "stripetopup_payments_cents", state="attention") == 700


def test_webhook_failures_in_a_row_are_the_event_logs_streak(metered: Metered) -> None:
    name = "stripetopup_webhook_failures_in_a_row"
    assert value(metered.scrape(), name) == 0
    _install_failing_trigger(metered)  # type: ignore[arg-type]
    try:
        for amount in (100, 200):
            payload = body(event("checkout.session.completed", checkout_session(ACCOUNT, amount)))
            assert metered.deliver(payload) == 500
        assert value(metered.scrape(), name) == 2
    finally:
        _drop_failing_trigger(metered)  # type: ignore[arg-type]
    assert (
        metered.deliver(body(event("checkout.session.completed", checkout_session(ACCOUNT, 300))))
        == 200
    )
    assert value(metered.scrape(), name) == 0


def test_spend_api_answers_are_counted_by_route_template_and_status(metered: Metered) -> None:
    name = "stripetopup_spend_api_responses_total"
    key = metered.service.create_service_key("billing")[1]
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"}
    balance = "/api/v1/accounts/{account_id}/balance"
    debits = "/api/v1/accounts/{account_id}/debits"
    before = metered.scrape()
    assert (
        metered.http.get(f"/api/v1/accounts/{ACCOUNT}/balance", headers=headers).status_code == 200
    )
    assert (
        metered.http.get("/api/v1/accounts/acct-ghost/balance", headers=headers).status_code == 404
    )
    debit = metered.http.post(
        f"/api/v1/accounts/{ACCOUNT}/debits", json={"amount_cents": 5}, headers=headers
    )
    assert debit.status_code == 402
    assert metered.http.get("/api/v1/no-such-thing", headers=headers).status_code == 404
    after = metered.scrape()

    def grew(method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("GET", balance, "200") == 1
    assert grew("GET", balance, "404") == 1
    assert grew("POST", debits, "402") == 1
    assert grew("GET", "unmatched", "404") == 1
    assert not any(ACCOUNT in str(labels) for (_, labels) in after)  # templates, not paths


def test_each_rate_limit_refusal_is_counted_by_its_limit(
    database_url: str, emulator: EmulatorServer
) -> None:
    settings = make_settings(
        database_url,
        emulator.url,
        metrics_token=SecretStr(TOKEN),
        rate_limit_forged_signatures="2/hour",  # an hour: however slow the machine, one window
    )
    service = TopUpService.from_settings(settings)
    try:
        with (
            serve_in_thread(create_app(service)) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            metered = Metered(url, service, http)
            name = "stripetopup_rate_limited_total"
            before = value(metered.scrape(), name, limit="forged-signatures")
            forged = json.dumps({"id": "evt_forged", "type": "charge.refunded"}).encode()
            answers = [metered.deliver(forged, secret="whsec_wrong_" + "c" * 24) for _ in range(4)]
            assert answers == [400, 400, 429, 429]
            assert value(metered.scrape(), name, limit="forged-signatures") - before == 2
    finally:
        service.close()


def test_reconcile_writes_its_last_differences_for_the_textfile_collector(
    settings: Settings, control: EmulatorControl, tmp_path: Path
) -> None:
    (tmp_path / "textfile").mkdir()
    textfile = tmp_path / "textfile" / "stripetopup.prom"
    service = TopUpService.from_settings(
        settings.model_copy(update={"reconcile_metrics_file": textfile})
    )
    try:
        service.open_account(ACCOUNT)
        control.seed(count=2, client_reference_id=ACCOUNT)
        report = service.reconcile(utcnow() - timedelta(days=7))
    finally:
        service.close()
    assert report.by_kind == {"paid_not_credited": 2}
    written = samples(textfile.read_text())
    name = "stripetopup_reconcile_last_differences"
    assert value(written, name, kind="paid_not_credited") == 2
    assert value(written, name, kind="amount_mismatch") == 0
    assert (name, (("kind", "amount_mismatch"),)) in written  # every kind, zeros included
    assert value(written, "stripetopup_reconcile_last_remaining") == 2
    assert value(written, "stripetopup_reconcile_last_run_timestamp_seconds") > 0
    assert list(textfile.parent.iterdir()) == [textfile]  # written atomically: no temporary left


def test_every_metric_the_readme_names_is_exported(metered: Metered) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Monitoring") :]
    section = section[: section.index("\n## ")]
    named = set(re.findall(r"\bstripetopup_[a-z_]+\b", section))
    response = metered.http.get("/metrics", headers=AUTH)
    exported = {"stripetopup_reconcile_" + n for n in RECONCILE_TEXTFILE}
    for family in text_string_to_metric_families(response.text):
        exported |= {family.name, f"{family.name}_total"}
        exported |= {sample.name for sample in family.samples}
    assert named - exported == set()
    assert len(named) >= 15


# serve --workers 2 ------------------------------------------------------------------------


@pytest.mark.slow
def test_one_scrape_sums_both_serve_workers_and_starts_from_a_clean_directory(
    settings: Settings, service: TopUpService, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by an earlier serve")
    env = cli_env(settings_env(settings))
    env.update(STRIPETOPUP_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(directory))
    sent = 0
    with serve_process(["--workers", "2"], env, free_port()) as server:
        assert not (directory / "counter_999999.db").exists()

        def deliver(amount: int) -> int:
            payload = body(event("checkout.session.completed", checkout_session(ACCOUNT, amount)))
            headers = {"Stripe-Signature": sign(payload, NEW_SECRET), "Connection": "close"}
            return httpx.post(
                server.url + "/billing/webhook", content=payload, headers=headers, timeout=60
            ).status_code

        # New connections, many at once, until both workers have counted something.
        for _ in range(20):
            with ThreadPoolExecutor(10) as pool:
                assert list(pool.map(deliver, range(100, 120))) == [200] * 20
            sent += 20
            if len({p.name.split("_")[-1] for p in directory.glob("counter_*.db")}) >= 2:
                break
        pids = {p.name.split("_")[-1] for p in directory.glob("counter_*.db")}
        assert len(pids) >= 2, os.listdir(directory)
        for _ in range(6):  # whichever worker answers, the scrape is the sum of both
            response = httpx.get(
                server.url + "/metrics", headers={**AUTH, "Connection": "close"}, timeout=30
            )
            assert response.status_code == 200
            scrape = samples(response.text)
            credited = {"event_type": "checkout.session.completed", "outcome": "credited"}
            assert value(scrape, "stripetopup_webhook_deliveries_total", **credited) == sent
            assert value(scrape, "stripetopup_ledger_entries", kind="topup") == sent
        assert httpx.get(server.url + "/metrics", timeout=30).status_code == 401
    assert service.balance(ACCOUNT).balance_cents == sent // 20 * sum(range(100, 120))


def test_serve_refuses_a_metrics_directory_it_cannot_use_with_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    env = cli_env(settings_env(settings))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(not_a_directory)
    result = run_cli(["serve", "--port", str(free_port())], env)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: PROMETHEUS_MULTIPROC_DIR {not_a_directory} cannot be used: File exists\n"
    )


def test_a_reconcile_textfile_that_cannot_be_written_is_a_warning_not_a_lost_report(
    settings: Settings, control: EmulatorControl, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    textfile = tmp_path / "missing-directory" / "stripetopup.prom"
    service = TopUpService.from_settings(
        settings.model_copy(update={"reconcile_metrics_file": textfile})
    )
    try:
        service.open_account(ACCOUNT)
        control.seed(count=1, client_reference_id=ACCOUNT)
        with caplog.at_level(logging.WARNING, logger="stripetopup.metrics"):
            report = service.reconcile(utcnow() - timedelta(days=7), fix=True)
    finally:
        service.close()
    assert (report.fixed, report.remaining) == (1, 0)
    assert [r.getMessage() for r in caplog.records] == [
        f"could not write reconcile metrics to {textfile}: No such file or directory"
    ]
    assert not textfile.parent.exists()
