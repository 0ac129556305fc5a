"""Creating Checkout Sessions: amount rules, origin check, Stripe call, local payment row.

The origin is checked before anything else talks to Stripe, so a request from an origin
that is not allowed never reaches it. The Stripe idempotency key is derived from the
request (account, amount, currency, origin and the caller's key, or a ten-second window
when the caller sends none), so a double click or a retried request gets the same
session instead of a second one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stripetopup.core.checkout.types import CheckoutLink
from stripetopup.core.context import Context
from stripetopup.core.ledger.accounts import fingerprint
from stripetopup.core.recharge import consent, customers
from stripetopup.core.recharge.types import ConsentDoor
from stripetopup.core.spending.spend import check_key
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import ConfigError, OriginNotAllowed
from stripetopup.money import check_bounds
from stripetopup.store import accounts, payments

DOUBLE_CLICK_WINDOW_SECONDS = 10


@dataclass(frozen=True)
class ReturnUrls:
    """Where Checkout sends the buyer back to (``{CHECKOUT_SESSION_ID}`` filled by Stripe)."""

    success_url: str
    cancel_url: str


def resolve_origin(ctx: Context, origin: str | None) -> str:
    """The validated origin the success and cancel URLs are built from."""
    allowed = ctx.settings.allowed_frontend_origins
    if not allowed:
        raise ConfigError(
            "ALLOWED_FRONTEND_ORIGINS is not set: checkout builds its success/cancel URLs "
            "from it (set it, e.g. ALLOWED_FRONTEND_ORIGINS=https://app.example.com)"
        )
    if origin is None:
        return allowed[0]
    parts = urlsplit(origin.strip())
    normalized = f"{parts.scheme}://{parts.netloc}".lower()
    if not parts.scheme or normalized not in allowed:
        raise OriginNotAllowed("Origin is not in ALLOWED_FRONTEND_ORIGINS", param="Origin")
    return normalized


def create(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    origin: str | None = None,
    request_key: str | None = None,
    save_card: ConsentDoor | None = None,
) -> CheckoutLink:
    settings = ctx.settings
    base = resolve_origin(ctx, origin)
    returns = ReturnUrls(base + settings.success_path, base + settings.cancel_path)
    return create_returning(
        ctx,
        account_id,
        amount_cents,
        base=base,
        returns=returns,
        request_key=request_key,
        save_card=save_card,
    )


def create_returning(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    base: str,
    returns: ReturnUrls,
    request_key: str | None = None,
    save_card: ConsentDoor | None = None,
) -> CheckoutLink:
    """A session returning to ``returns``, built on ``base``: an origin :func:`resolve_origin`
    allowed, or (the hosted top-up page) ``STRIPETOPUP_PUBLIC_URL``.

    ``save_card`` is the door the buyer consented through to save the card that pays
    (None: no consent, nothing saved); the account's Stripe Customer is made for it.
    """
    settings = ctx.settings
    if request_key is not None:
        check_key(request_key)
    check_bounds(amount_cents, minimum=settings.min_amount_cents, maximum=settings.max_amount_cents)
    stripe = ctx.stripe  # a missing key is refused before the database is touched
    with transaction(ctx.engine) as session:
        customer = accounts.get(session, account_id).stripe_customer_id
    if save_card and customer is None:
        customer = customers.ensure(ctx, account_id)
    window = request_key or str(int(time.time()) // DOUBLE_CLICK_WINDOW_SECONDS)
    parts: tuple[object, ...] = (account_id, amount_cents, ctx.currency, base, window)
    if save_card:  # only then: an unchanged request keeps its key from before
        parts += (save_card.value,)
    key = "stripetopup-checkout-" + fingerprint(*parts)
    params = session_params(ctx, account_id, amount_cents, returns)
    saving(params, customer, save_card)
    created = stripe.create_checkout_session(params, idempotency_key=key)
    return record(ctx, created, account_id, amount_cents)


def record(
    ctx: Context, created: dict[str, Any], account_id: str, amount_cents: int
) -> CheckoutLink:
    """The local payment row of a session just created (a no-op when a webhook wrote it
    first), so landing, ``payments`` and reconcile know it; the link to it."""
    link = CheckoutLink(
        checkout_session_id=str(created["id"]),
        url=str(created["url"]),
        account_id=account_id,
        amount_cents=amount_cents,
        currency=ctx.currency,
    )
    run_in_transaction(
        ctx.engine,
        lambda session: payments.record_created(
            session,
            checkout_session_id=link.checkout_session_id,
            account_id=account_id,
            amount_requested_cents=amount_cents,
            currency=ctx.currency,
            livemode=bool(created.get("livemode")),
            url=link.url,
        ),
    )
    return link


def saving(params: dict[str, Any], customer: str | None, door: ConsentDoor | None) -> None:
    """The account's customer (if any) pays; with consent the card is saved off-session."""
    if customer:
        params["customer"] = customer
    if door is None:
        return
    metadata = {**params["metadata"], **consent.metadata(door)}
    params["metadata"] = metadata
    params["payment_intent_data"] = {"metadata": metadata, "setup_future_usage": "off_session"}


def session_params(
    ctx: Context, account_id: str, amount_cents: int, returns: ReturnUrls
) -> dict[str, Any]:
    settings = ctx.settings
    metadata = {"account_id": account_id, "source": "stripetopup"}
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": ctx.currency,
                    "unit_amount": amount_cents,
                    "product_data": {"name": settings.product_name},
                },
            }
        ],
        "client_reference_id": account_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": returns.success_url,
        "cancel_url": returns.cancel_url,
        # No expires_at: every parameter must be identical on an idempotent retry, and a
        # clock-derived one is not. Stripe's default (24 hours) applies.
    }
    # Only what is on: with every setting off the request is exactly what it was before.
    if settings.automatic_tax:
        params["automatic_tax"] = {"enabled": True}
    if settings.invoice_creation:
        params["invoice_creation"] = {"enabled": True}
    if settings.allow_promotion_codes:
        params["allow_promotion_codes"] = True
    return params
