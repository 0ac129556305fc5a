"""The demo's success page tells the truth, and the API docs work offline.

The app (with the demo's pages) runs on loopback against the emulator, on both databases;
payments are made through the emulator's control API exactly as its checkout page does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from stripetopup.emulator.server import EmulatorServer
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, make_settings
from tests.support.ledger import paid_session
from tests.support.servers import serve_in_thread


@dataclass
class DemoApp:
    url: str
    http: httpx.Client
    service: TopUpService
    control: EmulatorControl

    def deliver_webhooks(self) -> None:
        self.control.add_webhook_endpoint(self.url + "/billing/webhook", secrets=[NEW_SECRET])

    def checkout(self, amount_cents: int = 500) -> str:
        return self.service.create_checkout(ACCOUNT, amount_cents).checkout_session_id

    def success_page(self, session_id: str) -> tuple[str, str]:
        """The page's title and sentence for ``session_id``."""
        page = self.http.get("/billing/success", params={"session_id": session_id})
        assert page.status_code == 200
        title = re.search(r"<h1>(.*?)</h1>", page.text)
        body = re.search(r"<p>(.*?)</p>", page.text, re.DOTALL)
        assert title is not None
        assert body is not None
        return title.group(1), body.group(1)

    def balance_cents(self) -> int:
        return self.service.balance(ACCOUNT).balance_cents


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, database_url: str, emulator: EmulatorServer
) -> Settings:
    """The defaults, or those a test names with indirect params."""
    return make_settings(database_url, emulator.url, **getattr(request, "param", {}))


@pytest.fixture
def demo(service: TopUpService, control: EmulatorControl) -> Iterator[DemoApp]:
    with (
        serve_in_thread(create_app(service, demo=True)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield DemoApp(url, http, service, control)
        control.wait_idle(timeout=30)


def test_the_success_page_credits_a_paid_session_before_the_webhook_arrives(
    demo: DemoApp,
) -> None:
    session_id = demo.checkout()
    demo.control.pay(session_id)  # paid at Stripe; no endpoint, so no webhook yet
    page = (
        "Payment received",
        f"5.00 USD was paid and credited to account <code>{ACCOUNT}</code>; its balance is "
        "5.00 USD.",
    )
    assert demo.success_page(session_id) == page  # fulfilled on landing
    assert demo.success_page(session_id) == page  # and only once
    assert demo.balance_cents() == 500


@pytest.mark.parametrize("settings", [{"automatic_tax": True}], indirect=True)
def test_the_success_page_shows_the_credit_not_the_amount_paid_with_tax(demo: DemoApp) -> None:
    session_id = demo.checkout()
    demo.control.pay(session_id)
    assert demo.success_page(session_id) == (
        "Payment received",
        f"5.50 USD was paid; 5.00 USD was credited to account <code>{ACCOUNT}</code>; its "
        "balance is 5.00 USD.",
    )


def test_the_success_page_names_the_sessions_own_account_once_credited(demo: DemoApp) -> None:
    demo.deliver_webhooks()
    session_id = demo.checkout()
    demo.control.pay(session_id)
    demo.control.wait_idle(timeout=30)
    assert demo.success_page(session_id) == (
        "Payment received",
        f"5.00 USD was paid and credited to account <code>{ACCOUNT}</code>; its balance is "
        "5.00 USD.",
    )


def test_the_success_page_says_pending_for_a_delayed_payment_until_it_succeeds(
    demo: DemoApp,
) -> None:
    demo.deliver_webhooks()
    session_id = demo.checkout(700)
    demo.control.pay(session_id, method="delayed")
    demo.control.wait_idle(timeout=30)
    title, body = demo.success_page(session_id)
    assert title == "Payment pending"
    assert body.startswith(
        f"The payment of 7.00 USD for account <code>{ACCOUNT}</code> uses a delayed method "
        "(such as a bank debit) and is not paid yet. The account is credited when it "
        "succeeds, and not at all if it fails. In this demo, settle it with <code>curl -s "
        f"-X POST {demo.service.settings.stripe_api_base}/_emulator/checkout/sessions/"
        f"{session_id}/async_succeed</code>"
    )
    assert demo.balance_cents() == 0

    demo.control.async_succeed(session_id)
    demo.control.wait_idle(timeout=30)
    assert demo.success_page(session_id)[1] == (
        f"7.00 USD was paid and credited to account <code>{ACCOUNT}</code>; its balance is "
        "7.00 USD."
    )


def test_the_success_page_says_not_paid_for_an_expired_session(demo: DemoApp) -> None:
    session_id = demo.checkout()
    demo.control.expire(session_id)
    assert demo.success_page(session_id) == (
        "Not paid",
        f"Checkout Session <code>{session_id}</code> was not paid; nothing was credited.",
    )


@pytest.mark.parametrize(
    "session_id", ["", "cs_test_notasessionofours", "<script>", "cs_" + "a" * 400]
)
def test_the_success_page_claims_nothing_for_a_session_it_does_not_know(
    demo: DemoApp, session_id: str
) -> None:
    title, body = demo.success_page(session_id)
    assert title == "Payment status unknown"
    assert "<script>" not in body
    assert body.endswith("Nothing on this page means it was paid.")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_every_asset_from_the_app_itself(demo: DemoApp, page: str) -> None:
    html = demo.http.get(page)
    assert html.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    assert assets, "the page loads its script from somewhere"
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from another site"
        loaded = demo.http.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 1000, asset
    assert demo.http.get("/openapi.json").json()["info"]["title"] == "stripetopup"


def test_the_success_page_says_a_stray_payment_waits_for_an_operator_then_was_dismissed(
    demo: DemoApp,
) -> None:
    demo.deliver_webhooks()
    session_id = paid_session(demo.control, "acct-nobody", 900)  # an account nobody opened
    demo.control.wait_idle(timeout=30)
    assert demo.success_page(session_id) == (
        "Payment received, not credited yet",
        f"9.00 USD was paid, but Checkout Session <code>{session_id}</code> is held for an "
        "operator and has not been credited (<code>stripetopup payments --attention</code>).",
    )
    demo.service.dismiss_payment(session_id, reason="test payment")
    assert demo.success_page(session_id) == (
        "Payment received, not credited",
        "9.00 USD was paid; an operator dismissed it, so nothing is credited for it.",
    )
