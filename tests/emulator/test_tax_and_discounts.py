"""Automatic tax, coupons and promotion codes on Checkout, through the official SDK."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorControlError


def consistent(session: Any) -> bool:
    """Stripe's identity, with inclusive tax already inside the subtotal."""
    items = session.line_items.data
    totals = session.total_details
    exclusive = sum(i.amount_total - i.amount_subtotal + i.amount_discount for i in items)
    return (
        session.amount_total == session.amount_subtotal - totals.amount_discount + exclusive
        and sum(i.amount_total for i in items) == session.amount_total
        and sum(i.amount_tax for i in items) == totals.amount_tax
        and sum(i.amount_discount for i in items) == totals.amount_discount
    )


def paid(client: Any, control: EmulatorControl, session_id: str, **pay: Any) -> Any:
    control.pay(session_id, **pay)
    return client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["line_items"]})


def test_automatic_tax_waits_for_the_location_then_adds_ten_percent_exclusive(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(1000, automatic_tax={"enabled": True})
    )
    assert created.automatic_tax.enabled is True
    assert created.automatic_tax.status == "requires_location_inputs"
    assert (created.amount_subtotal, created.amount_total) == (1000, 1000)
    session = paid(client, control, created.id)
    assert session.automatic_tax.status == "complete"
    assert (session.amount_subtotal, session.total_details.amount_tax) == (1000, 100)
    assert session.amount_total == 1100
    assert session.customer_details.address.country == "US"
    assert consistent(session)
    pi = client.v1.payment_intents.retrieve(session.payment_intent)
    assert pi.amount == pi.amount_received == 1100


def test_an_inclusive_price_keeps_the_total_and_reports_the_tax_inside_it(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    p = params(1100, automatic_tax={"enabled": True})
    p["line_items"][0]["price_data"]["tax_behavior"] = "inclusive"
    session = paid(client, control, client.v1.checkout.sessions.create(params=p).id)
    assert (session.amount_subtotal, session.amount_total) == (1100, 1100)
    assert session.total_details.amount_tax == 100
    assert session.line_items.data[0].price.tax_behavior == "inclusive"
    assert consistent(session)


def test_the_control_api_sets_the_rate_and_the_default_behavior(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    assert control.configure_tax(rate_bps=725, tax_behavior="inclusive") == {
        "rate_bps": 725,
        "tax_behavior": "inclusive",
    }
    created = client.v1.checkout.sessions.create(
        params=params(1000, automatic_tax={"enabled": True})
    )
    session = paid(client, control, created.id)
    # 1000 inclusive of 7.25%: 1000 - round(1000 / 1.0725) = 1000 - 932
    assert (session.amount_total, session.total_details.amount_tax) == (1000, 68)
    with pytest.raises(EmulatorControlError) as caught:
        control.configure_tax(rate_bps=10_001)
    assert caught.value.status_code == 400


def test_a_session_without_the_options_is_unchanged(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    session = paid(client, control, client.v1.checkout.sessions.create(params=params(700)).id)
    assert session.automatic_tax.to_dict() == {
        "enabled": False,
        "liability": None,
        "provider": None,
        "status": None,
    }
    assert session.total_details.to_dict() == {
        "amount_discount": 0,
        "amount_shipping": 0,
        "amount_tax": 0,
    }
    assert (session.amount_total, session.discounts, session.customer_details.address) == (
        700,
        [],
        None,
    )
    assert session.allow_promotion_codes is None


def test_a_promotion_code_typed_at_payment_discounts_before_tax(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 25.5, "duration": "once"})
    assert (coupon.object, coupon.percent_off, coupon.valid) == ("coupon", 25.5, True)
    promo = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "FALL20"}
    )
    assert (promo.object, promo.code, promo.active) == ("promotion_code", "FALL20", True)
    assert promo.promotion.coupon == coupon.id
    created = client.v1.checkout.sessions.create(
        params=params(2000, allow_promotion_codes=True, automatic_tax={"enabled": True})
    )
    assert created.allow_promotion_codes is True
    session = paid(client, control, created.id, promotion_code="fall20")
    # 25.5% of 2000 = 510 off; 10% tax on the 1490 left = 149
    assert session.total_details.amount_discount == 510
    assert session.total_details.amount_tax == 149
    assert (session.amount_subtotal, session.amount_total) == (2000, 1639)
    assert [d.to_dict() for d in session.discounts] == [
        {"coupon": coupon.id, "promotion_code": promo.id}
    ]
    assert consistent(session)
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1


def test_an_amount_off_coupon_in_discounts_is_shared_over_the_line_items(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 301, "currency": "usd"})
    p = params(500, discounts=[{"coupon": coupon.id}])
    extra = {"price_data": {"currency": "usd", "unit_amount": 250, "product_data": {"name": "B"}}}
    p["line_items"].append({**extra, "quantity": 2})
    created = client.v1.checkout.sessions.create(params=p)
    assert (created.amount_subtotal, created.amount_total) == (1000, 699)
    session = paid(client, control, created.id)
    assert [i.amount_discount for i in session.line_items.data] == [151, 150]
    assert session.discounts[0].promotion_code is None
    assert consistent(session)


def test_a_hundred_percent_coupon_completes_with_no_payment_required(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 100})
    created = client.v1.checkout.sessions.create(params=params(discounts=[{"coupon": coupon.id}]))
    assert created.amount_total == 0
    session = paid(client, control, created.id)
    assert (session.status, session.payment_status) == ("complete", "no_payment_required")
    assert session.payment_intent is None
    events = client.v1.events.list()
    assert [e.type for e in events.data] == ["checkout.session.completed"]


@pytest.mark.parametrize(
    ("promotion", "session_extra", "message"),
    [
        ({"active": False}, {}, "This code is invalid."),
        ({"max_redemptions": 1}, {}, "This code is invalid."),
        (
            {"restrictions": {"minimum_amount": 5000, "minimum_amount_currency": "usd"}},
            {},
            "minimum",
        ),
        ({}, {"allow_promotion_codes": False}, "does not accept promotion codes"),
    ],
)
def test_a_code_that_cannot_apply_is_refused_and_changes_nothing(
    client: Any,
    params: Any,
    control: EmulatorControl,
    promotion: dict[str, Any],
    session_extra: dict[str, Any],
    message: str,
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TEN", **promotion}
    )
    if promotion.get("max_redemptions"):
        first = client.v1.checkout.sessions.create(params=params(allow_promotion_codes=True))
        control.pay(first.id, promotion_code="TEN")
    created = client.v1.checkout.sessions.create(
        params=params(1000, **{"allow_promotion_codes": True, **session_extra})
    )
    with pytest.raises(EmulatorControlError) as caught:
        control.pay(created.id, promotion_code="TEN")
    assert caught.value.status_code == 400
    assert message in caught.value.message
    session = client.v1.checkout.sessions.retrieve(created.id)
    assert (session.status, session.amount_total, session.discounts) == ("open", 1000, [])


def test_the_hosted_page_offers_a_code_field_and_shows_the_new_total(
    client: Any, params: Any
) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 200, "currency": "usd"})
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TWO"}
    )
    session = client.v1.checkout.sessions.create(params=params(1000, allow_promotion_codes=True))
    with httpx.Client(follow_redirects=False) as browser:
        assert "<label for='promotion_code'>Promotion code</label>" in browser.get(session.url).text
        bad = browser.post(f"{session.url}/promotion_code", data={"promotion_code": "NOPE"})
        assert (bad.status_code, "This code is invalid." in bad.text) == (400, True)
        good = browser.post(f"{session.url}/promotion_code", data={"promotion_code": "two"})
        assert (good.status_code, good.headers["location"]) == (303, f"/c/pay/{session.id}")
        page = browser.get(session.url).text
    assert "$8.00 USD" in page
    assert "-$2.00 USD" in page
    assert client.v1.checkout.sessions.retrieve(session.id).amount_total == 800


@pytest.mark.parametrize(
    ("coupon", "param"),
    [
        ({}, None),
        ({"percent_off": 10, "amount_off": 100, "currency": "usd"}, None),
        ({"percent_off": 150}, "percent_off"),
        ({"amount_off": 100}, "currency"),
        ({"percent_off": 10, "duration": "weekly"}, "duration"),
    ],
)
def test_invalid_coupons_are_refused_like_stripe(
    client: Any, coupon: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.coupons.create(params=coupon)
    assert (caught.value.http_status, caught.value.param) == (400, param)


def test_promotion_codes_are_listed_by_code_and_unique_while_active(client: Any) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 5, "id": "FIVE"})
    assert coupon.id == "FIVE"
    promotion = {"type": "coupon", "coupon": "FIVE"}
    promo = client.v1.promotion_codes.create(params={"promotion": promotion, "code": "HELLO"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.promotion_codes.create(params={"promotion": promotion, "code": "hello"})
    assert caught.value.code == "resource_already_exists"
    listed = client.v1.promotion_codes.list(params={"code": "hello"})
    assert [p.id for p in listed.data] == [promo.id]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": "NOPE"}})
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_a_discount_that_leaves_less_than_the_minimum_is_amount_too_small(
    client: Any, params: Any
) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 480, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params(500, discounts=[{"coupon": coupon.id}]))
    assert caught.value.code == "amount_too_small"


def test_allow_promotion_codes_and_discounts_are_exclusive(client: Any, params: Any) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 5})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(
            params=params(allow_promotion_codes=True, discounts=[{"coupon": coupon.id}])
        )
    assert "allow_promotion_codes, discounts" in caught.value.user_message


def test_a_code_that_would_leave_less_than_the_minimum_is_refused_at_payment(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 480, "currency": "usd"})
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "BIG"}
    )
    created = client.v1.checkout.sessions.create(params=params(500, allow_promotion_codes=True))
    with pytest.raises(EmulatorControlError) as caught:
        control.pay(created.id, promotion_code="BIG")
    assert "below the minimum" in caught.value.message
    session = client.v1.checkout.sessions.retrieve(created.id)
    assert (session.status, session.amount_total, session.discounts) == ("open", 500, [])
