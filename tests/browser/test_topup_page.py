"""The buyer's flow in a real browser: the hosted top-up page, the emulator's Checkout page,
and the landing pages, against ``serve --emulator`` (one for all, one account per test).

Each test is one flow as a buyer would click it; the host application's side (minting the
link, reading the balance and the ledger) goes through the spend API with a service key.
"""

from __future__ import annotations

import re

import httpx
import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.chromium import Buyer, Launch, accessibility_problems
from tests.browser.host import Host, session_id_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

CHECKOUT_PAGE = re.compile(r"/c/pay/cs_")


def open_topup_page(host: Host, buyer: Buyer, account_id: str) -> str:
    """Open a fresh link for a new account, as the host application sends its user there."""
    host.open_account(account_id)
    link = host.topup_link(account_id)
    assert link["url"].startswith(host.url + "/billing/topup?t=")
    buyer.open(link["url"], "topup-page")
    assert_accessible(buyer)
    return str(link["url"])


def assert_accessible(buyer: Buyer) -> None:
    assert accessibility_problems(buyer) == []


def choose(buyer: Buyer, value: str) -> WebElement:
    """Click the amount's label, as a buyer does (the radio itself is drawn by its label)."""
    (radio,) = buyer.all(f"input[type=radio][name=amount][value='{value}']")
    (label,) = buyer.all(f"label[for='{radio.get_attribute('id')}']")
    label.click()
    assert radio.is_selected()
    return radio


def choose_and_submit(buyer: Buyer, value: str) -> None:
    choose(buyer, value)
    buyer.click(buyer.by_id("topup-submit"), "checkout")
    assert CHECKOUT_PAGE.search(buyer.url), buyer.url


def assert_credited(host: Host, buyer: Buyer, account_id: str, cents: int, shown: str) -> None:
    assert "/billing/topup/success?" in buyer.url
    assert buyer.by_id("state").get_attribute("data-state") == "credited"
    assert shown in buyer.text("credited-amount")
    assert shown in buyer.text("balance")
    assert_accessible(buyer)
    host.control.wait_idle(timeout=60)  # the webhook lands too, and changes nothing
    topups = [e for e in host.entries(account_id) if e["kind"] == "topup"]
    assert [e["amount_cents"] for e in topups] == [cents]
    assert host.balance_cents(account_id) == cents


def test_a_preset_paid_on_checkout_lands_credited_with_the_new_balance(
    host: Host, buyer: Buyer
) -> None:
    open_topup_page(host, buyer, "browser-preset")
    assert "0.00" in buyer.text("balance")
    assert buyer.driver.find_element("tag name", "h1").text == "Top up"
    assert buyer.by_id("topup-submit").text == "Top up"
    assert buyer.all("fieldset legend")
    choose(buyer, "10.00")
    buyer.screenshot("preset-chosen")
    buyer.click(buyer.by_id("topup-submit"), "checkout")
    assert "$10.00" in buyer.page_text()

    buyer.click_button("Pay", "success")
    assert_credited(host, buyer, "browser-preset", 1000, "10.00")
    buyer.reload("success-reloaded")  # landing again credits nothing twice
    assert_credited(host, buyer, "browser-preset", 1000, "10.00")

    buyer.click(buyer.by_id("receipt-link"), "receipt")
    assert buyer.url.startswith(host.emulator_url + "/i/")
    assert "10.00" in buyer.page_text()


def test_a_custom_amount_is_paid_and_credited_after_going_back_once(
    host: Host, buyer: Buyer
) -> None:
    open_topup_page(host, buyer, "browser-custom")
    choose_and_submit(buyer, "5.00")
    buyer.back("back-from-checkout")  # the link still opens the page: it is not single-use
    assert "/billing/topup?t=" in buyer.url

    choose(buyer, "custom")
    custom = buyer.by_id("custom-amount")
    custom.clear()
    custom.send_keys("12.34")
    buyer.click(buyer.by_id("topup-submit"), "checkout")
    assert "$12.34" in buyer.page_text()

    buyer.click_button("Pay", "success")
    assert_credited(host, buyer, "browser-custom", 1234, "12.34")


def test_cancelling_on_checkout_says_nothing_was_charged_and_offers_to_try_again(
    host: Host, buyer: Buyer
) -> None:
    open_topup_page(host, buyer, "browser-cancel")
    choose_and_submit(buyer, "5.00")

    buyer.click_button("Cancel", "cancelled")
    assert "/billing/topup/cancel?" in buyer.url
    assert buyer.driver.find_element("tag name", "h1").text == "Payment cancelled"
    assert "Nothing was charged" in buyer.page_text()
    assert_accessible(buyer)
    host.control.wait_idle(timeout=60)
    assert host.balance_cents("browser-cancel") == 0
    assert host.entries("browser-cancel") == []

    buyer.click(buyer.by_id("try-again"), "topup-page-again")
    assert "/billing/topup?t=" in buyer.url
    assert buyer.by_id("topup-submit")


def test_a_delayed_payment_is_pending_until_it_succeeds_then_credited_once(
    host: Host, buyer: Buyer
) -> None:
    open_topup_page(host, buyer, "browser-delayed")
    choose_and_submit(buyer, "20.00")

    buyer.click_button("Pay with a delayed method", "pending")
    assert buyer.by_id("state").get_attribute("data-state") == "pending"
    assert "not paid yet" in buyer.page_text()
    assert "0.00" in buyer.text("balance")
    assert_accessible(buyer)
    host.control.wait_idle(timeout=60)
    assert host.balance_cents("browser-delayed") == 0

    host.control.async_succeed(session_id_in(buyer.url))
    buyer.click(buyer.link("Check again"), "credited")
    assert_credited(host, buyer, "browser-delayed", 2000, "20.00")


def test_an_expired_link_is_refused_with_a_clear_page_and_no_form(host: Host, buyer: Buyer) -> None:
    host.open_account("browser-expired")
    url = host.expired_link("browser-expired")
    assert httpx.get(url, timeout=60).status_code == 410
    buyer.open(url, "expired")
    assert "expired" in buyer.driver.find_element("tag name", "h1").text.lower()
    assert_refused(buyer)


def test_a_tampered_link_is_refused_with_a_clear_page_and_no_form(host: Host, buyer: Buyer) -> None:
    host.open_account("browser-tampered")
    url = host.topup_link("browser-tampered")["url"]
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")
    before = host.stripe_session_count()
    assert httpx.get(tampered, timeout=60).status_code == 403
    buyer.open(tampered, "tampered")
    assert_refused(buyer)
    assert host.stripe_session_count() == before


def assert_refused(buyer: Buyer) -> None:
    error = buyer.by_id("error")
    assert error.get_attribute("role") == "alert"
    assert error.text.strip()
    assert buyer.all("form") == []
    assert "new link" in buyer.page_text()
    assert_accessible(buyer)


def test_a_custom_amount_below_the_minimum_is_shown_as_an_error_on_our_page(
    host: Host, buyer: Buyer
) -> None:
    open_topup_page(host, buyer, "browser-too-small")
    before = host.stripe_session_count()
    choose(buyer, "custom")
    buyer.by_id("custom-amount").send_keys("0.49")
    buyer.click(buyer.by_id("topup-submit"), "too-small")

    assert buyer.url.startswith(host.url + "/billing/topup")
    error = buyer.by_id("error")
    assert error.get_attribute("role") == "alert"
    assert "0.50" in error.text
    assert buyer.by_id("topup-submit")
    assert_accessible(buyer)
    assert host.stripe_session_count() == before


def test_the_keyboard_alone_tops_up_a_preset(host: Host, buyer: Buyer) -> None:
    open_topup_page(host, buyer, "browser-keyboard")
    buyer.tab_until(lambda e: e.get_attribute("name") == "amount")
    buyer.type_keys(Keys.SPACE)
    chosen = buyer.focused().get_attribute("value")
    assert chosen != "custom"
    assert buyer.focused().is_selected()
    buyer.screenshot("preset-focused-and-chosen")  # the focus ring must be visible
    buyer.tab_until(lambda e: e.get_attribute("id") == "topup-submit")
    buyer.press(Keys.ENTER, "checkout")
    assert CHECKOUT_PAGE.search(buyer.url), buyer.url

    buyer.tab_until(lambda e: e.text.strip() == "Pay")
    buyer.press(Keys.ENTER, "success")
    cents = round(float(str(chosen)) * 100)
    assert_credited(host, buyer, "browser-keyboard", cents, str(chosen))


def test_the_basic_flow_works_with_javascript_off(host: Host, launch_buyer: Launch) -> None:
    buyer = launch_buyer(javascript=False)
    assert not buyer.javascript_runs()
    open_topup_page(host, buyer, "browser-no-js")
    choose_and_submit(buyer, "5.00")
    buyer.click_button("Pay", "success")
    assert_credited(host, buyer, "browser-no-js", 500, "5.00")
