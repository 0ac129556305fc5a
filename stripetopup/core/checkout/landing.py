"""What a customer returning from Checkout may truthfully be told about their payment.

The success URL is reached the moment Checkout redirects, usually before Stripe's webhook
has credited anything, and a delayed method (a bank debit) reaches it unpaid. So the answer
comes from our payment record first and, while that has not seen the payment through,
from Stripe's own view of the session. Nothing here moves money. Imports the core's
context, the store and errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from stripetopup.core.context import Context
from stripetopup.db import transaction
from stripetopup.errors import NotFound, StripeUnavailable
from stripetopup.store import accounts, payments

# Stripe's ids are short and word-like; anything else is not worth a database or API call.
_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")


class LandingState(StrEnum):
    CREDITED = "credited"  # paid, and the account's balance includes it
    CREDITING = "crediting"  # Stripe says paid; the webhook has not credited it yet
    PENDING = "pending"  # a delayed method: complete but not paid yet
    NEEDS_OPERATOR = "needs_operator"  # paid, held for an operator (unknown account, ...)
    DISMISSED = "dismissed"  # paid, and an operator decided nothing is credited for it
    NOT_PAID = "not_paid"  # open, expired, failed or nothing to pay
    UNKNOWN = "unknown"  # not a session of ours, or Stripe could not be asked


@dataclass(frozen=True)
class Landing:
    checkout_session_id: str
    state: LandingState
    account_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    balance_cents: int | None = None  # the account's balance now, once credited


_SETTLED = {
    "credited": LandingState.CREDITED,
    "attention": LandingState.NEEDS_OPERATOR,
    "dismissed": LandingState.DISMISSED,
    "failed": LandingState.NOT_PAID,
    "expired": LandingState.NOT_PAID,
    "no_payment_required": LandingState.NOT_PAID,
}


def status(ctx: Context, checkout_session_id: str) -> Landing:
    if not _SESSION_ID.fullmatch(checkout_session_id):
        return Landing(checkout_session_id, LandingState.UNKNOWN)
    with transaction(ctx.engine) as session:
        row = payments.find(session, checkout_session_id)
        if row is None:
            return Landing(checkout_session_id, LandingState.UNKNOWN)
        account = accounts.find(session, row.account_id) if row.account_id else None
        known = Landing(
            checkout_session_id,
            _SETTLED.get(row.state, LandingState.UNKNOWN),
            account_id=row.account_id,
            amount_cents=(
                row.amount_requested_cents
                if row.amount_total_cents is None
                else row.amount_total_cents
            ),
            currency=row.currency,
            balance_cents=account.balance_cents if account is not None else None,
        )
    if known.state is not LandingState.UNKNOWN:
        return known
    return _as_stripe_sees_it(ctx, known)


def _as_stripe_sees_it(ctx: Context, known: Landing) -> Landing:
    """Our record has not seen the payment through (created or pending): ask Stripe."""
    try:
        stripe_session = ctx.stripe.retrieve_checkout_session(known.checkout_session_id)
    except (StripeUnavailable, NotFound):
        return known
    if stripe_session.get("payment_status") == "paid":
        state = LandingState.CREDITING
    elif stripe_session.get("status") == "complete":
        state = LandingState.PENDING
    else:
        state = LandingState.NOT_PAID
    amount = stripe_session.get("amount_total")
    return Landing(
        known.checkout_session_id,
        state,
        account_id=known.account_id,
        amount_cents=amount if isinstance(amount, int) else known.amount_cents,
        currency=known.currency,
    )
