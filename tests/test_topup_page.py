"""The hosted top-up page and fulfilment on landing, on both databases.

The app runs under uvicorn on loopback against the emulator (the real stripe SDK); links
are minted by the service, the spend API and the CLI; payments are made through the
emulator's control API as its checkout page does, and the buyer's return is the success
URL Checkout would redirect to. The clock is a ManualClock, so expiry is exact. Every
refused request is checked to have created nothing at Stripe.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
import stripe
from pydantic import SecretStr

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.dates import utcnow
from stripetopup.emulator import EmulatorControl
from stripetopup.emulator.server import EmulatorServer
from stripetopup.errors import ConfigError
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, API_KEY, NEW_SECRET, make_settings
from tests.support.cli import invoker
from tests.support.clock import ManualClock
from tests.support.servers import serve_in_thread
from tests.support.stripe_events import body, event, sign

LINK_SECRET = "link-secret-for-the-tests-" + "k" * 20
PUBLIC = "https://pay.example.com"
OTHER = "acct-bob"
WEEK = timedelta(days=7)
PAGE_SETTINGS = {
    "topup_page": True,
    "topup_link_secret": SecretStr(LINK_SECRET),
    "public_url": PUBLIC,
}


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, database_url: str, emulator: EmulatorServer
) -> Settings:
    """The page on, plus whatever a test names with indirect params."""
    extra = getattr(request, "param", {})
    return make_settings(database_url, emulator.url, **PAGE_SETTINGS, **extra)


@pytest.fixture
def service(settings: Settings, clock: ManualClock) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    service.open_account(OTHER)
    yield service
    service.close()


@dataclass
class Page:
    url: str
    http: httpx.Client
    service: TopUpService
    control: EmulatorControl
    stripe: stripe.StripeClient
    clock: ManualClock

    def link(self, account: str = ACCOUNT, **kw: Any) -> str:
        """A page link's token."""
        url = self.service.create_topup_link(account, **kw).url
        assert url.startswith(f"{PUBLIC}/billing/topup?t=")
        return token_of(url)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        """``url`` (built on PUBLIC_URL) fetched from the app on loopback."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" in (PUBLIC, "")
        return self.http.get(parts.path + ("?" + parts.query if parts.query else ""), **kw)

    def post(self, token: str | None, **fields: str) -> httpx.Response:
        data = {"t": token, **fields} if token is not None else fields
        return self.http.post("/billing/topup", data=data)

    def start(self, token: str, amount: str = "5.00", custom: str = "") -> str:
        """Top up from the page: the session id it redirected to."""
        answer = self.post(token, amount=amount, custom_amount=custom)
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(self.service.settings.stripe_api_base or "?")
        return session_of(location)

    def session(self, session_id: str) -> Any:
        return self.stripe.v1.checkout.sessions.retrieve(session_id)

    def land(self, session_id: str) -> httpx.Response:
        """Back from Checkout: the success URL, as Checkout fills it in."""
        success_url = str(self.session(session_id).success_url)
        return self.get(success_url.replace("{CHECKOUT_SESSION_ID}", session_id))

    def sessions_at_stripe(self) -> int:
        return len(list(self.stripe.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter()))

    def deliver_webhooks(self) -> None:
        self.control.add_webhook_endpoint(self.url + "/billing/webhook", secrets=[NEW_SECRET])


def deliver(http: httpx.Client, paid: Any) -> httpx.Response:
    """A really signed ``checkout.session.completed`` delivery of ``paid`` (a session)."""
    payload = body(event("checkout.session.completed", paid.to_dict()))
    return http.post(
        "/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, NEW_SECRET), "Content-Type": "application/json"},
    )


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def session_of(checkout_url: str) -> str:
    match = re.search(r"(cs_[A-Za-z0-9_]+)", checkout_url)
    assert match is not None, checkout_url
    return match.group(1)


def element(page: str, element_id: str) -> str:
    """The text inside the element with ``id`` (tags stripped, entities decoded)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.DOTALL)
    assert match is not None, f"no #{element_id} in the page"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).strip()


def state_of(page: str) -> str:
    match = re.search(r'id="state"[^>]*data-state="([a-z_]+)"', page)
    assert match is not None
    return match.group(1)


def entries(service: TopUpService) -> list[tuple[str, int]]:
    with service.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, amount_cents FROM ledger_entries"))
        return sorted((str(s), int(a)) for s, a in rows)


@pytest.fixture
def page(
    service: TopUpService, control: EmulatorControl, emulator: EmulatorServer, clock: ManualClock
) -> Iterator[Page]:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield Page(url, http, service, control, client, clock)
        control.wait_idle(timeout=30)


# The page and the flow -------------------------------------------------------------------


def test_the_page_shows_the_balance_the_presets_and_a_custom_amount(page: Page) -> None:
    page.service.credit(ACCOUNT, 1234, reason="earlier", idempotency_key="k1")
    answer = page.http.get("/billing/topup", params={"t": page.link()})
    assert answer.status_code == 200
    text = answer.text
    assert '<html lang="en">' in text
    assert re.search(r"<h1>Top up</h1>", text)
    assert element(text, "balance") == "12.34 USD"
    values = re.findall(r'<input type="radio" name="amount" id="([^"]+)" value="([^"]+)"', text)
    assert [value for _, value in values] == [
        "0.50", "5.00", "10.00", "20.00", "50.00", "100.00", "custom"
    ]  # fmt: skip
    for radio_id, _ in values:
        assert f'<label for="{radio_id}">' in text
    assert '<label for="custom-amount">' in text
    assert 'name="custom_amount" id="custom-amount"' in text
    assert '<form method="post" action="/billing/topup"' in text
    assert element(text, "topup-submit") == "Top up"
    assert "<script" not in text
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert f"form-action 'self' {page.service.settings.stripe_api_base}" in policy
    assert answer.headers["referrer-policy"] == "no-referrer"
    css = page.http.get("/billing/topup/static/topup.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text


def test_a_preset_redirects_to_checkout_and_the_landing_credits_it_once(page: Page) -> None:
    token = page.link()
    session_id = page.start(token, "5.00")
    session = page.session(session_id)
    assert session.amount_total == 500
    assert session.client_reference_id == ACCOUNT
    # Built on PUBLIC_URL, never on the request's Host; the landing link is not the page link.
    success = str(session.success_url)
    assert success.startswith(
        f"{PUBLIC}/billing/topup/success?session_id={{CHECKOUT_SESSION_ID}}&t="
    )
    assert token_of(success) != token
    assert str(session.cancel_url).startswith(f"{PUBLIC}/billing/topup/cancel?t=")

    page.control.pay(session_id)  # no webhook endpoint: only the landing can credit it
    landed = page.land(session_id)
    assert landed.status_code == 200
    assert state_of(landed.text) == "credited"
    assert element(landed.text, "credited-amount") == "5.00 USD"
    assert element(landed.text, "balance") == "5.00 USD"
    assert 'id="receipt-link"' not in landed.text  # invoice creation is off
    assert entries(page.service) == [(f"checkout_session:{session_id}", 500)]

    assert state_of(page.land(session_id).text) == "credited"  # a reload credits nothing more
    late = deliver(page.http, page.session(session_id))  # Stripe's webhook, after the landing
    assert late.status_code == 200, late.text
    assert entries(page.service) == [(f"checkout_session:{session_id}", 500)]


def test_a_custom_amount_is_charged_as_typed(page: Page) -> None:
    token = page.link()
    assert page.session(page.start(token, "custom", "12.50")).amount_total == 1250
    # Typed without choosing "Other amount" (no script selects it): the typed amount.
    assert page.session(page.start(token, "", "7.25")).amount_total == 725


@pytest.mark.parametrize("settings", [{"invoice_creation": True}], indirect=True)
def test_the_landing_links_the_receipt_when_invoices_are_on(page: Page) -> None:
    session_id = page.start(page.link(), "10.00")
    page.control.pay(session_id)
    landed = page.land(session_id)
    assert state_of(landed.text) == "credited"
    receipt = re.search(r'<a id="receipt-link"[^>]*href="([^"]+)"', landed.text)
    assert receipt is not None
    assert receipt.group(1).startswith(("http://", "https://"))
    assert page.service.payment(session_id).payment.hosted_invoice_url == receipt.group(1)


def race(
    page: Page, other: httpx.Client, paid: Any, head_start: float
) -> dict[str, httpx.Response]:
    """The buyer's landing and Stripe's delivery of ``paid``, released together; the
    landing gets ``head_start`` seconds, as it asks Stripe for the session before it
    credits (the offsets spread the rounds over the moments the two can collide: the
    outcome is asserted the same whichever wins, so the timing decides nothing)."""
    success = str(paid.success_url).replace("{CHECKOUT_SESSION_ID}", paid.id)
    answers: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(2)

    def webhook_delivery() -> None:
        barrier.wait()
        time.sleep(head_start)
        answers["webhook"] = deliver(other, paid)

    webhook = threading.Thread(target=webhook_delivery)
    webhook.start()
    barrier.wait()
    answers["landing"] = page.get(success)
    webhook.join(60)
    return answers


def test_the_landing_racing_the_webhook_leaves_one_entry_every_time(page: Page) -> None:
    """Landing and a really signed delivery of the same paid session, released together."""
    token = page.link()
    rounds = 20
    with httpx.Client(base_url=page.url, timeout=30) as other:
        for round_, cents in enumerate(range(500, 500 + rounds)):  # a session a round
            session_id = page.service.checkout_from_page(token, cents).checkout_session_id
            page.control.pay(session_id)  # paid at Stripe; no endpoint hears it
            answers = race(page, other, page.session(session_id), head_start=0.0003 * round_)
            assert answers["webhook"].status_code == 200, answers["webhook"].text
            assert answers["landing"].status_code == 200
            assert state_of(answers["landing"].text) == "credited"
            assert element(answers["landing"].text, "credited-amount") == f"{cents / 100:.2f} USD"
            sources = [s for s, _ in entries(page.service) if s.endswith(session_id)]
            assert sources == [f"checkout_session:{session_id}"]
    assert page.service.balance(ACCOUNT).balance_cents == sum(range(500, 500 + rounds))
    assert len(entries(page.service)) == rounds
    assert page.service.verify_ledger().ok


def test_a_delayed_payment_lands_pending_and_is_credited_once_when_it_succeeds(
    page: Page,
) -> None:
    page.deliver_webhooks()
    session_id = page.start(page.link(), "20.00")
    page.control.pay(session_id, method="delayed")
    page.control.wait_idle(timeout=30)
    landed = page.land(session_id)
    assert landed.status_code == 200
    assert state_of(landed.text) == "pending"
    assert "not paid yet" in element(landed.text, "state")
    assert "balance will go up when it succeeds" in element(landed.text, "state")
    assert 'id="credited-amount"' not in landed.text
    assert entries(page.service) == []

    page.control.async_succeed(session_id)
    page.control.wait_idle(timeout=30)
    landed = page.land(session_id)
    assert state_of(landed.text) == "credited"
    assert element(landed.text, "credited-amount") == "20.00 USD"
    assert entries(page.service) == [(f"checkout_session:{session_id}", 2000)]


# Tax and discounts through the landing path ------------------------------------------------


def reconciles_clean(service: TopUpService) -> None:
    before = entries(service)
    assert service.reconcile(utcnow() - WEEK).items == ()
    assert service.reconcile(utcnow() - WEEK, fix=True).fixed == 0
    assert entries(service) == before


@pytest.mark.parametrize(
    ("settings", "behavior", "paid", "credited"),
    [
        ({"automatic_tax": True}, "exclusive", 550, 500),  # 10% on top
        ({"automatic_tax": True}, "inclusive", 500, 455),  # 10% inside 5.00
    ],
    indirect=["settings"],
)
def test_with_tax_the_landing_credits_what_was_paid_less_the_tax(
    page: Page, behavior: str, paid: int, credited: int
) -> None:
    page.control.configure_tax(tax_behavior=behavior)
    session_id = page.start(page.link(), "5.00")
    page.control.pay(session_id)
    landed = page.land(session_id)
    assert page.session(session_id).amount_total == paid
    assert state_of(landed.text) == "credited"
    assert element(landed.text, "credited-amount") == f"{credited / 100:.2f} USD"
    assert entries(page.service) == [(f"checkout_session:{session_id}", credited)]
    reconciles_clean(page.service)


@pytest.mark.parametrize(
    ("settings", "credited"),
    [
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
def test_with_a_discount_the_landing_credits_by_the_discount_setting(
    page: Page, credited: int
) -> None:
    coupon = page.stripe.v1.coupons.create(params={"percent_off": 20})
    page.stripe.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TWENTY"}
    )
    session_id = page.start(page.link(), "10.00")
    page.control.pay(session_id, promotion_code="TWENTY")
    landed = page.land(session_id)
    assert element(landed.text, "credited-amount") == f"{credited / 100:.2f} USD"
    assert entries(page.service) == [(f"checkout_session:{session_id}", credited)]
    reconciles_clean(page.service)


# Refused links: a clear page, and nothing at Stripe ------------------------------------------


def assert_refused(answer: httpx.Response, status: int, heading: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert re.search(rf"<h1>{heading}</h1>", answer.text), answer.text
    assert 'id="error" class="error" role="alert"' in answer.text
    assert "Go back to the application" in answer.text


def flipped(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_an_expired_link_is_410_and_creates_nothing(page: Page) -> None:
    token = page.link(ttl=timedelta(minutes=5))
    assert page.http.get("/billing/topup", params={"t": token}).status_code == 200
    page.clock.advance(5 * 60 - 1)
    assert page.http.get("/billing/topup", params={"t": token}).status_code == 200
    page.clock.advance(1)
    before = page.sessions_at_stripe()
    assert_refused(
        page.http.get("/billing/topup", params={"t": token}), 410, "This link has expired"
    )
    assert_refused(page.post(token, amount="5.00"), 410, "This link has expired")
    assert page.sessions_at_stripe() == before


@pytest.mark.parametrize("part", ["payload-start", "payload-middle", "signature-end", "dot"])
def test_a_tampered_link_is_403_and_creates_nothing(page: Page, part: str) -> None:
    token = page.link()
    payload = token.split(".")[0]
    index = {
        "payload-start": 0,
        "payload-middle": len(payload) // 2,
        "signature-end": len(token) - 1,  # base64's last character: its low bits are padding
        "dot": len(payload),
    }[part]
    bad = flipped(token, index)
    before = page.sessions_at_stripe()
    assert_refused(
        page.http.get("/billing/topup", params={"t": bad}), 403, "This link is not valid"
    )
    assert_refused(page.post(bad, amount="5.00"), 403, "This link is not valid")
    assert page.sessions_at_stripe() == before


def test_a_missing_or_oversized_link_is_403(page: Page) -> None:
    assert_refused(page.http.get("/billing/topup"), 403, "This link is not valid")
    assert_refused(page.post(None, amount="5.00"), 403, "This link is not valid")
    assert_refused(page.post("x" * 600, amount="5.00"), 403, "This link is not valid")
    oversized = page.http.get("/billing/topup", params={"t": "x" * 5000})
    assert_refused(oversized, 403, "This link is not valid")
    assert page.sessions_at_stripe() == 0


def test_a_link_of_one_account_opens_nothing_of_another(page: Page) -> None:
    alice = page.start(page.link(ACCOUNT))
    bob = page.start(page.link(OTHER))
    page.control.pay(bob)
    alice_landing = token_of(str(page.session(alice).success_url))
    before = page.sessions_at_stripe()
    # Alice's landing link on Bob's session: refused, Bob's session not fulfilled by it.
    answer = page.http.get("/billing/topup/success", params={"session_id": bob, "t": alice_landing})
    assert_refused(answer, 403, "This link is for another account")
    status = page.http.get(f"/billing/checkout-sessions/{bob}", params={"t": alice_landing})
    assert status.status_code == 404
    assert entries(page.service) == []
    # A landing link is not a page link, nor the reverse.
    assert_refused(
        page.http.get("/billing/topup", params={"t": alice_landing}), 403, "This link is not valid"
    )
    assert_refused(page.post(alice_landing, amount="5.00"), 403, "This link is not valid")
    answer = page.http.get(
        "/billing/topup/success", params={"session_id": alice, "t": page.link(ACCOUNT)}
    )
    assert_refused(answer, 403, "This link is not valid")
    assert page.sessions_at_stripe() == before


def test_a_link_signed_with_another_secret_is_refused(
    page: Page, database_url: str, emulator: EmulatorServer
) -> None:
    other = make_settings(
        database_url, emulator.url, **{**PAGE_SETTINGS, "topup_link_secret": SecretStr("o" * 40)}
    )
    forger = TopUpService.from_settings(other)
    try:
        token = token_of(forger.create_topup_link(ACCOUNT).url)
    finally:
        forger.close()
    assert_refused(
        page.http.get("/billing/topup", params={"t": token}), 403, "This link is not valid"
    )


# Amounts and the form ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "custom", "message"),
    [
        ("custom", "0.10", "0.50"),  # below the minimum
        ("custom", "20000.00", "10000.00"),  # above the maximum
        ("custom", "12.345", "amount"),
        ("custom", "abc", "amount"),
        ("custom", "1e3", "amount"),
        ("custom", "", "Enter the other amount"),
        ("", "", "Choose an amount"),
        ("-5.00", "", "amount"),
    ],
)
def test_a_bad_amount_is_400_on_the_same_page_and_creates_nothing(
    page: Page, amount: str, custom: str, message: str
) -> None:
    token = page.link()
    answer = page.post(token, amount=amount, custom_amount=custom)
    assert answer.status_code == 400, answer.text
    assert re.search(r"<h1>Top up</h1>", answer.text)
    assert 'id="error" class="error" role="alert"' in answer.text
    assert message in element(answer.text, "error")
    assert f'value="{html.escape(custom)}"' in answer.text  # what was typed is kept
    assert page.sessions_at_stripe() == 0


def test_an_oversized_or_odd_form_is_refused_and_creates_nothing(page: Page) -> None:
    token = page.link()
    limit = page.service.settings.api_max_body_bytes
    big = page.http.post(
        "/billing/topup",
        content=f"t={token}&amount=5.00&pad=" + "x" * limit,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    many = "&".join(f"f{i}=1" for i in range(20))
    assert (
        page.http.post(
            "/billing/topup",
            content=f"t={token}&amount=5.00&{many}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 400
    )
    # A field the form does not have (an account, say) is refused, not ignored.
    assert_refused(
        page.post(token, amount="5.00", account="acct-bob"), 400, "This request is not valid"
    )
    twice = page.http.post(
        "/billing/topup",
        content=f"t={token}&amount=5.00&amount=10.00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400
    as_json = page.http.post("/billing/topup", json={"t": token, "amount": "5.00"})
    assert as_json.status_code == 400
    assert page.sessions_at_stripe() == 0


# Cancel, and the JSON status ------------------------------------------------------------------


def test_cancel_says_nothing_was_charged_and_offers_the_page_while_the_link_lasts(
    page: Page,
) -> None:
    session_id = page.start(page.link(ttl=timedelta(minutes=10)))
    cancel_url = str(page.session(session_id).cancel_url)
    answer = page.get(cancel_url)
    assert answer.status_code == 200
    assert "<h1>Payment cancelled</h1>" in answer.text
    assert "Nothing was charged" in answer.text
    again = re.search(r'<a id="try-again"[^>]*href="([^"]+)"', answer.text)
    assert again is not None
    assert page.get(html.unescape(again.group(1))).status_code == 200

    page.clock.advance(10 * 60)  # the page link is over; the landing link is not
    answer = page.get(cancel_url)
    assert answer.status_code == 200
    assert 'id="try-again"' not in answer.text
    assert "ask it for a new top-up link" in answer.text


def test_the_status_endpoint_fulfils_for_the_landing_link_or_the_users_token(page: Page) -> None:
    session_id = page.start(page.link())
    landing = token_of(str(page.session(session_id).success_url))
    path = f"/billing/checkout-sessions/{session_id}"
    assert page.http.get(path, params={"t": landing}).json()["state"] == "not_paid"
    page.control.pay(session_id)
    answer = page.http.get(path, params={"t": landing})
    assert answer.status_code == 200
    assert answer.json() == {
        "id": session_id,
        "state": "credited",
        "account_id": ACCOUNT,
        "credited_cents": 500,
        "currency": "usd",
        "balance_cents": 500,
        "receipt_url": None,
    }
    token = page.service.create_token(ACCOUNT)[1]
    mine = page.http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert mine.json()["state"] == "credited"
    bobs = page.service.create_token(OTHER)[1]
    assert page.http.get(path, headers={"Authorization": f"Bearer {bobs}"}).status_code == 404
    assert page.http.get(path).status_code == 401
    assert page.http.get(path, params={"t": flipped(landing, 3)}).status_code == 403
    page.clock.advance(26 * 3600)
    assert page.http.get(path, params={"t": landing}).status_code == 410
    assert entries(page.service) == [(f"checkout_session:{session_id}", 500)]


# Minting links: the spend API and the CLI ------------------------------------------------------


def test_the_spend_api_mints_links_for_service_keys_only(page: Page) -> None:
    _, key = page.service.create_service_key("host")
    url = f"/api/v1/accounts/{ACCOUNT}/topup-links"
    auth = {"Authorization": f"Bearer {key}"}
    answer = page.http.post(url, headers=auth)
    assert answer.status_code == 201, answer.text
    minted = answer.json()
    assert set(minted) == {"url", "expires_at"}
    assert minted["url"].startswith(f"{PUBLIC}/billing/topup?t=")
    assert minted["expires_at"] == (page.clock.now + timedelta(minutes=15)).isoformat()
    assert page.get(minted["url"]).status_code == 200

    short = page.http.post(url, headers=auth, json={"ttl_seconds": 120})
    assert short.json()["expires_at"] == (page.clock.now + timedelta(seconds=120)).isoformat()
    for ttl in (59, 3601, "120", 1.5):
        assert page.http.post(url, headers=auth, json={"ttl_seconds": ttl}).status_code == 400
    assert page.http.post(url, headers=auth, json={"other": 1}).status_code == 400
    unknown = page.http.post("/api/v1/accounts/acct-nobody/topup-links", headers=auth)
    assert unknown.status_code == 404
    user = page.service.create_token(ACCOUNT)[1]
    assert page.http.post(url, headers={"Authorization": f"Bearer {user}"}).status_code == 403
    assert page.http.post(url).status_code == 401


def test_the_cli_prints_a_working_link(page: Page, settings: Settings) -> None:
    invoke = invoker(
        settings,
        {
            "STRIPETOPUP_TOPUP_PAGE": "true",
            "STRIPETOPUP_TOPUP_LINK_SECRET": LINK_SECRET,
            "STRIPETOPUP_PUBLIC_URL": PUBLIC,
        },
    )
    result = invoke("topup-link", ACCOUNT, "--ttl", "10m")
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith(f"{PUBLIC}/billing/topup?t=")
    assert page.get(url).status_code == 200
    as_json = invoke("topup-link", ACCOUNT, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert '"expires_at"' in as_json.stdout
    assert invoke("topup-link", ACCOUNT, "--ttl", "2h").exit_code == 2
    assert invoke("topup-link", ACCOUNT, "--ttl", "soon").exit_code == 2
    assert invoke("topup-link", "acct-nobody").exit_code != 0


# Settings --------------------------------------------------------------------------------------


def test_the_page_refuses_to_start_without_its_secret_or_public_url(
    database_url: str, emulator: EmulatorServer
) -> None:
    for missing in ("topup_link_secret", "public_url"):
        values = {**PAGE_SETTINGS, missing: None}
        settings = make_settings(database_url, emulator.url, **values)
        service = TopUpService.from_settings(settings)
        try:
            with pytest.raises(ConfigError, match=missing.upper()):
                create_app(service)
        finally:
            service.close()
    with pytest.raises(ValueError, match="at least 32"):
        make_settings(database_url, emulator.url, topup_link_secret=SecretStr("short"))
    with pytest.raises(ValueError, match="origin"):
        make_settings(database_url, emulator.url, public_url="https://pay.example.com/path")
    with pytest.raises(ValueError, match="greater than or equal"):
        make_settings(database_url, emulator.url, topup_link_ttl=30)
    assert make_settings(database_url, emulator.url, topup_link_ttl="15m").topup_link_ttl == 900


def test_with_the_page_off_no_page_is_served_and_no_link_minted(
    database_url: str, emulator: EmulatorServer
) -> None:
    service = TopUpService.from_settings(make_settings(database_url, emulator.url))
    service.open_account(ACCOUNT)
    try:
        with pytest.raises(ConfigError, match="TOPUP_PAGE"):
            service.create_topup_link(ACCOUNT)
        with (
            serve_in_thread(create_app(service)) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            assert http.get("/billing/topup").status_code == 404
    finally:
        service.close()


def test_the_pages_origin_opens_no_door_of_the_checkout_endpoint(page: Page) -> None:
    """Sessions built on PUBLIC_URL by the page do not make it an allowed frontend origin."""
    token = page.service.create_token(ACCOUNT)[1]
    answer = page.http.post(
        "/billing/checkout-session",
        json={"amount_cents": 500},
        headers={"Authorization": f"Bearer {token}", "Origin": PUBLIC},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "origin_not_allowed"
    assert page.sessions_at_stripe() == 0


def test_stripe_failing_is_a_page_saying_so_and_the_landing_answers_later(page: Page) -> None:
    token = page.link()
    page.control.fault("/v1/checkout/sessions", "500", count=1, method="POST")
    failed = page.post(token, amount="5.00")
    assert failed.status_code == 502
    assert "<h1>Something went wrong</h1>" in failed.text
    assert "try again" in element(failed.text, "error")
    assert "stripe" not in element(failed.text, "error").lower()  # nothing of the cause shown
    session_id = page.start(token, "5.00")  # tried again: the next click works
    page.control.pay(session_id)
    success = str(page.session(session_id).success_url).replace("{CHECKOUT_SESSION_ID}", session_id)
    page.control.fault(f"/v1/checkout/sessions/{session_id}", "500", count=1, method="GET")
    unsure = page.get(success)  # Stripe cannot say: nothing claimed, nothing credited
    assert unsure.status_code == 200
    assert state_of(unsure.text) == "unknown"
    assert entries(page.service) == []
    assert state_of(page.land(session_id).text) == "credited"


# Saving the card (auto-recharge's opt-in) -------------------------------------------------


def test_the_consent_to_save_the_card_is_unticked_by_default(page: Page) -> None:
    shown = page.http.get("/billing/topup", params={"t": page.link()}).text
    checkbox = re.search(r'<input type="checkbox" name="save_card"[^>]*>', shown)
    assert checkbox is not None
    assert "checked" not in checkbox.group(0)
    assert "charge it automatically" in element(shown, "save-card-text")
    session_id = page.start(page.link())  # not ticked: nothing asked of Stripe to save
    assert page.session(session_id).customer is None


def test_ticking_the_consent_saves_the_paying_card_through_the_page_door(page: Page) -> None:
    page.deliver_webhooks()
    answer = page.post(page.link(), amount="5.00", save_card="yes")
    assert answer.status_code == 303, answer.text
    session_id = session_of(answer.headers["location"])
    session = page.session(session_id)
    assert str(session.customer).startswith("cus_")
    page.control.pay(session_id)
    page.control.wait_idle(timeout=30)
    paid = page.session(session_id)
    pi = page.stripe.v1.payment_intents.retrieve(str(paid.payment_intent))
    assert pi.setup_future_usage == "off_session"
    [card] = page.service.cards(ACCOUNT).cards
    assert (card.consent_door, card.status) == ("topup_page", "active")


def test_a_consent_field_with_another_value_is_refused_and_asks_nothing(page: Page) -> None:
    before = page.sessions_at_stripe()
    answer = page.post(page.link(), amount="5.00", save_card="on")
    assert answer.status_code == 400
    assert page.sessions_at_stripe() == before
