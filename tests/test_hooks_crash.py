"""Delivery workers as real processes (``stripetopup hooks deliver``): one killed with
SIGKILL in the middle of 300 events, and two sharing the work. Every event reaches the
receiver at least once, none is lost, and no event is ever sent by two workers at the same
time. Both databases; the real clock, with generous margins.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.conftest import ACCOUNT, settings_env
from tests.support.receiver import Receiver
from tests.support.servers import REPO, cli_env, serve_in_thread

EVENTS = 300
WORKER_ENV = {
    "STRIPETOPUP_HOOKS_TIMEOUT_SECONDS": "2",
    "STRIPETOPUP_HOOKS_LEASE_SECONDS": "6",
    "STRIPETOPUP_HOOKS_POLL_SECONDS": "0.1",
}


@contextmanager
def deliver_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = {**cli_env(settings_env(settings)), **WORKER_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "stripetopup", "hooks", "deliver"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_worker_killed_mid_delivery_loses_nothing_and_two_never_send_one_event_at_once(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    app.script("/in", "slow")
    with serve_in_thread(app) as url:
        # One event per credit: its grant.created is not this test's (balance.* only).
        secret = service.add_hook(url + "/in", events=["balance.*"]).secret
        for index in range(EVENTS):
            service.credit(ACCOUNT, 100, reason="crash test", idempotency_key=f"crash-{index}")
        with deliver_process(settings) as first:
            assert wait_for(lambda: len(app.at("/in")) >= 30), "the first worker sent nothing"
            os.kill(first.pid, signal.SIGKILL)  # mid-claim: its lease is left behind
            first.wait(10)
        sent_before = len(app.ids_at("/in"))
        assert sent_before < EVENTS
        with deliver_process(settings), deliver_process(settings):
            assert wait_for(lambda: len(app.ids_at("/in")) == EVENTS)
            assert wait_for(
                lambda: all(d.state == "delivered" for d in service.hook_deliveries(limit=1000))
            )
        counts = app.ids_at("/in")
        assert len(counts) == EVENTS  # every event at least once
        assert app.overlaps == 0  # and never by two workers at the same time
        # Only what the killed worker had claimed may have gone twice (at least once).
        assert sum(counts.values()) - EVENTS <= 50
        assert all(received.verifies_with(secret) for received in app.at("/in"))
