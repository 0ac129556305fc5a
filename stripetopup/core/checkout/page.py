"""The hosted top-up page's core: minting its links, what it shows, the sessions it creates.

The host application mints a short-lived link for one account (:func:`create_link`) and
redirects its user there; the page verifies the link before anything else (an invalid
link never reaches the database's writes or Stripe), shows the balance and the presets,
and creates the Checkout Session through the same path as ``POST /billing/checkout-session``
(:func:`stripetopup.core.checkout.links.create_returning`), built on
``STRIPETOPUP_PUBLIC_URL`` rather than on ``ALLOWED_FRONTEND_ORIGINS``: the page is the
app's own origin, and that rule for other origins is not loosened. The return URLs carry
a landing link (:func:`stripetopup.core.checkout.topup_links.landing_claims`) that only
reads and fulfils the account's sessions. Imports core (context, checkout, ledger's
accounts), db, store and errors.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from stripetopup.core.checkout import topup_links as signed
from stripetopup.core.checkout.links import ReturnUrls, create_returning
from stripetopup.core.checkout.types import CheckoutLink, LandingLink, TopUpLink, TopUpPage
from stripetopup.core.context import Context
from stripetopup.core.recharge.types import ConsentDoor
from stripetopup.db import transaction
from stripetopup.ids import check_account_id
from stripetopup.store import accounts

PAGE_PATH = "/billing/topup"
SUCCESS_PATH = PAGE_PATH + "/success"
CANCEL_PATH = PAGE_PATH + "/cancel"


def _public_url(ctx: Context) -> str:
    _, public_url = ctx.settings.require_topup_page()
    return public_url


def page_url(ctx: Context, token: str) -> str:
    return f"{_public_url(ctx)}{PAGE_PATH}?{urlencode({'t': token})}"


def create_link(ctx: Context, account_id: str, ttl: timedelta | None = None) -> TopUpLink:
    """A signed link to the page for ``account_id`` (which must exist), valid for ``ttl``."""
    seconds = signed.check_ttl(ttl, ctx)
    ctx.settings.require_topup_page()
    check_account_id(account_id)
    with transaction(ctx.engine) as session:
        accounts.get(session, account_id)
    claims = signed.page_claims(ctx, account_id, seconds)
    return TopUpLink(page_url(ctx, signed.mint(ctx, claims)), claims.expires, account_id)


def open_page(ctx: Context, token: str | None) -> TopUpPage:
    """What the page shows for a valid link; LinkRefused for any other."""
    claims = signed.verify(ctx, token, signed.Purpose.TOPUP)
    assert token is not None  # verify refuses a missing link
    with transaction(ctx.engine) as session:
        balance = accounts.get(session, claims.account_id).balance_cents
    settings = ctx.settings
    return TopUpPage(
        account_id=claims.account_id,
        balance_cents=balance,
        currency=ctx.currency,
        presets_cents=tuple(settings.presets_cents),
        min_amount_cents=settings.min_amount_cents,
        max_amount_cents=settings.max_amount_cents,
        product_name=settings.product_name,
        token=token,
    )


def checkout(
    ctx: Context, token: str | None, amount_cents: int, *, save_card: bool = False
) -> CheckoutLink:
    """A Checkout Session for the link's account, returning to the landing pages;
    ``save_card``: the buyer ticked the consent to save the card for auto-recharge."""
    claims = signed.verify(ctx, token, signed.Purpose.TOPUP)
    base = _public_url(ctx)
    landing = urlencode({"t": signed.mint(ctx, signed.landing_claims(claims))})
    returns = ReturnUrls(
        # Stripe fills in {CHECKOUT_SESSION_ID}; it must stay unescaped in the URL.
        success_url=f"{base}{SUCCESS_PATH}?session_id={{CHECKOUT_SESSION_ID}}&{landing}",
        cancel_url=f"{base}{CANCEL_PATH}?{landing}",
    )
    door = ConsentDoor.TOPUP_PAGE if save_card else None
    return create_returning(
        ctx, claims.account_id, amount_cents, base=base, returns=returns, save_card=door
    )


def verify_landing(ctx: Context, token: str | None) -> LandingLink:
    """A landing link's account, and a page link to try again with while the first lasts."""
    claims = signed.verify(ctx, token, signed.Purpose.LANDING)
    back = None
    if int(ctx.clock().timestamp()) < claims.back_until:
        page = signed.LinkClaims(
            signed.Purpose.TOPUP, claims.account_id, claims.back_until, claims.nonce
        )
        # The same link the buyer came with (same account, expiry and nonce), signed again.
        back = page_url(ctx, signed.mint(ctx, page))
    return LandingLink(claims.account_id, back)
