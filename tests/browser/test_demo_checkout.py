"""The offline demo in a real browser: the top-up links it prints (and the CLI mints) open
the hosted page, and a session from the app's checkout API, paid on the emulator's page,
lands on the demo's success page credited, with the balance.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from stripetopup.money import format_money
from tests.browser.chromium import Buyer, accessibility_problems
from tests.browser.host import Host
from tests.support.servers import cli_env, run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_the_banner_link_and_the_cli_link_open_the_demo_accounts_top_up_page(
    host: Host, buyer: Buyer
) -> None:
    printed = re.search(r"^\s+(http://\S+/billing/topup\?t=\S+)$", host.banner, re.MULTILINE)
    assert printed, host.banner
    buyer.open(printed.group(1), "banner-link")
    assert buyer.driver.find_element("tag name", "h1").text == "Top up"
    assert buyer.text("balance").endswith("USD")

    minted = run_cli(
        ["--env-file", str(host.env_file), "topup-link", "demo", "--json"], cli_env({})
    )
    assert minted.returncode == 0, minted.stderr
    buyer.open(json.loads(minted.stdout)["url"], "cli-link")
    assert buyer.by_id("topup-submit").text == "Top up"
    assert accessibility_problems(buyer) == []


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
    # Credited on landing, before or after the webhook: the page says so at once.
    balance = format_money(before + 700, "usd")
    assert f"7.00 USD was paid and credited to account demo; its balance is {balance}." in (
        buyer.page_text()
    )
    host.control.wait_idle(timeout=60)  # the webhook lands too, and changes nothing
    assert host.balance_cents("demo") == before + 700
