"""Webhook endpoints through every door: the URL and filter rules, the ``hooks`` CLI, the
``/api/v1/webhook-endpoints`` routes, and the worker that ``serve`` runs in its lifespan.
Both databases; real HTTP on loopback.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.errors import UsageError
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, make_settings
from tests.support.cli import Invoke, invoker
from tests.support.receiver import Receiver
from tests.support.servers import serve_in_thread

NO_STRIPE = "http://127.0.0.1:9"


@pytest.fixture
def hooks(database_url: str) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(make_settings(database_url, NO_STRIPE))
    service.open_account(ACCOUNT)
    yield service
    service.close()


BAD_URLS = [
    ("ftp://example.com/h", "is not an http(s) URL with a host"),
    ("https://", "is not an http(s) URL with a host"),
    ("example.com/hooks", "is not an http(s) URL with a host"),
    ("http://example.com/h", "http:// is allowed only to a loopback host"),
    ("https://user:pw@example.com/h", "may not carry a user or password"),
    ("https://example.com/h#part", "may not have a #fragment"),
    ("https://example.com/a b", "has spaces, control or non-ASCII characters"),
    ("https://example.com/\x00", "has spaces, control or non-ASCII characters"),
    ("https://exämple.com/", "has spaces, control or non-ASCII characters"),
    ("https://example.com:99999/", "is not a URL"),
    ("https://example.com/" + "a" * 2000, "is longer than 2000 characters"),
    ("", "an endpoint needs a URL"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS, ids=[u[:30] for u, _ in BAD_URLS])
def test_a_url_an_endpoint_may_not_have_is_refused_saying_why_and_nothing_is_added(
    hooks: TopUpService, url: str, why: str
) -> None:
    with pytest.raises(UsageError) as refused:
        hooks.add_hook(url)
    assert refused.value.param == "url"
    assert refused.value.message.startswith("invalid endpoint URL: ")
    assert why in refused.value.message
    assert hooks.hooks() == []


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (["balance.creditd"], "matches no event type; the types are balance.credited, "),
        (["Balance.*"], "invalid event filter 'Balance.*'"),
        ([""], "invalid event filter ''"),
        (["balance.**"], "invalid event filter"),
        ([], "give 1 to 30 event filters"),
    ],
)
def test_an_event_filter_that_names_no_event_is_refused(
    hooks: TopUpService, events: list[str], why: str
) -> None:
    with pytest.raises(UsageError, match=why.replace("*", r"\*").replace(".", r"\.")):
        hooks.add_hook("https://example.com/h", events=events)
    assert hooks.hooks() == []


def test_http_is_accepted_to_loopback_and_anywhere_once_allowed(database_url: str) -> None:
    service = TopUpService.from_settings(
        make_settings(database_url, NO_STRIPE, hooks_allow_http=True)
    )
    try:
        assert service.add_hook("http://hooks.internal:8080/in").endpoint.url.startswith("http:")
    finally:
        service.close()


@pytest.fixture
def cli(settings: Settings) -> Invoke:
    return invoker(settings)


def test_the_hooks_commands_add_list_disable_enable_rotate_and_remove(cli: Invoke) -> None:
    added = cli("hooks", "add", "https://app.example.com/in", "--events", "balance.*,payment.*")
    assert added.exit_code == 0, added.output
    lines = added.stdout.splitlines()
    endpoint_id = lines[0].split()[2]
    assert lines[0] == f"Added endpoint {endpoint_id} for https://app.example.com/in."
    assert lines[1] == "Store its signing secret now; it is shown only once:"
    assert lines[2].startswith("whsec_")
    listed = cli("hooks", "list", "--json")
    assert listed.exit_code == 0
    [shown] = json.loads(listed.stdout)
    assert shown["id"] == endpoint_id
    assert shown["events"] == ["balance.*", "payment.*"]
    assert "whsec_" not in listed.stdout
    disabled = cli("hooks", "disable", endpoint_id)
    assert disabled.stdout.strip() == (
        f"Disabled endpoint {endpoint_id}; its deliveries wait until it is enabled."
    )
    off = json.loads(cli("hooks", "list", "--json").stdout)[0]
    assert (off["enabled"], off["disabled_reason"]) == (False, "disabled by an operator")
    assert cli("hooks", "enable", endpoint_id).stdout.strip() == f"Enabled endpoint {endpoint_id}."
    rotated = cli("hooks", "rotate-secret", endpoint_id, "--grace", "2h", "--json")
    assert rotated.exit_code == 0
    body = json.loads(rotated.stdout)
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != lines[2]
    assert body["previous_secret_expires_at"] is not None
    removed = cli("hooks", "remove", endpoint_id)
    assert removed.stdout.strip() == (
        f"Removed endpoint {endpoint_id} (https://app.example.com/in) and 0 delivery record(s)."
    )
    assert json.loads(cli("hooks", "list", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add", "http://example.com/in"],
            "Error: invalid endpoint URL: http:// is allowed only to a loopback host; use "
            "https:// (or set STRIPETOPUP_HOOKS_ALLOW_HTTP=true)",
        ),
        (["disable", "ep_nope"], "Error: invalid endpoint id 'ep_nope': endpoint ids are ep_"),
        (["enable", "ep_" + "0" * 24], f"Error: no webhook endpoint 'ep_{'0' * 24}'"),
        (["rotate-secret", "ep_" + "0" * 24, "--grace", "8d"], "Error: the grace period is 0s"),
        (["rotate-secret", "ep_" + "0" * 24, "--grace", "soon"], "Error: --grace: 'soon'"),
        (["retry"], "Error: give a DELIVERY id or --endpoint ID (one of them)"),
        (["retry", "dlv_x"], "Error: invalid delivery id 'dlv_x'"),
    ],
)
def test_the_hooks_commands_refuse_bad_input_with_one_line(
    cli: Invoke, args: list[str], message: str
) -> None:
    result = cli("hooks", *args)
    assert result.exit_code in (1, 2)
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output


def test_hooks_deliver_once_and_deliveries_show_what_was_sent(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    app.script("/in", 500)
    with serve_in_thread(app) as url:
        cli = invoker(settings)
        # One credit, one delivery: the endpoint takes balance events (not grant.created).
        added = cli("hooks", "add", url + "/in", "--events", "balance.*")
        endpoint_id = added.stdout.split()[2]
        service.credit(ACCOUNT, 100, reason="test", idempotency_key="k1")
        ran = cli("hooks", "deliver", "--once")
        assert ran.exit_code == 0
        assert ran.stdout.strip() == (
            "Queued 1, attempted 1: delivered 0, failed 1 (to retry), dead 0."
        )
        [failed] = json.loads(cli("hooks", "deliveries", endpoint_id, "--failed", "--json").stdout)
        assert (failed["state"], failed["last_error"]) == ("failed", "answered 500")
        retried = cli("hooks", "retry", failed["id"])
        assert retried.stdout.strip() == "1 delivery(ies) will be sent again now."
        app.script("/in", 200)
        assert "delivered 1" in cli("hooks", "deliver", "--once").stdout
        table = cli("hooks", "deliveries")
        assert failed["id"] in table.stdout
        assert "delivered" in table.stdout


@pytest.fixture
def api(hooks: TopUpService) -> Iterator[httpx.Client]:
    _, key = hooks.create_service_key("host-app")
    with (
        serve_in_thread(create_app(hooks)) as url,
        httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}) as http,
    ):
        yield http


def test_the_api_adds_lists_rotates_and_removes_endpoints_showing_secrets_once(
    api: httpx.Client, hooks: TopUpService
) -> None:
    created = api.post(
        "/webhook-endpoints",
        json={"url": "https://app.example.com/in", "events": ["balance.low"], "description": "a"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["balance.low"]
    endpoint_id = body["id"]
    listed = api.get("/webhook-endpoints")
    assert [e["id"] for e in listed.json()["data"]] == [endpoint_id]
    assert "whsec_" not in listed.text
    assert "secret" not in listed.json()["data"][0]
    assert api.get(f"/webhook-endpoints/{endpoint_id}").json()["description"] == "a"
    off = api.post(f"/webhook-endpoints/{endpoint_id}/disable").json()
    assert off["disabled_reason"] == "disabled through the API by service key host-app"
    assert api.post(f"/webhook-endpoints/{endpoint_id}/enable").json()["enabled"] is True
    rotated = api.post(f"/webhook-endpoints/{endpoint_id}/rotate-secret", json={"grace_seconds": 0})
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != body["secret"]
    assert rotated.json()["previous_secret_expires_at"] is None
    assert api.get(f"/webhook-endpoints/{endpoint_id}/deliveries").json()["data"] == []
    assert api.post(f"/webhook-endpoints/{endpoint_id}/retry").json()["retried"] == 0
    assert api.delete(f"/webhook-endpoints/{endpoint_id}").json()["deliveries_removed"] == 0
    assert api.get(f"/webhook-endpoints/{endpoint_id}").status_code == 404
    assert hooks.hooks() == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "http://example.com/in"}, "url"),
        ({"url": "https://example.com/in", "events": ["nope.*"]}, "events"),
        ({"url": "https://example.com/in", "extra": 1}, "extra"),
        ({"url": 5}, "url"),
        ({"url": "https://example.com/" + "a" * 2001}, "url"),
        ({"url": "https://example.com/in", "events": ["*"] * 31}, "events"),
        ({"url": "https://example.com/in", "description": "two\nlines"}, "description"),
    ],
)
def test_the_api_refuses_a_bad_endpoint_with_400_naming_the_field(
    api: httpx.Client, hooks: TopUpService, body: dict[str, object], param: str
) -> None:
    refused = api.post("/webhook-endpoints", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == param
    assert hooks.hooks() == []


def test_the_api_takes_service_keys_only(api: httpx.Client, hooks: TopUpService) -> None:
    token = hooks.create_token(ACCOUNT)[1]
    as_user = api.get("/webhook-endpoints", headers={"Authorization": f"Bearer {token}"})
    assert as_user.status_code == 403
    assert (
        api.get("/webhook-endpoints", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    bad_grace = api.post(
        f"/webhook-endpoints/ep_{'0' * 24}/rotate-secret", json={"grace_seconds": -1}
    )
    assert bad_grace.status_code == 400


def test_serve_runs_the_worker_in_its_lifespan_and_stops_it_on_shutdown(
    database_url: str,
) -> None:
    settings = make_settings(database_url, NO_STRIPE, hooks_poll_seconds=0.05)
    service = TopUpService.from_settings(settings)
    receiver = Receiver()
    try:
        service.open_account(ACCOUNT)
        with serve_in_thread(receiver) as receiver_url:
            service.add_hook(receiver_url + "/in", events=["balance.*"])  # one per credit
            config = uvicorn.Config(
                create_app(service), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            service.credit(ACCOUNT, 100, reason="test", idempotency_key=uuid.uuid4().hex)
            deadline = time.monotonic() + 60  # a real clock: a generous margin
            while not receiver.at("/in") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(receiver.at("/in")) == 1
            assert any(t.name == "stripetopup-hooks" for t in threading.enumerate())
            server.should_exit = True
            thread.join(30)
            assert not any(t.name == "stripetopup-hooks" for t in threading.enumerate())
    finally:
        service.close()


def test_retry_by_event_id_resends_that_events_deliveries_and_deliveries_filter_by_it(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    with serve_in_thread(app) as url:
        cli = invoker(settings)
        # Two credits, two events per endpoint: balance ones (not their grant.created).
        cli("hooks", "add", url + "/a", "--events", "balance.*")
        cli("hooks", "add", url + "/b", "--events", "balance.*")
        service.credit(ACCOUNT, 100, reason="test", idempotency_key="k1")
        service.credit(ACCOUNT, 100, reason="test", idempotency_key="k2")
        assert "delivered 4" in cli("hooks", "deliver", "--once").stdout
        event_id = app.at("/a")[0].webhook_id
        listed = json.loads(cli("hooks", "deliveries", "--event", event_id, "--json").stdout)
        assert len(listed) == 2
        assert {d["event_id"] for d in listed} == {event_id}
        retried = cli("hooks", "retry", event_id)
        assert retried.stdout.strip() == "2 delivery(ies) will be sent again now."
        assert "delivered 2" in cli("hooks", "deliver", "--once").stdout
        assert app.ids_at("/a")[event_id] == 2
        assert app.ids_at("/b")[event_id] == 2
        bad = cli("hooks", "deliveries", "--event", "msg_\x00")
        assert bad.exit_code == 2
        assert bad.stderr.startswith("Error: invalid event id")


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("STRIPETOPUP_HOOKS_RETRY_SCHEDULE", "5s,soon", "must be lengths of time like 30s"),
        ("STRIPETOPUP_HOOKS_RETRY_SCHEDULE", "8d", "must list 1 to 30 waits of 1s to 7d"),
        ("STRIPETOPUP_HOOKS_DISABLE_AFTER", "5 days", "must be lengths of time like 30s"),
        ("STRIPETOPUP_HOOKS_LEASE_SECONDS", "20", "at least three times"),
        ("STRIPETOPUP_HOOKS_TIMEOUT_SECONDS", "0", "greater than 0"),
    ],
)
def test_a_bad_hooks_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, why: str
) -> None:
    from stripetopup.config import load_settings
    from stripetopup.errors import ConfigError

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert f"{variable}: " in refused.value.message
    assert why in refused.value.message
    assert value not in refused.value.message or value.isdigit()


def test_adding_with_an_idempotency_key_twice_answers_the_same_endpoint(
    api: httpx.Client, hooks: TopUpService
) -> None:
    body = {"url": "https://app.example.com/in", "events": ["balance.*"]}
    first = api.post("/webhook-endpoints", json=body, headers={"Idempotency-Key": "reg-1"})
    again = api.post("/webhook-endpoints", json=body, headers={"Idempotency-Key": "reg-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the same endpoint, and its secret for the retry
    other = api.post(
        "/webhook-endpoints",
        json={**body, "url": "https://app.example.com/other"},
        headers={"Idempotency-Key": "reg-1"},
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert len(hooks.hooks()) == 1
    assert api.post("/webhook-endpoints", json=body).status_code == 201  # no key: a new one
    assert len(hooks.hooks()) == 2


def test_an_endpoint_that_holds_a_delivery_does_not_hold_up_the_stripe_webhook(
    settings: Settings, service: TopUpService
) -> None:
    from tests.conftest import NEW_SECRET
    from tests.support.stripe_events import body, checkout_session, event, sign

    receiver = Receiver()
    receiver.script("/in", "hold")
    with serve_in_thread(receiver) as receiver_url:
        service.add_hook(receiver_url + "/in")
        service.credit(ACCOUNT, 100, reason="test", idempotency_key="before")
        config = uvicorn.Config(
            create_app(service), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 60
            while not (server.started and receiver.holding()) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert receiver.holding() == 1  # the worker is stuck in that delivery
            port = server.servers[0].sockets[0].getsockname()[1]
            payload = body(event("checkout.session.completed", checkout_session(ACCOUNT, 700)))
            answered = httpx.post(
                f"http://127.0.0.1:{port}/billing/webhook",
                content=payload,
                headers={"Stripe-Signature": sign(payload, NEW_SECRET)},
                timeout=30,
            )
            assert answered.status_code == 200, answered.text
            assert answered.json()["result"] == "credited"
            assert receiver.holding() == 1  # answered while the delivery is still held
            assert service.balance(ACCOUNT).balance_cents == 800
        finally:
            receiver.release()
            server.should_exit = True
            thread.join(30)
