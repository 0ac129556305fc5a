"""Post-purchase invoices of Checkout (``invoice_creation``), through the official SDK."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripetopup.emulator import EmulatorControl

INVOICED = {"invoice_creation": {"enabled": True, "invoice_data": {"description": "Top-up"}}}


def test_paying_an_invoiced_session_creates_a_paid_invoice_for_a_new_customer(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(1500, customer_email="buyer@example.com", **INVOICED)
    )
    assert created.invoice_creation.enabled is True
    assert created.invoice is None
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id)
    assert session.invoice.startswith("in_")
    assert session.customer.startswith("cus_")
    invoice = client.v1.invoices.retrieve(session.invoice)
    assert (invoice.object, invoice.status, invoice.customer) == (
        "invoice",
        "paid",
        session.customer,
    )
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (1500, 1500, 0)
    assert (invoice.subtotal, invoice.total, invoice.currency) == (1500, 1500, "usd")
    assert invoice.description == "Top-up"
    assert invoice.customer_email == "buyer@example.com"
    assert invoice.number.endswith("-0001")
    assert invoice.lines.data[0].amount == 1500
    assert invoice.status_transitions.paid_at is not None
    pi = client.v1.payment_intents.retrieve(session.payment_intent)
    assert pi.customer == session.customer
    customer = client.v1.customers.retrieve(session.customer)
    assert customer.email == "buyer@example.com"


def test_the_invoice_events_come_in_stripes_order_with_their_own_snapshots(
    client: Any, params: Any, control: EmulatorControl, receiver: Any
) -> None:
    control.add_webhook_endpoint(receiver.url)
    created = client.v1.checkout.sessions.create(params=params(**INVOICED))
    control.pay(created.id)
    control.wait_idle()
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "customer.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]
    statuses = [e["data"]["object"]["status"] for e in events if e["type"].startswith("invoice.")]
    assert statuses == ["draft", "open", "paid", "paid"]
    draft = events[3]["data"]["object"]
    assert (draft["number"], draft["hosted_invoice_url"], draft["amount_paid"]) == (None, None, 0)
    completed = events[-1]["data"]["object"]
    assert completed["invoice"] == events[5]["data"]["object"]["id"]


def test_the_invoice_carries_the_discount_and_the_tax_of_the_session(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    created = client.v1.checkout.sessions.create(
        params=params(
            2000,
            automatic_tax={"enabled": True},
            discounts=[{"coupon": coupon.id}],
            **INVOICED,
        )
    )
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id)
    invoice = client.v1.invoices.retrieve(session.invoice)
    # 2000 - 200 discount = 1800, + 180 exclusive tax
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (2000, 1980, 1980)
    assert invoice.total == session.amount_total
    assert invoice.total_excluding_tax == 1800
    assert [d.amount for d in invoice.total_discount_amounts] == [200]
    assert [(t.amount, t.tax_behavior, t.taxable_amount) for t in invoice.total_taxes] == [
        (180, "exclusive", 1800)
    ]


def test_the_hosted_invoice_and_its_pdf_open_offline(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(params=params(1234, **INVOICED))
    control.pay(created.id)
    invoice = client.v1.invoices.retrieve(client.v1.checkout.sessions.retrieve(created.id).invoice)
    with httpx.Client() as browser:
        page = browser.get(invoice.hosted_invoice_url)
        document = browser.get(invoice.invoice_pdf)
    assert page.status_code == 200
    assert invoice.number in page.text
    assert "12.34 USD" in page.text
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-1.4")
    assert document.content.endswith(b"%%EOF\n")
    assert b"12.34 USD" in document.content


def test_a_delayed_payment_is_invoiced_only_when_it_succeeds(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(params=params(**INVOICED))
    control.pay(created.id, method="delayed")
    pending = client.v1.checkout.sessions.retrieve(created.id)
    assert (pending.payment_status, pending.invoice) == ("unpaid", None)
    assert pending.customer.startswith("cus_")
    control.async_succeed(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id)
    assert client.v1.invoices.retrieve(session.invoice).status == "paid"
    types = [e.type for e in reversed(client.v1.events.list().data)]  # oldest first
    assert types.index("invoice.paid") < types.index("checkout.session.async_payment_succeeded")


def test_a_session_without_invoice_creation_gets_no_invoice_and_no_customer(
    client: Any, paid_session: Any
) -> None:
    assert (paid_session.invoice, paid_session.customer) == (None, None)
    assert not [e for e in client.v1.events.list().data if e.type.startswith("invoice.")]


def test_an_unknown_invoice_is_resource_missing(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.retrieve("in_nope")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
