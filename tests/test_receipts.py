"""Receipts, on both databases: with invoice creation on, the payment keeps the session's
invoice and its hosted page (shown by ``payments show`` and ``--json``), even when Stripe
could not answer at webhook time; off, nothing changes. Migration 0004 upgrades a database
in use. The real SDK against the emulator, really signed webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
import stripe
from sqlalchemy.engine import Engine

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator.server import EmulatorServer
from tests.conftest import ACCOUNT, API_KEY, ORIGIN, Running, make_settings
from tests.support.cli import invoker
from tests.support.migrations import engine_at

INVOICES = {"invoice_creation": True}


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, database_url: str, emulator: EmulatorServer
) -> Settings:
    return make_settings(database_url, emulator.url, **getattr(request, "param", {}))


@pytest.fixture
def client(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


def top_up(running: Running, amount_cents: int) -> str:
    response = running.http.post(
        "/billing/checkout-session",
        json={"amount_cents": amount_cents},
        headers={"Authorization": f"Bearer {running.user_token()}", "Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    session_id = str(response.json()["id"])
    running.control.pay(session_id)
    running.control.wait_idle()
    return session_id


def stored_receipt(service: TopUpService, session_id: str) -> tuple[str | None, str | None]:
    with service.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT invoice_id, hosted_invoice_url FROM stripe_payments "
                "WHERE checkout_session_id = :cs"
            ),
            {"cs": session_id},
        ).one()
    return row[0], row[1]


@pytest.mark.parametrize("settings", [INVOICES], indirect=True)
def test_with_invoice_creation_on_the_payment_keeps_its_invoice_and_receipt_page(
    running: Running, client: stripe.StripeClient, settings: Settings
) -> None:
    session_id = top_up(running, 500)
    session = client.v1.checkout.sessions.retrieve(session_id)
    assert session.invoice_creation.enabled is True
    invoice = client.v1.invoices.retrieve(str(session.invoice))
    assert invoice.hosted_invoice_url
    assert stored_receipt(running.service, session_id) == (invoice.id, invoice.hosted_invoice_url)
    assert running.service.balance(ACCOUNT).balance_cents == 500
    assert httpx.get(invoice.hosted_invoice_url).status_code == 200  # the receipt is a page

    invoke = invoker(settings)
    shown = invoke("payments", "show", session_id)
    assert shown.exit_code == 0, shown.output
    assert (
        f"receipt: {invoice.hosted_invoice_url} (invoice {invoice.id})" in shown.stdout.splitlines()
    )
    as_json = invoke("payments", "show", session_id, "--json")
    assert as_json.exit_code == 0
    detail = json.loads(as_json.stdout)
    assert (detail["invoice_id"], detail["hosted_invoice_url"]) == (
        invoice.id,
        invoice.hosted_invoice_url,
    )
    listed = invoke("payments", "--json")
    assert listed.exit_code == 0
    [payment] = json.loads(listed.stdout)
    assert payment["hosted_invoice_url"] == invoice.hosted_invoice_url


@pytest.mark.parametrize("settings", [INVOICES], indirect=True)
def test_a_receipt_stripe_cannot_give_at_webhook_time_is_fetched_by_payments_show(
    running: Running, client: stripe.StripeClient, settings: Settings
) -> None:
    running.control.fault("/v1/invoices", "500", count=1)
    session_id = top_up(running, 500)
    assert running.service.balance(ACCOUNT).balance_cents == 500  # the credit never waits
    invoice_id, url = stored_receipt(running.service, session_id)
    assert invoice_id is not None
    assert invoice_id.startswith("in_")
    assert url is None

    shown = invoker(settings)("payments", "show", session_id)
    assert shown.exit_code == 0, shown.output
    page = client.v1.invoices.retrieve(invoice_id).hosted_invoice_url
    assert f"receipt: {page} (invoice {invoice_id})" in shown.stdout.splitlines()
    assert stored_receipt(running.service, session_id) == (invoice_id, page)  # kept


def test_with_invoice_creation_off_a_payment_shows_no_receipt(
    running: Running, client: stripe.StripeClient, settings: Settings
) -> None:
    session_id = top_up(running, 500)
    assert client.v1.checkout.sessions.retrieve(session_id).invoice is None
    assert stored_receipt(running.service, session_id) == (None, None)
    invoke = invoker(settings)
    shown = invoke("payments", "show", session_id)
    assert shown.exit_code == 0
    assert not [line for line in shown.stdout.splitlines() if line.startswith("receipt")]
    detail = json.loads(invoke("payments", "show", session_id, "--json").stdout)
    assert "invoice_id" not in detail
    assert "hosted_invoice_url" not in detail


# Migration 0004 on a database in use ----------------------------------------------------

PREVIOUS = "0003_payment_resolutions"


@pytest.fixture
def engine_at_previous(database_url: str) -> Iterator[Engine]:
    with engine_at(database_url, PREVIOUS) as engine:
        yield engine


def test_upgrading_from_0003_keeps_every_payment_and_gives_it_no_receipt(
    engine_at_previous: Engine, settings: Settings
) -> None:
    with engine_at_previous.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO stripe_payments (checkout_session_id, account_id, amount_total_cents, "
                "currency, status, payment_status, livemode, state, created_at, updated_at) "
                "VALUES ('cs_test_before', 'acct-alice', 500, 'usd', 'complete', 'paid', false, "
                "'credited', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    assert schema.upgrade(engine_at_previous) == schema.HEAD_REVISION

    service = TopUpService.from_settings(settings)
    try:
        payment = service.payment("cs_test_before").payment
        assert (payment.state, payment.amount_total_cents, payment.account_id) == (
            "credited",
            500,
            "acct-alice",
        )
        assert (payment.invoice_id, payment.hosted_invoice_url) == (None, None)
    finally:
        service.close()
