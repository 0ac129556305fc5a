"""Comparing one auto-recharge PaymentIntent with the ledger: which differences it has.

An off-session recharge charge has no Checkout Session; its PaymentIntent's metadata names
the account and the attempt (:mod:`stripetopup.core.recharge.tags`) and its credit is the
entry ``payment_intent:pi_...``. Pure functions over a typed
:class:`~stripetopup.stripe_objects.PaymentIntent` and the page's
:class:`~stripetopup.core.reconcile.compare.PageView`; no I/O. Refund and dispute
differences are candidates, confirmed against Stripe's lists by the runner, as for sessions.
Imports the reconcile room's compare and types, the recharge room's tags and the money helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripetopup.core.context import Context
from stripetopup.core.recharge.tags import RechargeTag, tag_of
from stripetopup.core.reconcile.compare import PageView, reversal_candidates
from stripetopup.core.reconcile.kinds import DifferenceKind
from stripetopup.core.reconcile.types import Difference
from stripetopup.money import format_money
from stripetopup.stripe_objects import PaymentIntent


@dataclass(frozen=True)
class RechargeIntent:
    """A PaymentIntent our recharge worker created: as Stripe sent it, typed, and its tag."""

    raw: dict[str, Any]  # what charge.settle credits from, as the webhook's copy would be
    intent: PaymentIntent
    tag: RechargeTag


def recharge_intents(page: list[dict[str, Any]]) -> list[RechargeIntent]:
    """The page's auto-recharge PaymentIntents (Stripe's list has no metadata filter)."""
    return [
        RechargeIntent(raw, PaymentIntent.parse(raw), tag)
        for raw in page
        if (tag := tag_of(raw)) is not None
    ]


def needs_lookup(item: RechargeIntent, view: PageView) -> bool:
    """True when the charge succeeded and is not credited: its account and attempt are
    looked up before it is called missing."""
    return item.intent.succeeded and item.intent.id not in view.intent_credits


def classify(ctx: Context, item: RechargeIntent, view: PageView) -> list[Difference]:
    """Every difference between the recharge charge ``item`` and the ledger."""
    pi, tag = item.intent, item.tag
    credit = view.intent_credits.get(pi.id)
    if credit is not None:
        paid = format_money(pi.received_cents, pi.currency_code)
        if not pi.succeeded:
            return [
                _base(
                    item,
                    credit.account_id,
                    kind=DifferenceKind.CREDITED_NOT_PAID,
                    amount_cents=None,
                    local_cents=credit.amount_cents,
                    detail=f"auto-recharge {tag.attempt_key} credited "
                    f"{format_money(credit.amount_cents, credit.currency)} but Stripe says "
                    f"{pi.status}",
                    fix=f"check the PaymentIntent in Stripe; if it was never paid, debit "
                    f"{credit.account_id} by hand (stripetopup debit)",
                )
            ]
        found = []
        if credit.amount_cents != pi.received_cents or credit.currency != pi.currency_code:
            found.append(
                _base(
                    item,
                    credit.account_id,
                    kind=DifferenceKind.AMOUNT_MISMATCH,
                    amount_cents=pi.received_cents,
                    local_cents=credit.amount_cents,
                    detail=f"auto-recharge {tag.attempt_key}: Stripe charged {paid}, the "
                    f"ledger credited {format_money(credit.amount_cents, credit.currency)}",
                    fix=f"credit or debit {credit.account_id} the difference by hand "
                    "(stripetopup credit/debit)",
                )
            )
        return found + _reversals(item, view, credit.account_id)
    if not pi.succeeded:
        return []  # declined, or still processing: payment_intent.succeeded credits it
    missing = _not_credited(ctx, item, view)
    if missing.kind != DifferenceKind.PAID_NOT_CREDITED:
        return [missing]
    return [missing, *_reversals(item, view, missing.account_id)]


def _not_credited(ctx: Context, item: RechargeIntent, view: PageView) -> Difference:
    pi, tag = item.intent, item.tag
    paid = format_money(pi.received_cents, pi.currency_code)
    kind = DifferenceKind.PAID_NOT_CREDITED
    detail = f"auto-recharge {tag.attempt_key} paid {paid}, not credited"
    fix = f"credit {paid} to {tag.account_id} (--fix)"
    if tag.account_id is None or tag.account_id not in view.accounts:
        kind = DifferenceKind.UNKNOWN_ACCOUNT
        named = f"unknown account {tag.account_id}" if tag.account_id else "no account"
        detail = f"auto-recharge {tag.attempt_key} paid {paid} to {named}"
        fix = "check STRIPE_SECRET_KEY and the database belong together; or refund it in Stripe"
    elif tag.attempt_key not in view.attempts:
        kind = DifferenceKind.UNKNOWN_ATTEMPT
        detail = f"paid {paid} for auto-recharge {tag.attempt_key}, which this database lacks"
        fix = "check the database is the one that charged it; or credit it by hand or refund it"
    elif pi.livemode != ctx.settings.livemode:
        kind = DifferenceKind.LIVEMODE_MISMATCH
        detail = f"auto-recharge {tag.attempt_key} paid {paid} in the other mode"
        fix = "reconcile it from the installation that uses that mode's key"
    return _base(
        item,
        tag.account_id,
        kind=kind,
        amount_cents=pi.received_cents,
        local_cents=None,
        detail=detail,
        fix=fix,
    )


def _reversals(item: RechargeIntent, view: PageView, account_id: str | None) -> list[Difference]:
    charge = item.intent.charge
    if charge is None:
        return []
    rows = view.by_intent.get(item.intent.id, [])
    return [
        _base(item, account_id, kind=kind, amount_cents=amount, local_cents=local)
        for kind, amount, local in reversal_candidates(charge, rows)
    ]


def _base(item: RechargeIntent, account_id: str | None, **kw: Any) -> Difference:
    kw.setdefault("detail", "")  # a reversal candidate's words come once it is confirmed
    kw.setdefault("fix", "")
    return Difference(
        checkout_session_id=None,
        account_id=account_id,
        currency=item.intent.currency_code,
        payment_intent_id=item.intent.id,
        **kw,
    )
