"""Stray payments: an operator assigns a paid session to an account, or dismisses it.

``assign`` fetches the session from Stripe (what is credited is the credit rule's amount),
refuses one that is not paid or not in our currency or mode, and credits it through
:func:`stripetopup.core.events.credit.credit_session`, the exactly-once path
(``checkout_session:cs_...``).
Refunds and disputes Stripe already made on it are debited in the same transaction, so
the ledger matches the money at once. ``dismiss`` marks it dismissed, credits nothing, and
no later event credits it; ``assign`` refuses a dismissed payment unless ``force``d. Every
decision is appended to the payment's history (``store.resolutions``); the payment row
shows the latest. What Stripe returns is validated into typed :mod:`stripetopup.stripe_objects`.
Imports core, store, db, models, errors and the typed Stripe objects.
"""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events import receipts
from stripetopup.core.events.credit import credit_session, session_account_id
from stripetopup.core.events.reversals import current_objects, settle_intent
from stripetopup.core.ledger import reversals, sources
from stripetopup.core.ledger.accounts import check_line
from stripetopup.core.payments.types import Decision, Payment, PaymentDetail, Resolution
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import NotFound, PaymentStateError, UsageError
from stripetopup.models import MAX_REASON_LENGTH, EventResult, PaymentState, StripePayment
from stripetopup.money import format_cents
from stripetopup.store import accounts, payments, resolutions
from stripetopup.store import reversals as store
from stripetopup.stripe_objects import CheckoutSession, Reversible

Found = dict[reversals.Family, list[Reversible]]


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise UsageError("a reason is required to assign or dismiss a payment", param="reason")
    if len(cleaned) > MAX_REASON_LENGTH:
        raise UsageError(f"reason is longer than {MAX_REASON_LENGTH} characters", param="reason")
    check_line(cleaned, param="reason")  # one printable line, as for credit, debit and spend
    return cleaned


def _check_assignable(ctx: Context, checkout: CheckoutSession) -> None:
    session_id = checkout.id
    if not checkout.paid:
        state = f"{checkout.status}/{checkout.payment_status}"
        raise PaymentStateError(
            f"{session_id} is not paid (Stripe says {state}): nothing to credit"
        )
    currency = checkout.currency_code
    if currency != ctx.currency:
        raise PaymentStateError(
            f"{session_id} was paid in {currency.upper()}; only {ctx.currency.upper()} is "
            "credited (refund it in Stripe, or dismiss it)"
        )
    if checkout.livemode != ctx.settings.livemode:
        raise PaymentStateError(f"{session_id} is from the other mode (livemode)")
    if checkout.amount_total is None or checkout.amount_total <= 0:
        raise PaymentStateError(f"{session_id} has no positive amount_total")


def _refuse_dismissed(payment: StripePayment | None, force: bool) -> None:
    """A dismissal is an operator's word that nothing is credited; only --force undoes it."""
    if payment is None or payment.state != PaymentState.DISMISSED or force:
        return
    when = f"{payment.resolved_at:%Y-%m-%d %H:%M:%S} UTC" if payment.resolved_at else "earlier"
    why = f" ({payment.resolution})" if payment.resolution else ""
    raise PaymentStateError(
        f"{payment.checkout_session_id} was dismissed by {payment.resolved_by or 'an operator'} "
        f"at {when}{why}; nothing was credited. Pass --force to assign it anyway"
    )


def assign(
    ctx: Context,
    checkout_session_id: str,
    account_id: str,
    *,
    reason: str,
    actor: str,
    force: bool = False,
) -> Resolution:
    """Credit a paid session to ``account_id`` (exactly once), with a reason and an actor.

    PaymentStateError for a dismissed payment unless ``force``.
    """
    reason = _reason(reason)
    stripe = ctx.stripe  # a missing key is refused before the database is touched
    with transaction(ctx.engine) as session:  # refused before asking Stripe anything
        _refuse_dismissed(payments.find(session, checkout_session_id), force)
    checkout = CheckoutSession.parse(stripe.retrieve_checkout_session(checkout_session_id))
    _check_assignable(ctx, checkout)
    pi = checkout.payment_intent_id
    found: Found = {}
    if pi is not None:  # asked before the transaction: no Stripe call under the lock
        found = {f: current_objects(ctx, f, pi) for f in (reversals.REFUNDS, reversals.DISPUTES)}

    def work(session: Session) -> Resolution:
        if accounts.find(session, account_id) is None:
            raise accounts.unknown(account_id)
        existing = payments.find(session, checkout_session_id, lock=True)
        if existing is not None and existing.state == PaymentState.CREDITED:
            return _already_credited(session, existing, account_id)
        _refuse_dismissed(existing, force)  # again under the lock: a dismiss may have raced
        forced = existing is not None and existing.state == PaymentState.DISMISSED
        if existing is not None and forced:
            # An operator's forced assign undoes a dismissal; nothing automatic does.
            payments.advance(
                session,
                existing,
                PaymentState.ATTENTION,
                reason=existing.attention_reason,
                force=True,
            )
        return _credit(session, ctx, checkout, account_id, reason, actor, found, forced=forced)

    return run_in_transaction(ctx.engine, work)


def _credit(
    session: Session,
    ctx: Context,
    checkout: CheckoutSession,
    account_id: str,
    reason: str,
    actor: str,
    found: Found,
    *,
    forced: bool,
) -> Resolution:
    credit = credit_session(
        session,
        ctx,
        checkout,
        actor=actor,
        event_id=None,
        account_override=account_id,
        reason=reason,
    )
    if not credit.landed:
        raise PaymentStateError(f"{checkout.id} was not credited: {credit.detail}")
    payment = credit.payment
    store.mark_resolved(session, payment, actor=actor, resolution=reason, account_id=account_id)
    resolutions.append(
        session,
        payment.checkout_session_id,
        action=resolutions.ASSIGNED,
        actor=actor,
        reason=reason,
        account_id=account_id,
        forced=forced,
    )
    moved: list[tuple[str, int]] = []
    for family, objects in found.items():
        settled = settle_intent(
            session, payment, family, objects, actor=actor, event_id=None, at=ctx.clock()
        )
        moved.extend((move.source, move.amount_cents) for move, _ in settled.posted)
    return Resolution(
        action="assigned",
        changed=credit.result == EventResult.CREDITED,
        payment=Payment.of(payment),
        entry_id=credit.entry_id,
        amount_cents=credit.reported_cents,
        reversals=tuple(moved),
        balance_cents=accounts.get(session, account_id).balance_cents,
    )


def _already_credited(session: Session, payment: StripePayment, account_id: str) -> Resolution:
    credited_to = payment.account_id
    if payment.payment_intent_id is not None:
        source = sources.checkout_credit(payment.checkout_session_id)
        for entry in store.intent_entries(session, payment.payment_intent_id):
            if entry.source == source:
                credited_to = entry.account_id
    if credited_to != account_id:
        raise PaymentStateError(
            f"{payment.checkout_session_id} is already credited to {credited_to} "
            f"(entry {payment.credited_entry_id}); debit it there by hand first"
        )
    return Resolution(
        action="assigned",
        changed=False,
        payment=Payment.of(payment),
        entry_id=payment.credited_entry_id,
        amount_cents=payment.amount_total_cents,
        balance_cents=accounts.get(session, account_id).balance_cents,
    )


def dismiss(ctx: Context, checkout_session_id: str, *, reason: str, actor: str) -> Resolution:
    """Mark a payment dismissed: nothing is credited, now or by any later event."""
    reason = _reason(reason)
    with transaction(ctx.engine) as session:
        known = payments.find(session, checkout_session_id) is not None
    # A payment we never recorded is fetched from Stripe (NotFound if Stripe lacks it too).
    fetched = None if known else ctx.stripe.retrieve_checkout_session(checkout_session_id)
    checkout = CheckoutSession.parse(fetched) if fetched is not None else None

    def work(session: Session) -> Resolution:
        if checkout is not None:
            payments.upsert_from_stripe(session, checkout, session_account_id(checkout))
        payment = payments.find(session, checkout_session_id, lock=True)
        if payment is None:
            raise NotFound(f"no payment {checkout_session_id}")
        if payment.state == PaymentState.CREDITED:
            amount = format_cents(payment.amount_total_cents or 0)
            raise PaymentStateError(
                f"{checkout_session_id} is already credited ({amount} to {payment.account_id}, "
                f"entry {payment.credited_entry_id}); to take it back, debit the account"
            )
        changed = payment.state != PaymentState.DISMISSED
        if changed:
            payments.advance(
                session, payment, PaymentState.DISMISSED, reason=payment.attention_reason
            )
            store.mark_resolved(session, payment, actor=actor, resolution=reason)
            resolutions.append(
                session,
                checkout_session_id,
                action=resolutions.DISMISSED,
                actor=actor,
                reason=reason,
            )
        return Resolution(action="dismissed", changed=changed, payment=Payment.of(payment))

    return run_in_transaction(ctx.engine, work)


def detail(ctx: Context, checkout_session_id: str) -> PaymentDetail:
    """One payment with its whole resolution history; NotFound if we have no record of it."""
    with transaction(ctx.engine) as session:
        payment = payments.find(session, checkout_session_id)
        if payment is None:
            raise NotFound(f"no payment {checkout_session_id} in the local record")
        history = resolutions.history(session, checkout_session_id)
        found = PaymentDetail(Payment.of(payment), tuple(Decision.of(row) for row in history))
    return _with_receipt(ctx, found)


def _with_receipt(ctx: Context, found: PaymentDetail) -> PaymentDetail:
    """Ask Stripe for a receipt page the webhook could not fetch, and keep it."""
    invoice_id = found.payment.invoice_id
    if invoice_id is None or found.payment.hosted_invoice_url is not None:
        return found
    url = receipts.hosted_invoice_url(ctx, invoice_id)
    if url is None:
        return found
    session_id = found.payment.checkout_session_id
    run_in_transaction(ctx.engine, lambda session: payments.keep_receipt(session, session_id, url))
    payment = dataclasses.replace(found.payment, hosted_invoice_url=url)
    return dataclasses.replace(found, payment=payment)
