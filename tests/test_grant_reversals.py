"""Refunds and disputes meet the grants, on both databases, through the real webhook door:
a refund or dispute takes from the grant its payment made first, then in burn-down order,
and what no grant covers goes negative; a won dispute restores the payment's own grant.
A paid top-up's grant expires after STRIPETOPUP_PAID_CREDIT_EXPIRES.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, Running
from tests.support.grants import draws, grants, verified
from tests.support.ledger import paid_session
from tests.support.servers import serve_in_thread


def test_a_top_up_makes_a_paid_grant_and_its_refund_takes_from_it_first(
    running: Running,
) -> None:
    service, control = running.service, running.control
    service.grant(ACCOUNT, 300, idempotency_key="bonus", priority=0)  # spent first by debits
    session_id = paid_session(control, ACCOUNT, 500)
    control.wait_idle()
    paid = f"checkout_session:{session_id}"
    assert grants(service, ACCOUNT)[-1] == (paid, "paid", 500, 500, "live")
    refund = control.refund(session_id, amount=200)
    control.wait_idle()
    assert draws(service, f"refund:{refund['id']}") == [(paid, 200)]
    assert verified(service)


def test_a_refund_beyond_what_its_grant_has_left_takes_the_rest_in_order_then_goes_negative(
    running: Running,
) -> None:
    service, control = running.service, running.control
    session_id = paid_session(control, ACCOUNT, 500)
    control.wait_idle()
    service.spend(ACCOUNT, 400, idempotency_key="spent")
    service.grant(ACCOUNT, 50, idempotency_key="bonus")
    refund = control.refund(session_id)
    control.wait_idle()
    paid = f"checkout_session:{session_id}"
    assert draws(service, f"refund:{refund['id']}") == [
        (paid, 100),
        ("grant:app:bonus", 50),
        (None, 350),
    ]
    balance = service.balance(ACCOUNT)
    assert (balance.balance_cents, balance.deficit_cents) == (-350, 350)
    assert verified(service)


def test_a_won_dispute_restores_the_payment_s_own_grant(running: Running) -> None:
    service, control = running.service, running.control
    session_id = paid_session(control, ACCOUNT, 500)
    dispute_id = str(control.dispute(session_id)["id"])
    control.wait_idle()
    paid = f"checkout_session:{session_id}"
    assert grants(service, ACCOUNT) == [(paid, "paid", 500, 0, "live")]
    control.close_dispute(dispute_id, "won")
    control.wait_idle()
    assert draws(service, f"dispute_reinstated:{dispute_id}") == [(paid, -500)]
    assert grants(service, ACCOUNT) == [(paid, "paid", 500, 500, "live")]
    assert verified(service)


def test_a_paid_top_up_s_grant_expires_after_the_configured_span(
    settings: Settings, control: EmulatorControl
) -> None:
    service = TopUpService.from_settings(
        settings.model_copy(update={"paid_credit_expires": "365d"})
    )
    service.open_account(ACCOUNT)
    try:
        with serve_in_thread(create_app(service, jobs=False)) as url, httpx.Client():
            control.add_webhook_endpoint(url + "/billing/webhook", secrets=[NEW_SECRET])
            paid_session(control, ACCOUNT, 500)
            control.wait_idle()
        [grant] = service.grants(ACCOUNT).grants
        assert grant.expires_at is not None
        assert grant.expires_at - grant.created_at == timedelta(days=365)
        assert service.balance(ACCOUNT).next_expiry is not None
    finally:
        service.close()


def test_reconcile_fix_and_payments_assign_credit_as_paid_grants(
    service: TopUpService, control: EmulatorControl
) -> None:
    week = timedelta(days=7)
    missed = str(control.seed(count=1, amount=700, client_reference_id=ACCOUNT)["ids"][0])
    stray = str(control.seed(count=1, amount=300, client_reference_id="acct-nobody")["ids"][0])
    assert service.reconcile(datetime.now(UTC) - week, fix=True).fixed == 1
    service.assign_payment(stray, ACCOUNT, reason="the customer's other account")
    assert sorted(grants(service, ACCOUNT)) == sorted(
        [
            (f"checkout_session:{missed}", "paid", 700, 700, "live"),
            (f"checkout_session:{stray}", "paid", 300, 300, "live"),
        ]
    )
    assert verified(service)
