"""The money path end to end: checkout over HTTP, the emulator's hosted payment, the signed
webhook, the ledger. Both databases, real HTTP, the real stripe SDK against the emulator.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from stripetopup.emulator import EmulatorControl
from tests.conftest import ACCOUNT, ORIGIN, Running


def checkout(running: Running, token: str, body: dict[str, object]) -> httpx.Response:
    return running.http.post(
        "/billing/checkout-session",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
    )


def entries_for(running: Running, account: str = ACCOUNT) -> list[tuple[str, int]]:
    with running.service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT e.source, e.amount_cents FROM ledger_entries e "
                "JOIN accounts a ON a.id = e.account_pk WHERE a.account_id = :a ORDER BY e.id"
            ),
            {"a": account},
        ).all()
    return [(str(source), int(amount)) for source, amount in rows]


def test_a_paid_checkout_credits_its_amount_total_once(running: Running) -> None:
    token = running.user_token()
    response = checkout(running, token, {"amount_cents": 500})
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["id"].startswith("cs_test_")
    assert session["url"].startswith("http://127.0.0.1:")

    running.control.pay(session["id"])
    running.control.wait_idle()

    assert entries_for(running) == [(f"checkout_session:{session['id']}", 500)]
    balance = running.http.get("/billing/balance", headers={"Authorization": f"Bearer {token}"})
    assert balance.json()["balance_cents"] == 500
    assert balance.json()["balance"] == "5.00"
    [payment] = running.service.payments()
    assert (payment.state, payment.amount_total_cents) == ("credited", 500)


def test_duplicate_and_concurrent_deliveries_leave_one_entry(running: Running) -> None:
    token = running.user_token()
    running.control.configure_delivery(duplicates=5, concurrent_duplicates=True)
    ids = [checkout(running, token, {"amount": "1.25"}).json()["id"] for _ in range(1)]
    ids += [checkout(running, token, {"amount_cents": 75}).json()["id"]]
    for session_id in ids:
        running.control.pay(session_id)
    running.control.wait_idle()
    assert sorted(entries_for(running)) == sorted(
        [(f"checkout_session:{ids[0]}", 125), (f"checkout_session:{ids[1]}", 75)]
    )
    assert running.service.balance(ACCOUNT).balance_cents == 200


def test_a_delayed_payment_is_pending_until_the_async_success_event(running: Running) -> None:
    token = running.user_token()
    session_id = checkout(running, token, {"amount_cents": 900}).json()["id"]
    running.control.pay(session_id, method="delayed")
    running.control.wait_idle()
    assert entries_for(running) == []
    assert running.service.payments()[0].state == "pending"

    running.control.async_succeed(session_id)
    running.control.wait_idle()
    assert entries_for(running) == [(f"checkout_session:{session_id}", 900)]
    assert running.service.payments()[0].state == "credited"


def test_a_failed_delayed_payment_is_marked_failed_and_credits_nothing(running: Running) -> None:
    token = running.user_token()
    session_id = checkout(running, token, {"amount_cents": 900}).json()["id"]
    running.control.pay(session_id, method="delayed")
    running.control.async_fail(session_id)
    running.control.wait_idle()
    assert entries_for(running) == []
    assert running.service.payments()[0].state == "failed"


def test_an_expired_session_is_marked_expired(running: Running, control: EmulatorControl) -> None:
    token = running.user_token()
    session_id = checkout(running, token, {"amount_cents": 900}).json()["id"]
    control.expire(session_id)
    control.wait_idle()
    assert running.service.payments()[0].state == "expired"
    assert entries_for(running) == []
