"""``grant.created`` and ``grant.expired``, on both databases: every credit's grant is told
once (a really signed top-up, a promotional grant with its terms), never again for a
duplicate or a retry; an expiry is told once with what it wrote off, however often the
job runs; a refund or dispute credited back into its payment's own grant makes no grant
and tells none. Time is a ManualClock; the refund and dispute cases go through the
emulator as tests/test_grant_reversals.py drives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, Running
from tests.support.clock import ManualClock
from tests.support.grants import grants, verified
from tests.support.ledger import paid_session
from tests.support.outbound import outbound, types_of
from tests.support.servers import serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign

GRANTS = ("grant.*",)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked(settings: Settings, clock: ManualClock) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    yield service
    service.close()


def grant_events(service: TopUpService) -> list[dict[str, Any]]:
    return outbound(service, ACCOUNT, types=GRANTS)


def the_grant_id(service: TopUpService) -> str:
    [grant] = service.grants(ACCOUNT, include_closed=True).grants
    return grant.grant_id


def test_a_signed_top_up_emits_one_grant_created_and_its_duplicate_nothing(
    clocked: TopUpService, clock: ManualClock
) -> None:
    checkout = checkout_session(ACCOUNT, 700)
    payload = body(event("checkout.session.completed", checkout))
    with (
        serve_in_thread(create_app(clocked, jobs=False)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        for expected in ("credited", "already_applied"):
            headers = {"Stripe-Signature": sign(payload, NEW_SECRET, clock.timestamp())}
            answered = http.post("/billing/webhook", content=payload, headers=headers)
            assert answered.json()["result"] == expected, answered.text
    [created] = grant_events(clocked)
    assert (created["type"], created["created"]) == ("grant.created", clock.now.isoformat())
    assert created["data"] == {
        "grant_id": the_grant_id(clocked),
        "account_id": ACCOUNT,
        "amount_cents": 700,
        "remaining_cents": 700,
        "currency": "usd",
        "category": "paid",
        "priority": 50,
        "effective_at": clock.now.isoformat(),
        "expires_at": None,
        "source": f"checkout_session:{checkout['id']}",
        "written_off_cents": 0,
    }
    assert types_of(clocked, ACCOUNT) == ["balance.credited", "grant.created"]


def test_a_promotional_grant_emits_its_terms_once_whatever_its_retries(
    clocked: TopUpService, clock: ManualClock
) -> None:
    starts, ends = clock.now + timedelta(hours=1), clock.now + timedelta(days=7)
    terms: dict[str, Any] = {
        "idempotency_key": "welcome",
        "category": "promotional",
        "priority": 10,
        "effective_at": starts,
        "expires_at": ends,
    }
    assert clocked.grant(ACCOUNT, 800, **terms).created
    clock.advance(60)
    assert not clocked.grant(ACCOUNT, 800, **terms).created
    [created] = grant_events(clocked)
    assert created["type"] == "grant.created"
    assert created["data"] == {
        "grant_id": the_grant_id(clocked),
        "account_id": ACCOUNT,
        "amount_cents": 800,
        "remaining_cents": 800,
        "currency": "usd",
        "category": "promotional",
        "priority": 10,
        "effective_at": starts.isoformat(),
        "expires_at": ends.isoformat(),
        "source": "grant:app:welcome",
        "written_off_cents": 0,
    }


def _welcome(service: TopUpService, clock: ManualClock, cents: int, hours: int) -> str:
    expires = clock.now + timedelta(hours=hours)
    granted = service.grant(
        ACCOUNT, cents, idempotency_key="welcome", expires_at=expires, category="promotional"
    )
    assert granted.grant is not None
    return granted.grant.grant_id


def test_an_expiry_emits_grant_expired_with_what_it_wrote_off_exactly_once(
    clocked: TopUpService, clock: ManualClock
) -> None:
    grant_id = _welcome(clocked, clock, 500, 24)
    clocked.spend(ACCOUNT, 120, idempotency_key="coffee")
    clock.advance(24 * 3600 - 1)
    assert clocked.expire_grants().expired == 0
    assert [e["type"] for e in grant_events(clocked)] == ["grant.created"]
    clock.advance(1)
    assert clocked.expire_grants().expired == 1
    clock.advance(3600)
    assert clocked.expire_grants().expired == 0
    assert clocked.expire_grants().expired == 0
    created, expired = grant_events(clocked)
    assert (created["type"], expired["type"]) == ("grant.created", "grant.expired")
    assert expired["created"] == (clock.now - timedelta(hours=1)).isoformat()
    assert expired["data"] == {
        **created["data"],
        "grant_id": grant_id,
        "remaining_cents": 0,
        "written_off_cents": 380,
    }
    # The write-off's own entry comes first, in the same transaction.
    assert types_of(clocked, ACCOUNT)[-2:] == ["balance.debited", "grant.expired"]
    assert verified(clocked)


def test_a_grant_spent_in_full_before_its_expiry_expires_writing_off_nothing(
    clocked: TopUpService, clock: ManualClock
) -> None:
    _welcome(clocked, clock, 300, 1)
    clocked.spend(ACCOUNT, 300, idempotency_key="all of it")
    clock.advance(3600)
    assert clocked.expire_grants().expired == 1
    assert clocked.expire_grants().expired == 0
    created, expired = grant_events(clocked)
    assert expired["type"] == "grant.expired"
    assert expired["data"] == {**created["data"], "remaining_cents": 0, "written_off_cents": 0}
    # Nothing was left, so no expiry entry: the spend is the one debit.
    assert types_of(clocked, ACCOUNT) == [
        "balance.credited",
        "grant.created",
        "balance.debited",
        "grant.expired",
    ]
    assert verified(clocked)


def test_a_failed_refund_credited_back_into_its_payment_s_grant_creates_no_grant(
    running: Running,
) -> None:
    service, control = running.service, running.control
    session_id = paid_session(control, ACCOUNT, 500)
    refund = control.refund(session_id, amount=300)
    control.wait_idle()
    control.set_refund_status(refund["id"], "failed")
    control.wait_idle()
    paid = f"checkout_session:{session_id}"
    assert grants(service, ACCOUNT) == [(paid, "paid", 500, 500, "live")]
    [created] = grant_events(service)
    assert (created["type"], created["data"]["source"]) == ("grant.created", paid)
    assert types_of(service, ACCOUNT) == [
        "balance.credited",
        "grant.created",
        "balance.debited",  # the refund
        "balance.credited",  # its failure, back into the payment's grant
    ]
    assert verified(service)


def test_a_won_dispute_restores_the_payment_s_grant_and_creates_none(running: Running) -> None:
    service, control = running.service, running.control
    session_id = paid_session(control, ACCOUNT, 500)
    dispute_id = str(control.dispute(session_id)["id"])
    control.wait_idle()
    control.close_dispute(dispute_id, "won")
    control.wait_idle()
    paid = f"checkout_session:{session_id}"
    assert grants(service, ACCOUNT) == [(paid, "paid", 500, 500, "live")]
    [created] = grant_events(service)
    assert created["data"]["source"] == paid
    assert verified(service)
