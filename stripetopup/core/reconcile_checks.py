"""Comparing one Stripe Checkout Session with the local record: which differences it has.

Pure functions over a :class:`PageView` (what one page's batched queries found); no I/O.
Refund and dispute differences found here are candidates, confirmed against Stripe's
refund/dispute lists by :mod:`stripetopup.core.reconcile`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stripetopup.core import sources
from stripetopup.core.context import Context
from stripetopup.core.handlers import session_account_id
from stripetopup.core.reconcile_results import Difference
from stripetopup.models import StripePayment
from stripetopup.money import format_cents, format_money
from stripetopup.store.reconcile import LedgerRow


@dataclass
class PageView:
    """The local side of one page: payment rows, credits, reversals and known accounts."""

    payments: dict[str, StripePayment]
    rows: list[LedgerRow]
    accounts: set[str] = field(default_factory=set)
    credits: dict[str, LedgerRow] = field(init=False)
    by_intent: dict[str, list[LedgerRow]] = field(init=False)

    def __post_init__(self) -> None:
        self.credits = {}
        self.by_intent = defaultdict(list)
        for row in self.rows:
            if row.source.startswith(sources.CHECKOUT_SESSION):
                self.credits[row.source.removeprefix(sources.CHECKOUT_SESSION)] = row
            elif row.payment_intent_id:
                self.by_intent[row.payment_intent_id].append(row)

    def amounts_for(self, payment_intent_id: str) -> dict[str, int]:
        """The intent's refund/dispute entries: source -> signed cents."""
        return {row.source: row.amount_cents for row in self.by_intent.get(payment_intent_id, [])}


def payment_intent_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def latest_charge(obj: dict[str, Any]) -> dict[str, Any]:
    """The expanded ``payment_intent.latest_charge`` (empty when not expanded or absent)."""
    intent = obj.get("payment_intent")
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    return charge if isinstance(charge, dict) else {}


def reversal_intent(obj: dict[str, Any]) -> str | None:
    """The payment intent id when its charge shows a refund or a dispute, else None."""
    charge = latest_charge(obj)
    if not charge.get("amount_refunded") and not charge.get("disputed"):
        return None
    return payment_intent_id(obj)


def needs_account_check(obj: dict[str, Any], view: PageView) -> str | None:
    """The account id to look up when the session is paid and not credited."""
    if obj.get("payment_status") != "paid" or obj["id"] in view.credits:
        return None
    return session_account_id(obj)


def classify(ctx: Context, obj: dict[str, Any], view: PageView, now: datetime) -> list[Difference]:
    """Every difference between the Stripe session ``obj`` and the local record."""
    payment = view.payments.get(str(obj["id"]))
    if payment is not None and payment.state == "dismissed":
        return []
    credit = view.credits.get(str(obj["id"]))
    paid = obj.get("payment_status") == "paid"
    if credit is not None:
        found = [_credited(obj, credit)] if not paid else [_mismatch(obj, credit)]
        found = [d for d in found if d is not None]
        return found + (_reversals(obj, view, credit.account_id) if paid else [])
    if paid:
        difference = _not_credited(ctx, obj, view)
        if difference.kind != "paid_not_credited":
            return [difference]
        return [difference, *_reversals(obj, view, difference.account_id)]
    pending = _pending(ctx, obj, now)
    return [pending] if pending is not None else []


def _base(obj: dict[str, Any], account_id: str | None, **kw: Any) -> Difference:
    return Difference(
        checkout_session_id=str(obj["id"]),
        account_id=account_id,
        currency=str(obj.get("currency") or "").lower(),
        payment_intent_id=payment_intent_id(obj),
        **kw,
    )


def _credited(obj: dict[str, Any], credit: LedgerRow) -> Difference:
    status = f"{obj.get('status')}/{obj.get('payment_status')}"
    return _base(
        obj,
        credit.account_id,
        kind="credited_not_paid",
        amount_cents=None,
        local_cents=credit.amount_cents,
        detail=f"credited {format_money(credit.amount_cents, credit.currency)} "
        f"but Stripe says {status}",
        fix=f"check the session in Stripe; if it was never paid, debit {credit.account_id} "
        f"{format_cents(credit.amount_cents)} by hand (stripetopup debit)",
    )


def _mismatch(obj: dict[str, Any], credit: LedgerRow) -> Difference | None:
    amount, currency = obj.get("amount_total"), str(obj.get("currency") or "").lower()
    if credit.amount_cents == amount and credit.currency == currency:
        return None
    return _base(
        obj,
        credit.account_id,
        kind="amount_mismatch",
        amount_cents=amount if isinstance(amount, int) else None,
        local_cents=credit.amount_cents,
        detail=f"Stripe was paid {format_money(amount, currency)}, the ledger credited "
        f"{format_money(credit.amount_cents, credit.currency)}",
        fix=f"credit or debit {credit.account_id} the difference by hand "
        "(stripetopup credit/debit)",
    )


def _not_credited(ctx: Context, obj: dict[str, Any], view: PageView) -> Difference:
    account_id = session_account_id(obj)
    amount = obj.get("amount_total") if isinstance(obj.get("amount_total"), int) else None
    currency = str(obj.get("currency") or "").lower()
    paid = format_money(amount, currency)
    kind, detail, fix = (
        "paid_not_credited",
        f"paid {paid}, not credited",
        (f"credit {paid} to {account_id} (--fix)"),
    )
    if account_id is None or account_id not in view.accounts:
        kind = "unknown_account"
        detail = f"paid {paid} to " + (
            f"unknown account {account_id}" if account_id else "no account (no client_reference_id)"
        )
        fix = "create the account, then run reconcile --fix again; or refund it in Stripe"
    elif currency != ctx.currency:
        kind, detail = "currency_mismatch", f"paid {paid}; only {ctx.currency.upper()} is credited"
        fix = "refund it in Stripe, or credit the account by hand (stripetopup credit)"
    elif bool(obj.get("livemode")) != ctx.settings.livemode:
        mode = "live" if obj.get("livemode") else "test"
        kind, detail = "livemode_mismatch", f"paid {paid} in {mode} mode, the other mode"
        fix = "reconcile it from the installation that uses that mode's key"
    return _base(
        obj, account_id, kind=kind, amount_cents=amount, local_cents=None, detail=detail, fix=fix
    )


def _pending(ctx: Context, obj: dict[str, Any], now: datetime) -> Difference | None:
    if obj.get("status") != "complete" or obj.get("payment_status") != "unpaid":
        return None
    created = datetime.fromtimestamp(int(obj.get("created") or 0), UTC)
    limit = timedelta(hours=ctx.settings.pending_max_age_hours)
    if now - created <= limit:
        return None
    hours = int((now - created).total_seconds() // 3600)
    currency = str(obj.get("currency") or "").lower()
    amount = obj.get("amount_total") if isinstance(obj.get("amount_total"), int) else None
    return _base(
        obj,
        session_account_id(obj),
        kind="pending_too_long",
        amount_cents=amount,
        local_cents=None,
        detail=f"delayed payment of {format_money(amount, currency)} pending for {hours} h "
        f"(limit {ctx.settings.pending_max_age_hours} h)",
        fix="check the payment in Stripe; it is credited when Stripe reports it succeeded",
    )


def _reversals(obj: dict[str, Any], view: PageView, account_id: str | None) -> list[Difference]:
    """Candidates: Stripe's charge shows refunds or a dispute the ledger has not debited."""
    pi, charge = payment_intent_id(obj), latest_charge(obj)
    if pi is None or not charge:
        return []
    rows = view.by_intent.get(pi, [])
    # Net of refunds credited back after they failed (refund_reversed:re_...).
    refund_rows = [
        r for r in rows if r.source.startswith((sources.REFUND, sources.REFUND_REVERSED))
    ]
    debited = -sum(r.amount_cents for r in refund_rows)
    refunded = int(charge.get("amount_refunded") or 0)
    found = []
    if refunded > debited:
        found.append(
            _base(
                obj,
                account_id,
                kind="refund_not_debited",
                amount_cents=refunded,
                local_cents=debited,
                detail="",
                fix="",
            )
        )
    if charge.get("disputed"):
        local = sum(r.amount_cents for r in rows if r.source.startswith(sources.DISPUTE))
        found.append(
            _base(
                obj,
                account_id,
                kind="dispute_not_debited",
                amount_cents=None,
                local_cents=-local,
                detail="",
                fix="",
            )
        )
    return found
