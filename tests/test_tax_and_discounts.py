"""Tax and discounts on a top-up, on both databases: what Checkout is asked for, what is
credited (the credit rule: ``amount_total - amount_tax``, a discount added back when set),
and reconcile agreeing with it. The real SDK against the emulator, really signed webhooks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from stripetopup.config import Settings, load_settings
from stripetopup.core import TopUpService
from stripetopup.dates import utcnow
from stripetopup.emulator import EmulatorControl
from stripetopup.emulator.server import EmulatorServer
from stripetopup.errors import ConfigError
from tests.conftest import ACCOUNT, API_KEY, NEW_SECRET, ORIGIN, Running, make_settings
from tests.support.stripe_events import body, checkout_session, event, sign

WEEK = timedelta(days=7)
TABLES = ("ledger_entries", "stripe_payments", "accounts")


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, database_url: str, emulator: EmulatorServer
) -> Settings:
    """This file's settings: the defaults, or those a test names with indirect params."""
    return make_settings(database_url, emulator.url, **getattr(request, "param", {}))


@pytest.fixture
def client(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


def top_up(running: Running, amount_cents: int, promotion_code: str | None = None) -> str:
    """Create a session over HTTP, pay it on the emulator, wait for the signed webhook."""
    response = running.http.post(
        "/billing/checkout-session",
        json={"amount_cents": amount_cents},
        headers={"Authorization": f"Bearer {running.user_token()}", "Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    session_id = str(response.json()["id"])
    running.control.pay(session_id, promotion_code=promotion_code)
    running.control.wait_idle()
    return session_id


def entries(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, amount_cents FROM ledger_entries"))
        return sorted((str(s), int(a)) for s, a in rows)


def reconciles_clean(service: TopUpService) -> None:
    """reconcile finds nothing, and --fix writes nothing."""
    before = entries(service)
    assert service.reconcile(utcnow() - WEEK).items == ()
    assert service.reconcile(utcnow() - WEEK, fix=True).fixed == 0
    assert entries(service) == before


def promotion_code(client: stripe.StripeClient, percent_off: int, code: str) -> str:
    coupon = client.v1.coupons.create(params={"percent_off": percent_off})
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code}
    )
    return code


def test_with_every_setting_off_checkout_asks_for_no_tax_and_credits_amount_total(
    running: Running, client: stripe.StripeClient
) -> None:
    session_id = top_up(running, 500)
    session = client.v1.checkout.sessions.retrieve(session_id)
    assert session.automatic_tax.enabled is False
    assert session.invoice_creation.enabled is False
    assert session.allow_promotion_codes is None
    assert (session.amount_total, session.total_details.amount_tax) == (500, 0)
    assert entries(running.service) == [(f"checkout_session:{session_id}", 500)]
    reconciles_clean(running.service)


@pytest.mark.parametrize("settings", [{"automatic_tax": True}], indirect=True)
def test_with_exclusive_tax_the_credit_is_what_was_paid_less_the_tax(
    running: Running, client: stripe.StripeClient
) -> None:
    session_id = top_up(running, 500)
    session = client.v1.checkout.sessions.retrieve(session_id)
    assert session.automatic_tax.enabled is True
    # 10% on top: the buyer paid 5.50, of which 0.50 is tax; the account gets 5.00.
    assert (session.amount_total, session.total_details.amount_tax) == (550, 50)
    assert entries(running.service) == [(f"checkout_session:{session_id}", 500)]
    assert running.service.balance(ACCOUNT).balance_cents == 500
    reconciles_clean(running.service)


@pytest.mark.parametrize("settings", [{"automatic_tax": True}], indirect=True)
def test_with_inclusive_tax_the_credit_is_the_price_less_the_tax_inside_it(
    running: Running, client: stripe.StripeClient
) -> None:
    running.control.configure_tax(tax_behavior="inclusive")
    session_id = top_up(running, 500)
    session = client.v1.checkout.sessions.retrieve(session_id)
    # 10% inside 5.00: 0.45 of it is tax (500 - 500/1.1, rounded half up), 4.55 is credited.
    assert (session.amount_total, session.total_details.amount_tax) == (500, 45)
    assert entries(running.service) == [(f"checkout_session:{session_id}", 455)]
    reconciles_clean(running.service)


@pytest.mark.parametrize(
    ("settings", "credited"),
    [
        ({"allow_promotion_codes": True, "automatic_tax": True}, 800),
        ({"allow_promotion_codes": True, "automatic_tax": True, "discount_credit": "paid"}, 800),
        (
            {
                "allow_promotion_codes": True,
                "automatic_tax": True,
                "discount_credit": "undiscounted",
            },
            1000,
        ),
    ],
    indirect=["settings"],
)
def test_a_discounted_top_up_credits_what_was_paid_or_the_value_before_the_discount(
    running: Running, client: stripe.StripeClient, credited: int
) -> None:
    code = promotion_code(client, 20, "TWENTY")
    session_id = top_up(running, 1000, promotion_code=code)
    session = client.v1.checkout.sessions.retrieve(session_id)
    assert session.allow_promotion_codes is True
    # 20% off 10.00 is 2.00; 10% tax on the 8.00 left is 0.80: the buyer paid 8.80.
    details = session.total_details
    assert (session.amount_total, details.amount_discount, details.amount_tax) == (880, 200, 80)
    assert entries(running.service) == [(f"checkout_session:{session_id}", credited)]
    reconciles_clean(running.service)


def rows(service: TopUpService) -> dict[str, int]:
    with service.engine.connect() as connection:
        return {
            table: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


def deliver(running: Running, obj: dict[str, Any]) -> tuple[httpx.Response, str]:
    evt = event("checkout.session.completed", obj)
    payload = body(evt)
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, NEW_SECRET)}
    return running.http.post("/billing/webhook", content=payload, headers=headers), evt["id"]


@pytest.mark.parametrize(
    ("total_details", "field", "why"),
    [
        (
            {"amount_tax": "50", "amount_discount": 0},
            "amount_tax",
            "Input should be a valid integer",
        ),
        (
            {"amount_tax": 50, "amount_discount": 1.5},
            "amount_discount",
            "Input should be a valid integer",
        ),
        ({"amount_discount": 0}, "amount_tax", "Field required"),
        ({"amount_tax": 50}, "amount_discount", "Field required"),
    ],
)
def test_a_paid_session_with_a_mistyped_total_details_field_is_refused_naming_it(
    running: Running, total_details: dict[str, Any], field: str, why: str
) -> None:
    obj = {**checkout_session(ACCOUNT, 550), "total_details": total_details}
    before = rows(running.service)
    response, event_id = deliver(running, obj)
    refusal = f"Stripe checkout session {obj['id']}: field total_details.{field}: {why}"
    assert response.status_code == 500  # kept as a failure, and Stripe retries
    assert response.json()["error"]["code"] == "processing_failed"
    assert response.json()["error"]["message"] == f"event {event_id} failed: {refusal}"
    assert running.service.event(event_id).error == f"PayloadError: {refusal}"
    assert rows(running.service) == before
    assert running.service.balance(ACCOUNT).balance_cents == 0


def test_a_signed_webhook_with_tax_credits_the_amount_excluding_it(running: Running) -> None:
    obj = {
        **checkout_session(ACCOUNT, 550),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 50},
    }
    response, _ = deliver(running, obj)
    assert response.status_code == 200, response.text
    assert entries(running.service) == [(f"checkout_session:{obj['id']}", 500)]


def test_reconcile_reports_a_credit_that_disagrees_with_the_rule_and_fix_adds_nothing(
    service: TopUpService, control: EmulatorControl, client: stripe.StripeClient
) -> None:
    session_id = taxed_session_paid_without_a_webhook(client, control)
    # Credited by an event that hid the tax (the old rule's amount): 5.50 for a 5.00 top-up.
    obj = service.ctx.stripe.retrieve_checkout_session(session_id)
    assert (obj["amount_total"], obj["total_details"]["amount_tax"]) == (550, 50)
    obj["total_details"] = {**obj["total_details"], "amount_tax": 0}
    paid = {"id": "evt_tax_hidden", "object": "event", "type": "checkout.session.completed"}
    service.apply_event({**paid, "livemode": False, "data": {"object": obj}}, actor="test")
    assert entries(service) == [(f"checkout_session:{session_id}", 550)]

    report = service.reconcile(utcnow() - WEEK, fix=True)
    [difference] = report.items
    assert (difference.kind, difference.amount_cents, difference.local_cents) == (
        "amount_mismatch",
        500,
        550,
    )
    assert difference.detail == (
        "Stripe was paid 5.50 USD (credits 5.00 USD), the ledger credited 5.50 USD"
    )
    assert report.fixed == 0
    assert entries(service) == [(f"checkout_session:{session_id}", 550)]  # never a second credit


def taxed_session_paid_without_a_webhook(
    client: stripe.StripeClient, control: EmulatorControl, account_id: str = ACCOUNT
) -> str:
    """A 5.00 top-up with 10% exclusive tax, paid on Stripe; no webhook endpoint hears it."""
    created = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 500,
                        "product_data": {"name": "Credit"},
                    },
                }
            ],
            "automatic_tax": {"enabled": True},
            "client_reference_id": account_id,
            "success_url": ORIGIN + "/ok",
            "cancel_url": ORIGIN + "/no",
        }
    )
    control.pay(created.id)
    return created.id


def test_replay_reconcile_fix_and_assign_credit_by_the_same_rule(
    service: TopUpService, control: EmulatorControl, client: stripe.StripeClient
) -> None:
    replayed = taxed_session_paid_without_a_webhook(client, control)
    [completed] = client.v1.events.list(params={"type": "checkout.session.completed"}).data
    outcome = service.replay(completed.id)
    assert (outcome.result, outcome.amount_cents) == ("credited", 500)

    fixed = taxed_session_paid_without_a_webhook(client, control)
    report = service.reconcile(utcnow() - WEEK, fix=True)
    [difference] = report.items
    assert (difference.kind, difference.amount_cents, report.fixed) == ("paid_not_credited", 500, 1)
    assert difference.detail == "paid 5.50 USD (credits 5.00 USD), not credited"

    service.open_account("acct-bob")
    stray = taxed_session_paid_without_a_webhook(client, control, account_id="acct-nobody")
    assigned = service.assign_payment(stray, "acct-bob", reason="typo in the account id")
    assert assigned.amount_cents == 500

    assert entries(service) == sorted(
        (f"checkout_session:{session_id}", 500) for session_id in (replayed, fixed, stray)
    )
    assert service.reconcile(utcnow() - WEEK).items == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STRIPETOPUP_DISCOUNT_CREDIT", "list_price"),
        ("STRIPETOPUP_AUTOMATIC_TAX", "maybe"),
        ("STRIPETOPUP_INVOICE_CREATION", "twice"),
        ("STRIPETOPUP_ALLOW_PROMOTION_CODES", "sometimes"),
    ],
)
def test_a_tax_or_discount_setting_that_is_not_one_of_its_values_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None)
    assert refused.value.message.startswith(f"invalid configuration: {variable}: ")
    assert value not in refused.value.message  # a setting's value is never echoed
