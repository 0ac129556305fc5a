"""The ledger's source names: one unique source per movement of money.

Every path that moves money (webhook, replay, reconcile --fix, manual credit and debit,
assigning a stray payment) writes its entry under one of these sources, and the unique
constraint on ``ledger_entries.source`` is what makes a second credit impossible: two
deliveries, a replay and a reconcile racing each other all end with one entry.

A leaf of the core: constants and one function, importing nothing.
"""

from __future__ import annotations

CHECKOUT_SESSION = "checkout_session:"  # a paid Checkout Session's credit
REFUND = "refund:"  # a succeeded refund's debit
REFUND_REVERSED = "refund_reversed:"  # a debited refund that later failed or was canceled
DISPUTE = "dispute:"  # funds withdrawn for a dispute
DISPUTE_REINSTATED = "dispute_reinstated:"  # a won dispute's funds, credited back
MANUAL = "manual:"  # an operator's credit or debit, by idempotency key
GRANT = "grant:"  # a host application's grant (spend API), grant:<actor>:<key>
EXPIRY = "expiry:"  # an expired grant's remainder written off, expiry:<grant id>
PAYMENT_INTENT = "payment_intent:"  # an off-session auto-recharge charge's credit
OPENING_BALANCE = "opening_balance:"  # migration 0007: a balance from before grants (no entry)


def checkout_credit(checkout_session_id: str) -> str:
    """The source of a Checkout Session's credit: the exactly-once key of every top-up."""
    return CHECKOUT_SESSION + checkout_session_id


def payment_intent_credit(payment_intent_id: str) -> str:
    """The source of an auto-recharge charge's credit: the exactly-once key of a recharge."""
    return PAYMENT_INTENT + payment_intent_id
