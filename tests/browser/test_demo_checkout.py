"""The offline demo's own flow in a real browser: a session the app's checkout API created,
paid on the emulator's hosted page, back on the demo's success page with the balance.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.chromium import Buyer, accessibility_problems
from tests.browser.host import Host

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_a_checkout_from_the_api_is_paid_in_the_browser_and_lands_credited(
    host: Host, buyer: Buyer
) -> None:
    token = re.search(r"Demo token:\s+(stu_\S+)", host.banner)
    assert token, host.banner
    before = host.balance_cents("demo")
    created = httpx.post(
        host.url + "/billing/checkout-session",
        json={"amount_cents": 700},
        headers={"Authorization": f"Bearer {token.group(1)}", "Origin": host.url},
        timeout=60,
    )
    assert created.status_code == 200, created.text

    buyer.open(created.json()["url"], "emulator-checkout")
    assert "$7.00" in buyer.page_text()
    assert accessibility_problems(buyer) == []
    buyer.click_button("Pay", "success")

    assert "/billing/success?session_id=cs_" in buyer.url
    assert buyer.driver.find_element("tag name", "h1").text == "Payment received"
    assert "7.00 USD was paid" in buyer.page_text()
    host.control.wait_idle(timeout=60)  # this page may answer before the webhook lands
    assert host.balance_cents("demo") == before + 700
