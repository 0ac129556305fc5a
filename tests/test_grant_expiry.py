"""Grant expiry, on both databases: at ``expires_at`` what is left of a grant is written off
by one ``expiry:<grant id>`` entry, however often the job runs (``grants expire``, the
Python API, ``serve``'s background job); a grant an open hold reserved is kept for the
capture and expires the rest when the hold ends. Time is a ManualClock.
"""

from __future__ import annotations

import time
from datetime import timedelta

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT
from tests.support.cli import invoker
from tests.support.clock import ManualClock
from tests.support.grants import draws, grants, verified
from tests.support.ledger import entries
from tests.support.servers import serve_in_thread


def _welcome(service: TopUpService, clock: ManualClock, cents: int, hours: int, key: str) -> str:
    expires = clock.now + timedelta(hours=hours)
    granted = service.grant(
        ACCOUNT, cents, idempotency_key=key, expires_at=expires, category="promotional"
    )
    assert granted.grant is not None
    return granted.grant.grant_id


def test_an_expired_grant_s_remainder_is_written_off_exactly_once(
    clocked: TopUpService, clock: ManualClock
) -> None:
    grant_id = _welcome(clocked, clock, 500, 24, "welcome")
    clocked.spend(ACCOUNT, 120, idempotency_key="coffee")
    clock.advance(24 * 3600 - 1)
    assert clocked.expire_grants().expired == 0
    clock.advance(1)
    run = clocked.expire_grants()
    assert (run.expired, run.expired_cents, run.grant_ids) == (1, 380, (grant_id,))
    assert clocked.expire_grants().expired == 0
    assert entries(clocked, ACCOUNT)[-1] == (f"expiry:{grant_id}", -380)
    assert grants(clocked, ACCOUNT) == [("grant:app:welcome", "promotional", 500, 0, "expired")]
    assert clocked.balance(ACCOUNT).balance_cents == 0
    assert verified(clocked)


def test_a_grant_reserved_by_a_hold_is_kept_for_its_capture_then_expires_the_rest(
    clocked: TopUpService, clock: ManualClock
) -> None:
    grant_id = _welcome(clocked, clock, 500, 1, "welcome")
    hold = clocked.place_hold(ACCOUNT, 300, idempotency_key="h", ttl_seconds=7200).hold
    clock.advance(3600)  # the grant is past its expiry, the hold still open
    assert (clocked.expire_grants().expired, clocked.expire_grants().waiting) == (0, 1)
    clocked.capture_hold(hold.hold_id, 200, idempotency_key="cap")
    assert draws(clocked, f"hold_capture:{hold.hold_id}") == [("grant:app:welcome", 200)]
    run = clocked.expire_grants()
    assert (run.expired, run.expired_cents) == (1, 300)
    assert entries(clocked, ACCOUNT)[-1] == (f"expiry:{grant_id}", -300)
    assert verified(clocked)


def test_a_released_hold_lets_its_expired_grant_expire_whole(
    clocked: TopUpService, clock: ManualClock
) -> None:
    _welcome(clocked, clock, 500, 1, "welcome")
    hold = clocked.place_hold(ACCOUNT, 300, idempotency_key="h", ttl_seconds=7200).hold
    clock.advance(3600)
    assert clocked.expire_grants().waiting == 1
    clocked.release_hold(hold.hold_id, idempotency_key="rel")
    assert clocked.expire_grants().expired_cents == 500
    assert clocked.balance(ACCOUNT).balance_cents == 0
    assert verified(clocked)


def test_grants_expire_on_the_command_line_writes_off_once_and_says_so(
    settings: Settings, database_url: str
) -> None:
    past = ManualClock()
    past.advance(-2 * 24 * 3600)
    service = TopUpService.from_settings(settings, clock=past)
    service.open_account(ACCOUNT)
    cli = invoker(settings)
    try:
        _welcome(service, past, 250, 24, "old")
        first = cli("grants", "expire")
        assert first.exit_code == 0, first.stderr
        assert first.stdout == "Expired 1 grant, 2.50 written off.\n"
        again = cli("grants", "expire", "--json")
        assert again.exit_code == 0
        assert '"expired": 0' in again.stdout
        listed = cli("grants", ACCOUNT, "--all", "--json")
        assert '"status": "expired"' in listed.stdout
    finally:
        service.close()


def test_serve_s_background_job_writes_off_expired_grants(
    settings: Settings, database_url: str
) -> None:
    past = ManualClock()
    past.advance(-2 * 24 * 3600)
    seeding = TopUpService.from_settings(settings, clock=past)
    seeding.open_account(ACCOUNT)
    grant_id = _welcome(seeding, past, 250, 24, "old")
    seeding.close()
    service = TopUpService.from_settings(settings)
    try:
        with serve_in_thread(create_app(service), lifespan="on"):
            deadline = time.monotonic() + 60  # generous: a slow shared machine
            while entries(service, ACCOUNT)[-1][0] != f"expiry:{grant_id}":
                assert time.monotonic() < deadline, "the expiry job did not run"
                time.sleep(0.05)
        assert verified(service)
    finally:
        service.close()
