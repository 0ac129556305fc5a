"""Comparing one Stripe Checkout Session with the local record: which differences it has.

Pure functions over a typed :class:`~stripetopup.stripe_objects.CheckoutSession` and a
:class:`PageView` (what one page's batched queries found); no I/O. Refund and dispute
differences found here are candidates, confirmed against Stripe's refund/dispute lists by
:mod:`stripetopup.core.reconcile`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stripetopup.core.context import Context
from stripetopup.core.events.credit import credited_cents, session_account_id
from stripetopup.core.ledger import sources
from stripetopup.core.reconcile.kinds import DifferenceKind
from stripetopup.core.reconcile.types import Difference
from stripetopup.models import PaymentState, StripePayment
from stripetopup.money import format_cents, format_money
from stripetopup.store.reconcile import LedgerRow
from stripetopup.stripe_objects import Charge, CheckoutSession, PaymentIntent


@dataclass
class PageView:
    """The local side of one page: payment rows, credits, reversals, known accounts and
    (for a page of auto-recharge PaymentIntents) known attempts."""

    payments: dict[str, StripePayment]
    rows: list[LedgerRow]
    accounts: set[str] = field(default_factory=set)
    attempts: set[str] = field(default_factory=set)
    credits: dict[str, LedgerRow] = field(init=False)  # by Checkout Session id
    intent_credits: dict[str, LedgerRow] = field(init=False)  # recharges, by PaymentIntent id
    by_intent: dict[str, list[LedgerRow]] = field(init=False)

    def __post_init__(self) -> None:
        self.credits, self.intent_credits = {}, {}
        self.by_intent = defaultdict(list)
        for row in self.rows:
            if row.source.startswith(sources.CHECKOUT_SESSION):
                self.credits[row.source.removeprefix(sources.CHECKOUT_SESSION)] = row
            elif row.source.startswith(sources.PAYMENT_INTENT):
                self.intent_credits[row.source.removeprefix(sources.PAYMENT_INTENT)] = row
            elif row.payment_intent_id:
                self.by_intent[row.payment_intent_id].append(row)

    def amounts_for(self, payment_intent_id: str) -> dict[str, int]:
        """The intent's refund/dispute entries: source -> signed cents."""
        return {row.source: row.amount_cents for row in self.by_intent.get(payment_intent_id, [])}


def latest_charge(checkout: CheckoutSession) -> Charge | None:
    """The expanded ``payment_intent.latest_charge`` (None when not expanded or absent)."""
    intent = checkout.payment_intent
    charge = intent.latest_charge if isinstance(intent, PaymentIntent) else None
    return charge if isinstance(charge, Charge) else None


def reversal_intent(checkout: CheckoutSession) -> str | None:
    """The payment intent id when its charge shows a refund or a dispute, else None."""
    charge = latest_charge(checkout)
    if charge is None or (not charge.amount_refunded and not charge.disputed):
        return None
    return checkout.payment_intent_id


def needs_account_check(checkout: CheckoutSession, view: PageView) -> str | None:
    """The account id to look up when the session is paid and not credited."""
    if not checkout.paid or checkout.id in view.credits:
        return None
    return session_account_id(checkout)


def classify(
    ctx: Context, checkout: CheckoutSession, view: PageView, now: datetime
) -> list[Difference]:
    """Every difference between the Stripe session ``checkout`` and the local record."""
    payment = view.payments.get(checkout.id)
    if payment is not None and payment.state == PaymentState.DISMISSED:
        return []
    credit = view.credits.get(checkout.id)
    if credit is not None:
        found = (
            [_credited(checkout, credit)]
            if not checkout.paid
            else [_mismatch(ctx, checkout, credit)]
        )
        found = [d for d in found if d is not None]
        return found + (_reversals(checkout, view, credit.account_id) if checkout.paid else [])
    if checkout.paid:
        difference = _not_credited(ctx, checkout, view)
        if difference.kind != DifferenceKind.PAID_NOT_CREDITED:
            return [difference]
        return [difference, *_reversals(checkout, view, difference.account_id)]
    pending = _pending(ctx, checkout, now)
    return [pending] if pending is not None else []


def _base(checkout: CheckoutSession, account_id: str | None, **kw: Any) -> Difference:
    kw.setdefault("detail", "")  # a reversal candidate's words come once it is confirmed
    kw.setdefault("fix", "")
    return Difference(
        checkout_session_id=checkout.id,
        account_id=account_id,
        currency=checkout.currency_code,
        payment_intent_id=checkout.payment_intent_id,
        **kw,
    )


def _credited(checkout: CheckoutSession, credit: LedgerRow) -> Difference:
    status = f"{checkout.status}/{checkout.payment_status}"
    return _base(
        checkout,
        credit.account_id,
        kind=DifferenceKind.CREDITED_NOT_PAID,
        amount_cents=None,
        local_cents=credit.amount_cents,
        detail=f"credited {format_money(credit.amount_cents, credit.currency)} "
        f"but Stripe says {status}",
        fix=f"check the session in Stripe; if it was never paid, debit {credit.account_id} "
        f"{format_cents(credit.amount_cents)} by hand (stripetopup debit)",
    )


def _mismatch(ctx: Context, checkout: CheckoutSession, credit: LedgerRow) -> Difference | None:
    # The credit rule's amount (tax excluded, a discount per the setting), not amount_total.
    amount, currency = credited_cents(ctx, checkout), checkout.currency_code
    if credit.amount_cents == amount and credit.currency == currency:
        return None
    return _base(
        checkout,
        credit.account_id,
        kind=DifferenceKind.AMOUNT_MISMATCH,
        amount_cents=amount,
        local_cents=credit.amount_cents,
        detail=f"Stripe was paid {_paid(checkout, amount)}, the ledger credited "
        f"{format_money(credit.amount_cents, credit.currency)}",
        fix=f"credit or debit {credit.account_id} the difference by hand "
        "(stripetopup credit/debit)",
    )


def _paid(checkout: CheckoutSession, credit: int | None) -> str:
    """``$5.50`` paid, or ``$5.50 (credits $5.00)`` when tax or a discount sets them apart."""
    paid = format_money(checkout.amount_total, checkout.currency_code)
    if credit == checkout.amount_total:
        return paid
    return f"{paid} (credits {format_money(credit, checkout.currency_code)})"


def _not_credited(ctx: Context, checkout: CheckoutSession, view: PageView) -> Difference:
    account_id = session_account_id(checkout)
    # What --fix would credit: the credit rule's amount (amount_total without tax or discount).
    amount, currency = credited_cents(ctx, checkout), checkout.currency_code
    paid = _paid(checkout, amount)
    kind, detail, fix = (
        DifferenceKind.PAID_NOT_CREDITED,
        f"paid {paid}, not credited",
        (f"credit {format_money(amount, currency)} to {account_id} (--fix)"),
    )
    if account_id is None or account_id not in view.accounts:
        kind = DifferenceKind.UNKNOWN_ACCOUNT
        detail = f"paid {paid} to " + (
            f"unknown account {account_id}" if account_id else "no account (no client_reference_id)"
        )
        fix = "create the account, then run reconcile --fix again; or refund it in Stripe"
    elif currency != ctx.currency:
        kind = DifferenceKind.CURRENCY_MISMATCH
        detail = f"paid {paid}; only {ctx.currency.upper()} is credited"
        fix = "refund it in Stripe, or credit the account by hand (stripetopup credit)"
    elif checkout.livemode != ctx.settings.livemode:
        mode = "live" if checkout.livemode else "test"
        kind = DifferenceKind.LIVEMODE_MISMATCH
        detail = f"paid {paid} in {mode} mode, the other mode"
        fix = "reconcile it from the installation that uses that mode's key"
    return _base(
        checkout,
        account_id,
        kind=kind,
        amount_cents=amount,
        local_cents=None,
        detail=detail,
        fix=fix,
    )


def _pending(ctx: Context, checkout: CheckoutSession, now: datetime) -> Difference | None:
    if checkout.status != "complete" or checkout.payment_status != "unpaid":
        return None
    created = datetime.fromtimestamp(checkout.created or 0, UTC)
    limit = timedelta(hours=ctx.settings.pending_max_age_hours)
    if now - created <= limit:
        return None
    hours = int((now - created).total_seconds() // 3600)
    amount = checkout.amount_total
    return _base(
        checkout,
        session_account_id(checkout),
        kind=DifferenceKind.PENDING_TOO_LONG,
        amount_cents=amount,
        local_cents=None,
        detail=f"delayed payment of {format_money(amount, checkout.currency_code)} "
        f"pending for {hours} h "
        f"(limit {ctx.settings.pending_max_age_hours} h)",
        fix="check the payment in Stripe; it is credited when Stripe reports it succeeded",
    )


def _reversals(
    checkout: CheckoutSession, view: PageView, account_id: str | None
) -> list[Difference]:
    """Candidates: Stripe's charge shows refunds or a dispute the ledger has not debited."""
    pi, charge = checkout.payment_intent_id, latest_charge(checkout)
    if pi is None or charge is None:
        return []
    return [
        _base(checkout, account_id, kind=kind, amount_cents=amount, local_cents=local)
        for kind, amount, local in reversal_candidates(charge, view.by_intent.get(pi, []))
    ]


def reversal_candidates(
    charge: Charge, rows: list[LedgerRow]
) -> list[tuple[DifferenceKind, int | None, int]]:
    """(kind, Stripe's cents, the ledger's cents) for each family the charge shows moved
    and ``rows`` (the intent's entries) may lack; confirmed later against Stripe's lists."""
    # Net of refunds credited back after they failed (refund_reversed:re_...).
    refund_rows = [
        r for r in rows if r.source.startswith((sources.REFUND, sources.REFUND_REVERSED))
    ]
    debited = -sum(r.amount_cents for r in refund_rows)
    found: list[tuple[DifferenceKind, int | None, int]] = []
    if charge.amount_refunded > debited:
        found.append((DifferenceKind.REFUND_NOT_DEBITED, charge.amount_refunded, debited))
    if charge.disputed:
        local = sum(r.amount_cents for r in rows if r.source.startswith(sources.DISPUTE))
        found.append((DifferenceKind.DISPUTE_NOT_DEBITED, None, -local))
    return found
