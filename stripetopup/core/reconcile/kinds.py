"""The kinds of difference ``reconcile`` reports, and which of them ``--fix`` can fix.

A leaf of core: imports nothing of ours. The values are what ``--json`` and the
``stripetopup_reconcile_differences`` metric print.
"""

from __future__ import annotations

from enum import StrEnum


class DifferenceKind(StrEnum):
    """One way a Stripe Checkout Session, or an auto-recharge PaymentIntent, and the ledger
    can disagree (in report order)."""

    PAID_NOT_CREDITED = "paid_not_credited"
    REFUND_NOT_DEBITED = "refund_not_debited"
    DISPUTE_NOT_DEBITED = "dispute_not_debited"
    CREDITED_NOT_PAID = "credited_not_paid"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    LIVEMODE_MISMATCH = "livemode_mismatch"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_ATTEMPT = "unknown_attempt"  # a recharge charge whose attempt is not in this db
    PENDING_TOO_LONG = "pending_too_long"
    UNKNOWN_TO_STRIPE = "unknown_to_stripe"


# What --fix can fix: a missing credit, refund or dispute entry (each exactly once).
FIXABLE = frozenset(
    {
        DifferenceKind.PAID_NOT_CREDITED,
        DifferenceKind.REFUND_NOT_DEBITED,
        DifferenceKind.DISPUTE_NOT_DEBITED,
    }
)
# Every kind, in the order reports list them, and whether --fix can fix it.
KINDS: dict[DifferenceKind, bool] = {kind: kind in FIXABLE for kind in DifferenceKind}
# Paid sessions kept for an operator: --fix records them as needing attention.
ATTENTION_KINDS = frozenset(
    {
        DifferenceKind.UNKNOWN_ACCOUNT,
        DifferenceKind.CURRENCY_MISMATCH,
        DifferenceKind.LIVEMODE_MISMATCH,
    }
)
