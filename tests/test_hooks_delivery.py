"""Outbound webhook delivery, end to end on both databases: real ledger changes write the
outbox, the real worker posts to a real receiver on loopback, and the receiver verifies
every delivery with the ``standardwebhooks`` library. A ManualClock moves the schedule.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.core.doctor import hooks as doctor_hooks
from stripetopup.core.outbound import delivery, fanout, signing, worker
from stripetopup.core.outbound.hook_types import EndpointSecret
from stripetopup.db import transaction
from stripetopup.models import WebhookDelivery
from stripetopup.store import deliveries, outbox
from stripetopup.store import webhook_endpoints as endpoint_store
from tests.conftest import ACCOUNT, make_settings
from tests.support.clock import ManualClock
from tests.support.receiver import Received, Receiver
from tests.support.servers import serve_in_thread

NO_STRIPE = "http://127.0.0.1:9"  # these tests never call Stripe


def hooks_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "hooks_retry_schedule": (60, 600),
        "hooks_timeout_seconds": 5.0,
        "hooks_lease_seconds": 60,
    }
    values.update(overrides)
    return make_settings(database_url, NO_STRIPE, **values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hooks(database_url: str, clock: ManualClock) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(hooks_settings(database_url), clock=clock)
    service.open_account(ACCOUNT)
    yield service
    service.close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with serve_in_thread(app) as url:
        yield app, url


def credit(service: TopUpService, times: int = 1, cents: int = 100) -> None:
    for _ in range(times):
        key = uuid.uuid4().hex
        service.credit(ACCOUNT, cents, reason="outbound test", idempotency_key=key)


# These tests are about delivery, so their endpoints take the balance events only: one
# credit is one delivery (its grant.created goes to the filter test's "*" endpoint).
BALANCE = ["balance.*"]


def balance_hook(
    service: TopUpService, url: str, *, description: str | None = None
) -> EndpointSecret:
    """An endpoint for the balance events only (a credit's ``balance.credited``)."""
    return service.add_hook(url, events=BALANCE, description=description)


def only(items: list[Received]) -> Received:
    assert len(items) == 1, items
    return items[0]


def test_an_event_is_delivered_once_signed_the_standard_webhooks_way(
    hooks: TopUpService, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    created = balance_hook(hooks, url + "/a", description="the host")
    credit(hooks)
    run = hooks.deliver_hooks_once()
    assert (run.queued, run.attempted, run.delivered) == (1, 1, 1)
    got = only(app.at("/a"))
    assert got.verifies_with(created.secret)
    [sent] = hooks.hook_deliveries()
    assert got.webhook_id == sent.event_id
    assert sent.event_id.startswith("msg_")
    with Session(hooks.engine) as session:
        stored = outbox.find(session, sent.event_id)
    assert stored is not None
    assert got.body.decode() == stored.payload
    body = json.loads(got.body)
    assert (body["id"], body["type"]) == (sent.event_id, "balance.credited")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 300
    assert got.headers["content-type"] == "application/json"
    assert (sent.state, sent.attempts, sent.last_status_code) == ("delivered", 1, 200)
    # Again: nothing more is sent.
    assert hooks.deliver_hooks_once().attempted == 0
    assert len(app.at("/a")) == 1
    # The receiver's library refuses another secret and a tampered body.
    assert not got.verifies_with(signing.new_secret())
    assert not Received(got.path, got.headers, got.body + b" ").verifies_with(created.secret)


def test_an_endpoint_gets_only_the_events_written_after_it_was_added(
    hooks: TopUpService, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    credit(hooks)
    balance_hook(hooks, url + "/a")
    assert hooks.deliver_hooks_once().attempted == 0
    credit(hooks)
    assert hooks.deliver_hooks_once().delivered == 1
    assert len(app.at("/a")) == 1


def test_a_failing_endpoint_is_retried_on_the_schedule_with_the_same_webhook_id(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    app.script("/a", 500, 200)
    balance_hook(hooks, url + "/a")
    credit(hooks)
    assert hooks.deliver_hooks_once().failed == 1
    [failed] = hooks.hook_deliveries(failed_only=True)
    assert (failed.state, failed.attempts, failed.last_status_code) == ("failed", 1, 500)
    assert failed.last_error == "answered 500"
    assert failed.next_attempt_at == clock.now + timedelta(seconds=60)
    clock.advance(59)
    assert hooks.deliver_hooks_once().attempted == 0  # not due yet
    clock.advance(1)
    assert hooks.deliver_hooks_once().delivered == 1
    assert list(app.ids_at("/a").values()) == [2]  # two attempts, one webhook id
    [done] = hooks.hook_deliveries()
    assert (done.state, done.attempts, done.delivered_at) == ("delivered", 2, clock.now)


def test_a_redirect_is_a_failure_and_is_never_followed(
    hooks: TopUpService, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    app.script("/a", "redirect")
    balance_hook(hooks, url + "/a")
    credit(hooks)
    assert hooks.deliver_hooks_once().failed == 1
    [failed] = hooks.hook_deliveries()
    assert failed.last_status_code == 302
    assert failed.last_error == "answered 302, a redirect (never followed)"
    assert app.at("/landed") == []


def test_a_receiver_that_hangs_times_out_without_holding_up_another_endpoint(
    database_url: str, clock: ManualClock, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    app.script("/slow", "hang")
    settings = hooks_settings(database_url, hooks_timeout_seconds=0.5)
    service = TopUpService.from_settings(settings, clock=clock)
    try:
        service.open_account(ACCOUNT)
        slow = balance_hook(service, url + "/slow").endpoint.id
        fast = balance_hook(service, url + "/fast").endpoint.id
        credit(service)
        with delivery.client(0.5) as http, ThreadPoolExecutor(4) as pool:
            run = worker.run_once(service.ctx, http, owner="w1", pool=pool)
        assert (run.attempted, run.delivered, run.failed) == (2, 1, 1)
        [hung] = service.hook_deliveries(endpoint_id=slow)
        assert (hung.state, hung.last_status_code) == ("failed", None)
        assert hung.last_error == "timed out (STRIPETOPUP_HOOKS_TIMEOUT_SECONDS)"
        assert service.hook_deliveries(endpoint_id=fast)[0].state == "delivered"
    finally:
        service.close()


def test_a_delivery_is_dead_after_the_schedule_and_retry_sends_it_again(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    app.script("/a", 500, 500, 500, 500, 200)
    balance_hook(hooks, url + "/a")
    credit(hooks)
    assert hooks.deliver_hooks_once().failed == 1
    clock.advance(60)
    assert hooks.deliver_hooks_once().failed == 1
    clock.advance(600)
    assert hooks.deliver_hooks_once().dead == 1
    [dead] = hooks.hook_deliveries(failed_only=True)
    assert (dead.state, dead.attempts, dead.next_attempt_at) == ("dead", 3, None)
    clock.advance(86400)
    assert hooks.deliver_hooks_once().attempted == 0  # dead stays dead
    assert hooks.retry_delivery(dead.id).delivery_ids == [dead.id]
    assert hooks.deliver_hooks_once().failed == 1  # a fresh schedule: retried, not dead
    [again] = hooks.hook_deliveries()
    assert (again.id, again.state, again.attempts) == (dead.id, "failed", 1)
    assert hooks.retry_hook_deliveries(dead.endpoint_id).delivery_ids == [dead.id]
    assert hooks.deliver_hooks_once().delivered == 1
    assert list(app.ids_at("/a").values()) == [5]


def test_during_a_rotation_both_secrets_sign_and_after_the_grace_only_the_new_one(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    created = balance_hook(hooks, url + "/a")
    rotated = hooks.rotate_hook_secret(created.endpoint.id, grace=timedelta(hours=1))
    assert rotated.secret != created.secret
    assert rotated.endpoint.previous_secret_expires_at == clock.now + timedelta(hours=1)
    credit(hooks)
    hooks.deliver_hooks_once()
    during = only(app.at("/a"))
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies_with(created.secret)
    assert during.verifies_with(rotated.secret)
    clock.advance(3600)
    credit(hooks)
    hooks.deliver_hooks_once()
    after = app.at("/a")[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verifies_with(rotated.secret)
    assert not after.verifies_with(created.secret)


def test_two_workers_deliver_200_events_to_two_endpoints_each_exactly_once(
    database_url: str, clock: ManualClock, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    settings = hooks_settings(database_url)
    services = [TopUpService.from_settings(settings, clock=clock) for _ in range(2)]
    try:
        services[0].open_account(ACCOUNT)
        balance_hook(services[0], url + "/a")
        balance_hook(services[0], url + "/b")
        credit(services[0], times=200)
        runs = _race(services)
        assert sum(run.delivered for run in runs) == 400
        for path in ("/a", "/b"):
            counts = app.ids_at(path)
            assert len(counts) == 200
            assert set(counts.values()) == {1}
        rows = services[0].hook_deliveries(limit=1000)
        assert {(d.state, d.attempts) for d in rows} == {("delivered", 1)}
        assert len(rows) == 400
    finally:
        for service in services:
            service.close()


def _race(services: list[TopUpService]) -> list[worker.DeliveryRun]:
    """Each service's worker passes until it finds nothing to do (after a common start)."""
    start = threading.Barrier(len(services))
    runs = [worker.DeliveryRun() for _ in services]

    def work(index: int) -> None:
        service = services[index]
        with delivery.client(5) as http, ThreadPoolExecutor(2) as pool:
            start.wait()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                run = worker.run_once(service.ctx, http, owner=f"w{index}", pool=pool)
                runs[index].add(run)
                if not run.attempted and not run.queued:
                    break

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(services))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return runs


def test_a_worker_that_dies_holding_a_lease_is_taken_over_once_the_lease_passes(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    endpoint = balance_hook(hooks, url + "/a").endpoint
    credit(hooks)
    fanout.fan_out(hooks.ctx)
    # A worker claims and dies before sending (kill -9): its lease is all that is left.
    with transaction(hooks.engine) as session:
        pk = endpoint_store.get(session, endpoint.id).id
        assert pk is not None
        until = clock.now + timedelta(seconds=60)
        claimed = deliveries.claim(
            session, pk, owner="dead-worker", now=clock.now, until=until, limit=20
        )
    assert len(claimed) == 1
    assert hooks.deliver_hooks_once().attempted == 0
    clock.advance(60)
    assert hooks.deliver_hooks_once().delivered == 1
    assert len(app.at("/a")) == 1
    # The dead worker's late outcome is not written over the live one's.
    with transaction(hooks.engine) as session:
        assert not deliveries.finish(session, claimed[0].id or 0, "dead-worker", {"attempts": 9})
        row = session.get(WebhookDelivery, claimed[0].id)
        assert row is not None
        assert (row.state, row.attempts) == ("delivered", 1)


def test_an_endpoint_failing_for_disable_after_is_disabled_logged_and_flagged_by_doctor(
    database_url: str,
    clock: ManualClock,
    receiver: tuple[Receiver, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, url = receiver
    app.script("/a", 500)
    settings = hooks_settings(
        database_url, hooks_retry_schedule=(600,) * 20, hooks_disable_after=2 * 86400
    )
    service = TopUpService.from_settings(settings, clock=clock)
    try:
        service.open_account(ACCOUNT)
        endpoint = balance_hook(service, url + "/a").endpoint
        credit(service)
        started = clock.now
        assert service.deliver_hooks_once().failed == 1
        assert service.hook(endpoint.id).failing_since == started
        clock.advance(86400 + 600)
        assert service.deliver_hooks_once().failed == 1
        [flagged] = doctor_hooks.endpoint_health(service.ctx)
        assert (flagged.name, flagged.status) == (f"webhook endpoint {endpoint.id}", "fail")
        clock.advance(86400)
        with caplog.at_level(logging.WARNING, logger="stripetopup.core.outbound.worker"):
            run = service.deliver_hooks_once()
        assert run.disabled_endpoints == [endpoint.id]
        off = service.hook(endpoint.id)
        assert not off.enabled
        assert off.disabled_at == clock.now
        assert off.disabled_reason == (
            "every delivery failed for 2d (STRIPETOPUP_HOOKS_DISABLE_AFTER); "
            "the last one answered 500"
        )
        assert f"webhook endpoint {endpoint.id} disabled" in caplog.text
        [check] = doctor_hooks.endpoint_health(service.ctx)
        assert check.status == "warn"
        assert "disabled since" in check.message
        clock.advance(600)
        assert service.deliver_hooks_once().attempted == 0  # nothing goes to it now
        app.script("/a", 200)
        assert service.enable_hook(endpoint.id).failing_since is None
        assert service.deliver_hooks_once().delivered == 1
        assert doctor_hooks.endpoint_health(service.ctx)[0].status == "ok"
    finally:
        service.close()


def test_a_success_stops_the_failure_clock(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    app.script("/a", 500, 200)
    endpoint = balance_hook(hooks, url + "/a").endpoint
    credit(hooks)
    hooks.deliver_hooks_once()
    assert hooks.hook(endpoint.id).failing_since == clock.now
    clock.advance(60)
    hooks.deliver_hooks_once()
    assert hooks.hook(endpoint.id).failing_since is None


def test_each_endpoint_takes_only_the_events_its_filter_names(
    hooks: TopUpService, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    hooks.add_hook(url + "/debits", events=["balance.debited"])
    hooks.add_hook(url + "/balance", events=["balance.*"])
    hooks.add_hook(url + "/payments", events=["payment.*", "hold.expired"])
    hooks.add_hook(url + "/grants", events=["grant.*"])
    hooks.add_hook(url + "/all", events=["*"])
    credit(hooks)
    hooks.debit(ACCOUNT, 50, reason="outbound test", idempotency_key=uuid.uuid4().hex)
    hooks.deliver_hooks_once()

    def types(path: str) -> list[str]:
        return sorted(json.loads(r.body)["type"] for r in app.at(path))

    assert types("/debits") == ["balance.debited"]
    assert types("/balance") == ["balance.credited", "balance.debited"]
    assert types("/payments") == []
    assert types("/grants") == ["grant.created"]  # the grant the credit made
    assert types("/all") == ["balance.credited", "balance.debited", "grant.created"]
