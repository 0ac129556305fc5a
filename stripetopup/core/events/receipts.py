"""The receipt of a top-up: the hosted page of the invoice Checkout made for it.

With ``STRIPETOPUP_INVOICE_CREATION`` on, a paid session names its invoice (``in_...``);
the payment keeps that id (:func:`stripetopup.store.payments.upsert_from_stripe`) and the
invoice's ``hosted_invoice_url``, asked of Stripe here. A receipt is never worth a
missed credit: when Stripe cannot answer, the credit goes ahead without the link and
``payments show`` asks again. Imports core (context), errors, store and the typed Stripe
objects.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.errors import NotFound, StripeUnavailable
from stripetopup.store import payments
from stripetopup.stripe_objects import CheckoutSession, Event

log = logging.getLogger("stripetopup.core.events")


def hosted_invoice_url(ctx: Context, invoice_id: str) -> str | None:
    """The invoice's receipt page, or None when Stripe has none or cannot answer now."""
    try:
        invoice = ctx.stripe.retrieve_invoice(invoice_id)
    except (StripeUnavailable, NotFound) as exc:
        log.warning("receipt of invoice %s not fetched: %s", invoice_id, exc.message)
        return None
    url = invoice.get("hosted_invoice_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def gather_receipt(ctx: Context, event: Event) -> str | None:
    """For a session event: its invoice's receipt page, asked before the transaction."""
    checkout = event.object_as(CheckoutSession)
    if checkout.invoice_id is None:  # invoice creation off, or not paid yet
        return None
    return hosted_invoice_url(ctx, checkout.invoice_id)


def asks_stripe(checkout: CheckoutSession) -> bool:
    """True when :func:`gather_receipt` would ask Stripe (the session has an invoice)."""
    return checkout.invoice_id is not None


def keep(session: Session, checkout_session_id: str, url: object) -> None:
    """Keep a gathered receipt page on the payment (nothing when none was found)."""
    if isinstance(url, str):
        payments.keep_receipt(session, checkout_session_id, url)
