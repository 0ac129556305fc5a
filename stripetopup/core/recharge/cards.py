"""Saved cards: recorded from the paid session that saved one, listed, removed, ended.

A session saves a card when the buyer consented (:mod:`.consent`) and Checkout attached
the card that paid to the account's customer (``setup_future_usage=off_session``). What
the card is (brand, last 4, expiry) is asked of Stripe by :func:`gather`, before the
webhook's transaction opens; :func:`record` writes it once in that transaction. Removing
a card detaches it in Stripe first; ``payment_method.detached`` and ``customer.deleted``
end cards without a call. Imports core (context, the room's consent and types), db,
errors, models, store and the typed Stripe objects.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.recharge import consent
from stripetopup.core.recharge.types import CardFacts, CardList, CardView, ConsentDoor
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import NotFound, StripeUnavailable, UsageError
from stripetopup.models import CardStatus, RuleState, SavedCard
from stripetopup.store import accounts, cards, recharge_attempts, recharge_rules
from stripetopup.stripe_objects import CheckoutSession

log = logging.getLogger("stripetopup.core.recharge")
MAX_PAYMENT_METHOD_ID = 255
_PM_ID = re.compile(r"pm_[A-Za-z0-9_]+")


def asks_stripe(checkout: CheckoutSession) -> bool:
    """True when :func:`gather` would ask Stripe: a paid, consented session with its
    PaymentIntent (most sessions save no card and need no call)."""
    return (
        checkout.paid
        and consent.given(checkout.metadata) is not None
        and checkout.payment_intent_id is not None
    )


def gather(ctx: Context, checkout: CheckoutSession) -> CardFacts | None:
    """The card a paid, consented session saved, or None (none saved, or Stripe silent:
    the credit never waits on it; ``replay`` asks again)."""
    pi_id = checkout.payment_intent_id
    if not asks_stripe(checkout) or pi_id is None:
        return None
    try:
        pi = ctx.stripe.retrieve_payment_intent(pi_id, expand=["payment_method"])
    except (StripeUnavailable, NotFound) as exc:
        log.warning("saved card of %s not fetched: %s", checkout.id, exc.message)
        return None
    return _facts(pi, checkout)


def _facts(pi: dict[str, Any], checkout: CheckoutSession) -> CardFacts | None:
    pm = pi.get("payment_method")
    if not isinstance(pm, dict) or not isinstance(pm.get("card"), dict):
        return None
    customer = pm.get("customer") or pi.get("customer") or getattr(checkout, "customer", None)
    if not isinstance(customer, str) or not customer:
        return None  # not attached to a customer: nothing to charge later
    card = pm["card"]
    return CardFacts(
        payment_method_id=str(pm["id"]),
        customer_id=customer,
        brand=str(card.get("brand") or "card")[:40],
        last4=str(card.get("last4") or "")[:4],
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )


def record(
    session: Session, ctx: Context, checkout: CheckoutSession, facts: object, account_id: str
) -> bool:
    """Record the card ``facts`` describes with the session's consent; True when new."""
    given = consent.given(checkout.metadata)
    if not isinstance(facts, CardFacts) or given is None:
        return False
    account = accounts.find(session, account_id)
    if account is None or account.id is None:
        return False
    version, door = given
    created = checkout.created
    values = {
        "account_pk": account.id,
        **{name: getattr(facts, name) for name in CardFacts.__dataclass_fields__},
        "consent_at": datetime.fromtimestamp(created, UTC) if created else ctx.clock(),
        "consent_version": version,
        "consent_door": door.value,
        "checkout_session_id": checkout.id,
        "status": CardStatus.ACTIVE.value,
        "created_at": ctx.clock(),
    }
    cards.keep_customer(session, account.id, facts.customer_id)
    return cards.record(session, values)


def list_cards(ctx: Context, account_id: str) -> CardList:
    with transaction(ctx.engine) as session:
        account = accounts.get(session, account_id)
        assert account.id is not None
        rows = cards.for_account(session, account.id, active_only=False)
        return CardList(account.account_id, tuple(view(row) for row in rows))


def view(row: SavedCard) -> CardView:
    return CardView(
        payment_method_id=row.payment_method_id,
        customer_id=row.customer_id,
        brand=row.brand,
        last4=row.last4,
        exp_month=row.exp_month,
        exp_year=row.exp_year,
        status=CardStatus(row.status),
        consent_at=row.consent_at,
        consent_version=row.consent_version,
        consent_door=ConsentDoor(row.consent_door),
        ended_at=row.ended_at,
        ended_reason=row.ended_reason,
    )


def check_payment_method_id(value: str) -> str:
    """A ``pm_...`` id within bounds (letters, digits, underscores), or a UsageError."""
    if len(value) > MAX_PAYMENT_METHOD_ID or not _PM_ID.fullmatch(value):
        raise UsageError(
            "a payment method id looks like pm_... (letters, digits and _ only)",
            param="payment_method",
        )
    return value


def remove(ctx: Context, account_id: str, payment_method_id: str) -> CardView:
    """End the account's card here (``removed``), then detach it in Stripe.

    Ended first, so it is never charged again even if Stripe cannot be reached (and so
    the ``payment_method.detached`` our own detach causes finds it ended already); running
    ``cards remove`` again retries the detach.
    """
    pm_id = check_payment_method_id(payment_method_id)

    def end(session: Session) -> CardView:
        account = accounts.get(session, account_id)
        found = cards.find(session, pm_id)
        if found is None or found.account_pk != account.id:
            raise NotFound(f"account {account_id} has no saved card {pm_id}")
        reason = "removed by an operator"
        cards.end(
            session,
            cards.by_payment_method(pm_id),
            CardStatus.REMOVED,
            at=ctx.clock(),
            reason=reason,
        )
        _pause_without_card(session, ctx, found.account_pk, f"saved card {reason}")
        return view(cards.find(session, pm_id) or found)

    removed = run_in_transaction(ctx.engine, end)
    if removed.status in (CardStatus.ACTIVE, CardStatus.REMOVED):  # Stripe may still hold it
        _detach(ctx, pm_id)
    return removed


def _detach(ctx: Context, pm_id: str) -> None:
    """Detach in Stripe; one already detached (400) or gone (404) is ended here all the same."""
    try:
        ctx.stripe.detach_payment_method(pm_id)
    except NotFound:
        return
    except StripeUnavailable as exc:
        if exc.http_status != 400:
            raise


def on_detached(session: Session, ctx: Context, payment_method_id: str) -> int:
    """Stripe detached the card: it may not be charged again."""
    where = cards.by_payment_method(payment_method_id)
    reason = "payment_method.detached in Stripe"
    ended = cards.end(session, where, CardStatus.DETACHED, at=ctx.clock(), reason=reason)
    found = cards.find(session, payment_method_id)
    if ended and found is not None:
        _pause_without_card(session, ctx, found.account_pk, f"saved card: {reason}")
    return ended


def on_customer_deleted(session: Session, ctx: Context, customer_id: str) -> int:
    """Stripe deleted the customer: its cards end, the account makes a new one on need."""
    where = cards.by_customer(customer_id)
    reason = "customer.deleted in Stripe"
    holders = {c.account_pk for c in cards.with_customer(session, customer_id)}
    ended = cards.end(session, where, CardStatus.CUSTOMER_DELETED, at=ctx.clock(), reason=reason)
    cards.forget_customer(session, customer_id)
    for account_pk in holders:
        _pause_without_card(session, ctx, account_pk, f"saved card: {reason}")
    return ended


def _pause_without_card(session: Session, ctx: Context, account_pk: int, reason: str) -> None:
    """With no active card left, the account's rule (if any) is paused, saying why, and
    an attempt still pending is ended uncharged."""
    if not cards.for_account(session, account_pk, active_only=True):
        recharge_rules.set_status(session, account_pk, RuleState.PAUSED.value, reason, ctx.clock())
        recharge_attempts.end_pending(session, account_pk, reason, ctx.clock())
