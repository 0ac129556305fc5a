"""The hosted checkout page: amount and product shown, escaped; pay and cancel redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stripetopup.emulator import EmulatorControl


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as http:
        yield http


def test_the_page_shows_amount_and_escaped_product_name(
    client: Any, params: Any, browser: httpx.Client
) -> None:
    p = params(500)
    p["line_items"][0]["price_data"]["product_data"]["name"] = "<b>Credit</b>"
    session = client.v1.checkout.sessions.create(params=p)
    page = browser.get(session.url)
    assert page.status_code == 200
    assert "$5.00 USD" in page.text
    assert "&lt;b&gt;Credit&lt;/b&gt;" in page.text
    assert "<b>Credit</b>" not in page.text


def test_paying_redirects_to_the_success_url_with_the_session_id(
    client: Any, params: Any, browser: httpx.Client
) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    answer = browser.post(f"{session.url}/pay", data={"method": "card"})
    assert answer.status_code == 303
    assert answer.headers["location"] == (f"https://app.example.com/ok?session_id={session.id}")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert "already complete" in browser.get(session.url).text


def test_cancel_redirects_and_leaves_the_session_open(
    client: Any, params: Any, browser: httpx.Client
) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    answer = browser.post(f"{session.url}/cancel")
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://app.example.com/cancel"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_an_expired_session_page_says_so(
    client: Any, params: Any, browser: httpx.Client, control: EmulatorControl
) -> None:
    session = client.v1.checkout.sessions.create(params=params())
    control.expire(session.id)
    assert "expired" in browser.get(session.url).text
    assert browser.post(f"{session.url}/pay", data={"method": "card"}).status_code == 409


def test_a_setup_mode_page_saves_a_card_and_redirects(client: Any, browser: httpx.Client) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.id,
            "success_url": "https://app.example.com/saved?session_id={CHECKOUT_SESSION_ID}",
        }
    )
    page = browser.get(session.url)
    assert (page.status_code, "Save card" in page.text) == (200, True)
    answer = browser.post(f"{session.url}/pay", data={"method": "card"})
    assert answer.headers["location"] == f"https://app.example.com/saved?session_id={session.id}"
    methods = client.v1.customers.payment_methods.list(customer.id)
    assert [m.card.last4 for m in methods.data] == ["4242"]
