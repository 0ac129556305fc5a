"""Fulfilment on landing: what a buyer returning from Checkout is told, after crediting a
paid session there and then, as Stripe's fulfilment guide recommends.

The success URL is reached the moment Checkout redirects, usually before Stripe's webhook.
So a session our record has not seen through (created, pending) is retrieved from Stripe
and, when it is paid, credited through :func:`stripetopup.core.events.credit.credit_session`,
the one exactly-once credit the webhook uses too: whichever of the two comes first credits,
the other finds it done (the ledger's unique source), and the answer is read back from the
ledger (the credit rule's amount, never ``amount_total``) and the payment (its receipt).
Only sessions of ours (a payment row) are looked up at Stripe, and only for the account a
link or credential names. Imports core (context, events' credit and receipts), db, errors,
models, store and the typed Stripe objects.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from stripetopup.core.checkout.types import Landing, LandingState
from stripetopup.core.context import Context
from stripetopup.core.events import receipts
from stripetopup.core.events.credit import credit_session
from stripetopup.core.ledger import sources
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import NotFound, PayloadError, StripeUnavailable
from stripetopup.models import StripePayment
from stripetopup.store import accounts, ledger, payments
from stripetopup.stripe_objects import CheckoutSession

ACTOR = "landing"
# Stripe's ids are short and word-like; anything else is not worth a database or API call.
_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")

_SETTLED = {
    "credited": LandingState.CREDITED,
    "attention": LandingState.NEEDS_OPERATOR,
    "dismissed": LandingState.DISMISSED,
    "failed": LandingState.NOT_PAID,
    "expired": LandingState.NOT_PAID,
    "no_payment_required": LandingState.NOT_PAID,
}


def land(ctx: Context, checkout_session_id: str, *, account_id: str | None = None) -> Landing:
    """Fulfil ``checkout_session_id`` if it is paid, then say where it stands.

    With ``account_id`` (a landing link's or a user's account) a session of another
    account, or none of ours, is NotFound and Stripe is not asked; without it (the demo's
    stand-in page) such a session is ``unknown``.
    """
    known = _known(ctx, checkout_session_id, account_id)
    if known.state is not LandingState.UNKNOWN:
        return known
    try:
        stripe_session = CheckoutSession.parse(
            ctx.stripe.retrieve_checkout_session(checkout_session_id)
        )
    except (StripeUnavailable, NotFound, PayloadError):
        return known
    if stripe_session.paid:
        _credit(ctx, stripe_session)
        return _known(ctx, checkout_session_id, account_id, stripe_session)
    state = LandingState.PENDING if stripe_session.status == "complete" else LandingState.NOT_PAID
    amount = stripe_session.amount_total
    return _with(known, state, amount_cents=amount if amount is not None else known.amount_cents)


def _credit(ctx: Context, checkout: CheckoutSession) -> None:
    # The receipt is asked of Stripe before the transaction, as the webhook's gatherer does.
    receipt = receipts.hosted_invoice_url(ctx, checkout.invoice_id) if checkout.invoice_id else None

    def work(session: Session) -> None:
        credit_session(session, ctx, checkout, actor=ACTOR, event_id=None)
        receipts.keep(session, checkout.id, receipt)

    run_in_transaction(ctx.engine, work)


def _known(
    ctx: Context,
    checkout_session_id: str,
    account_id: str | None,
    paid: CheckoutSession | None = None,
) -> Landing:
    """The answer our own records give (``unknown`` while they have not seen it through)."""
    if not _SESSION_ID.fullmatch(checkout_session_id):
        return _unknown(checkout_session_id, account_id)
    with transaction(ctx.engine) as session:
        row = payments.find(session, checkout_session_id)
        if row is None or (account_id is not None and row.account_id != account_id):
            return _unknown(checkout_session_id, account_id)
        return _from_row(session, row, paid)


def _unknown(checkout_session_id: str, account_id: str | None) -> Landing:
    if account_id is not None:
        raise NotFound("no such checkout session for this account")
    return Landing(checkout_session_id, LandingState.UNKNOWN)


def _from_row(session: Session, row: StripePayment, paid: CheckoutSession | None) -> Landing:
    account = accounts.find(session, row.account_id) if row.account_id else None
    entry = ledger.find_by_source(session, sources.checkout_credit(row.checkout_session_id))
    state = _SETTLED.get(row.state, LandingState.UNKNOWN)
    if state is LandingState.UNKNOWN and paid is not None:
        state = LandingState.CREDITING  # paid, but the credit could not be made just now
    return Landing(
        row.checkout_session_id,
        state,
        account_id=row.account_id,
        amount_cents=(
            row.amount_requested_cents if row.amount_total_cents is None else row.amount_total_cents
        ),
        currency=row.currency,
        balance_cents=account.balance_cents if account is not None else None,
        credited_cents=entry.amount_cents if entry is not None else None,
        receipt_url=row.hosted_invoice_url,
    )


def _with(known: Landing, state: LandingState, *, amount_cents: int | None) -> Landing:
    return Landing(
        known.checkout_session_id,
        state,
        account_id=known.account_id,
        amount_cents=amount_cents,
        currency=known.currency,
        balance_cents=known.balance_cents,
        receipt_url=known.receipt_url,
    )
