"""The one exactly-once credit of a paid Checkout Session.

Every path that credits a session comes through :func:`credit_session`: the webhook and
``replay`` (the session handlers), a refund or dispute that arrives before its session's
event, ``reconcile --fix`` and an operator's ``payments assign``. What is credited is
:func:`credited_cents` (the rule reconcile compares with too), under the source
``checkout_session:cs_...``; the ledger's unique source makes a second call an answer
(``already_applied``), never a second credit.
Imports core (sources, context), store, models, errors and the typed Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger import sources
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.outbound.emit import advance_payment
from stripetopup.errors import NotFound
from stripetopup.models import EventResult, LedgerKind, PaymentState, StripePayment
from stripetopup.store import ledger, payments
from stripetopup.store.grants import GrantRule
from stripetopup.stripe_objects import CheckoutSession


@dataclass(frozen=True)
class Credit:
    """What crediting one session did: ``credited`` once, then ``already_applied``.

    ``attention`` (kept for an operator, with the reason in ``detail``) and ``ignored``
    (dismissed) credit nothing; ``entry_id`` is the credit's entry when there is one and
    ``amount_cents`` what this call credited (``credited`` only).
    """

    result: EventResult
    detail: str
    payment: StripePayment
    entry_id: int | None = None
    amount_cents: int | None = None

    @property
    def reported_cents(self) -> int | None:
        """The amount to report: what was credited now, else what Stripe charged."""
        return (
            self.amount_cents if self.amount_cents is not None else self.payment.amount_total_cents
        )

    @property
    def landed(self) -> bool:
        """True when the session's money is in the ledger (now or from before)."""
        return self.result in (EventResult.CREDITED, EventResult.ALREADY_APPLIED)


def session_account_id(checkout: CheckoutSession) -> str | None:
    """The account a Checkout Session pays for: client_reference_id, else metadata."""
    metadata = checkout.metadata or {}
    value = checkout.client_reference_id or metadata.get("account_id")
    return str(value) if value else None


def credited_cents(ctx: Context, checkout: CheckoutSession) -> int | None:
    """What a paid session credits: what was paid excluding tax, None without an amount.

    ``amount_total - total_details.amount_tax`` is right for exclusive tax (added on top)
    and inclusive tax (inside the price) alike; with ``STRIPETOPUP_DISCOUNT_CREDIT=
    undiscounted`` the discount is added back (the value before it). Without tax and
    discount (``total_details`` zero or absent) it is ``amount_total``, as it always was.
    """
    if checkout.amount_total is None:
        return None
    details = checkout.total_details
    if details is None:
        return checkout.amount_total
    discount = details.amount_discount if ctx.settings.discount_credit == "undiscounted" else 0
    return checkout.amount_total - details.amount_tax + discount


def attention_reason(ctx: Context, checkout: CheckoutSession) -> str | None:
    """Why a paid session must not be credited automatically, or None when it may be.

    Whether the account exists is not asked here: the credit itself finds out, under the
    account's lock, and answers ``unknown account`` the same way.
    """
    if session_account_id(checkout) is None:
        return "no account: the session has no client_reference_id or metadata.account_id"
    currency = checkout.currency_code
    if currency != ctx.currency:
        return f"currency {currency or 'missing'} is not {ctx.currency}"
    if checkout.livemode != ctx.settings.livemode:
        mode = "live" if checkout.livemode else "test"
        return f"{mode}-mode payment does not match this {_mode(ctx)}-mode installation"
    if checkout.amount_total is None or checkout.amount_total <= 0:
        return "the session has no positive amount_total"
    credit = credited_cents(ctx, checkout)
    if credit is None or credit <= 0:
        return "the session's amount_total excluding tax is not positive"
    return None


def _mode(ctx: Context) -> str:
    return "live" if ctx.settings.livemode else "test"


def session_posting(
    ctx: Context,
    checkout: CheckoutSession,
    account_id: str,
    amount_cents: int,
    *,
    actor: str,
    event_id: str | None,
    payment_intent_id: str | None,
    now: datetime,
    reason: str | None = None,
) -> ledger.Posting:
    """The ledger posting that credits a paid session (both paths, the ORM's and the
    pre-built statements', build it here): the session's one source, and a paid grant that
    expires after ``STRIPETOPUP_PAID_CREDIT_EXPIRES`` when that is set."""
    ttl = ctx.settings.paid_credit_ttl
    return ledger.Posting(
        account_id=account_id,
        amount_cents=amount_cents,
        currency=checkout.currency_code,
        kind=LedgerKind.TOPUP,
        source=sources.checkout_credit(checkout.id),
        actor=actor,
        reason=reason,
        checkout_session_id=checkout.id,
        payment_intent_id=payment_intent_id,
        event_id=event_id,
        grants=GrantRule(expires_at=None if ttl is None else now + ttl),  # a paid grant
        at=now,
    )


def credit_session(
    session: Session,
    ctx: Context,
    checkout: CheckoutSession,
    *,
    actor: str,
    event_id: str | None,
    account_override: str | None = None,
    reason: str | None = None,
) -> Credit:
    """Credit a paid session's :func:`credited_cents` once, in the caller's transaction.

    ``account_override`` is an operator's assignment: it credits that account and skips
    the automatic checks (the operator has made them).
    """
    account_id = account_override or session_account_id(checkout)
    payment = payments.upsert_from_stripe(session, checkout, account_id)
    if payment.state == PaymentState.DISMISSED:
        return Credit(EventResult.IGNORED, "payment was dismissed by an operator", payment)
    if payment.state == PaymentState.CREDITED and account_override is None:
        # Credited already (perhaps assigned by an operator to another account than the
        # session names): a late event must not flag it for attention again.
        return _already(payment, payment.credited_entry_id)
    problem = None if account_override else attention_reason(ctx, checkout)
    if problem is not None:
        return _attention(session, ctx, payment, problem)
    assert account_id is not None  # attention_reason refuses a session without one
    amount = credited_cents(ctx, checkout)
    if amount is None or amount <= 0:  # an operator's assignment skips attention_reason
        return _attention(session, ctx, payment, "the session has no positive amount to credit")
    posting = session_posting(
        ctx,
        checkout,
        account_id,
        amount,
        actor=actor,
        event_id=event_id,
        payment_intent_id=payment.payment_intent_id,
        now=ctx.clock(),
        reason=reason,
    )
    try:
        posted = outbound.post(session, ctx, posting)
    except NotFound:  # raised before anything is written: the account lookup comes first
        return _attention(session, ctx, payment, f"unknown account: {account_id}")
    entry_id = posted.entry.id
    payments.advance(session, payment, PaymentState.CREDITED, entry_id=entry_id, force=True)
    if posted.created:
        detail = f"credited {amount} to {account_id}"
        return Credit(EventResult.CREDITED, detail, payment, entry_id, amount)
    return _already(payment, entry_id)


def _already(payment: StripePayment, entry_id: int | None) -> Credit:
    return Credit(
        EventResult.ALREADY_APPLIED, "this payment was already credited", payment, entry_id
    )


def _attention(session: Session, ctx: Context, payment: StripePayment, problem: str) -> Credit:
    advance_payment(session, ctx, payment, PaymentState.ATTENTION, reason=problem)
    return Credit(EventResult.ATTENTION, problem, payment)
