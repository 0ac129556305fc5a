"""The delivery worker inside ``stripetopup serve`` (a real process group): SIGKILL in the
middle of delivering 500 events, then a restart, loses none; and two ``serve`` instances
on one PostgreSQL database never send one event at the same time. The receiver on
loopback counts distinct webhook-ids and overlapping in-flight requests per id. Short
lease and poll settings keep it quick; nothing asserts a duration.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, settings_env
from tests.support.receiver import Receiver
from tests.support.servers import cli_env, serve_group, serve_in_thread, wait_for

pytestmark = pytest.mark.slow
EVENTS = 500
SERVE_ENV = {
    "STRIPETOPUP_HOOKS_TIMEOUT_SECONDS": "2",
    "STRIPETOPUP_HOOKS_LEASE_SECONDS": "6",
    "STRIPETOPUP_HOOKS_POLL_SECONDS": "0.1",
}


@contextmanager
def serve(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """``stripetopup serve`` in a process group of its own, once healthy; stopped after."""
    with serve_group([], {**cli_env(settings_env(settings)), **SERVE_ENV}) as (process, _url):
        yield process


def queue_events(service: TopUpService, url: str) -> str:
    """One endpoint taking balance events, then EVENTS credits; the endpoint's secret."""
    secret = service.add_hook(url, events=["balance.*"]).secret
    for index in range(EVENTS):
        service.credit(ACCOUNT, 100, reason="serve crash test", idempotency_key=f"sc-{index}")
    return secret


def all_delivered(service: TopUpService) -> bool:
    rows = service.hook_deliveries(limit=EVENTS + 10)
    return len(rows) == EVENTS and all(d.state == "delivered" for d in rows)


def test_serve_killed_mid_delivery_loses_no_event_after_a_restart(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    app.script("/in", "slow")  # each answer takes a moment: the kill lands mid-delivery
    with serve_in_thread(app) as url:
        secret = queue_events(service, url + "/in")
        with serve(settings) as first:
            assert wait_for(lambda: len(app.at("/in")) >= 30), "serve delivered nothing"
            os.killpg(first.pid, signal.SIGKILL)  # mid-claim: its lease is left behind
            first.wait(10)
        assert len(app.ids_at("/in")) < EVENTS, "everything went before the kill"
        with serve(settings):
            assert wait_for(lambda: len(app.ids_at("/in")) == EVENTS)
            assert wait_for(lambda: all_delivered(service))
        counts = app.ids_at("/in")
        assert len(counts) == EVENTS  # every event at least once: none lost
        assert all(received.verifies_with(secret) for received in app.at("/in"))
        # Only what the killed worker held (one claim of at most 50) may have gone twice.
        assert sum(counts.values()) - EVENTS <= 50


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_serve_instances_on_postgres_never_send_one_event_at_once(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    app.script("/in", "slow")
    with serve_in_thread(app) as url:
        secret = queue_events(service, url + "/in")
        with ExitStack() as both:
            both.enter_context(serve(settings))
            both.enter_context(serve(settings))
            assert wait_for(lambda: len(app.ids_at("/in")) == EVENTS)
            assert wait_for(lambda: all_delivered(service))
        counts = app.ids_at("/in")
        assert len(counts) == EVENTS
        assert app.overlaps == 0  # no webhook-id was ever in flight from two senders
        assert all(received.verifies_with(secret) for received in app.at("/in"))
