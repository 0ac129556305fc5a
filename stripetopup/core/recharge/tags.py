"""What marks a Stripe PaymentIntent as one of our auto-recharge charges: its metadata.

The worker writes ``metadata`` = ``{account_id, attempt, source: "stripetopup"}`` on every
off-session PaymentIntent it creates (:func:`metadata_for`); ``payment_intent.succeeded``,
refund and dispute handlers and ``reconcile`` read it back (:func:`tag_of`). A Checkout
Session's PaymentIntent carries ``account_id`` and ``source`` too, but never ``attempt``:
that key alone tells a recharge charge from a top-up. A leaf of core: imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCE = "stripetopup"
MAX_KEY = 255  # what recharge_attempts.attempt_key holds


@dataclass(frozen=True)
class RechargeTag:
    """The account and the attempt a recharge PaymentIntent names."""

    account_id: str | None
    attempt_key: str


def metadata_for(account_id: str, attempt_key: str) -> dict[str, str]:
    """The metadata the worker puts on an attempt's PaymentIntent."""
    return {"account_id": account_id, "attempt": attempt_key, "source": SOURCE}


def tag_of(payment_intent: Mapping[str, Any]) -> RechargeTag | None:
    """The recharge a PaymentIntent (a dict from Stripe) names, or None when it is not one."""
    metadata = payment_intent.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("source") != SOURCE:
        return None
    attempt, account = metadata.get("attempt"), metadata.get("account_id")
    if not isinstance(attempt, str) or not attempt:
        return None
    return RechargeTag(account if isinstance(account, str) else None, attempt[:MAX_KEY])
