"""The ledger's source names (DESIGN.md, "Exactly-once"): one unique source per movement.

A leaf of the core: constants and one function, importing nothing.
"""

from __future__ import annotations

CHECKOUT_SESSION = "checkout_session:"  # a paid Checkout Session's credit
REFUND = "refund:"  # a succeeded refund's debit
REFUND_REVERSED = "refund_reversed:"  # a debited refund that later failed or was canceled
DISPUTE = "dispute:"  # funds withdrawn for a dispute
DISPUTE_REINSTATED = "dispute_reinstated:"  # a won dispute's funds, credited back
MANUAL = "manual:"  # an operator's credit or debit, by idempotency key


def checkout_credit(checkout_session_id: str) -> str:
    """The source of a Checkout Session's credit: the exactly-once key of every top-up."""
    return CHECKOUT_SESSION + checkout_session_id
