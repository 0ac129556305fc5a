"""``ledger verify``: every account's cached balance recomputed from its entries.

One grouped query (:func:`stripetopup.store.ledger.verify_balances`); a difference means
something wrote a balance outside :func:`stripetopup.store.ledger.post`. Imports core and
store.
"""

from __future__ import annotations

from stripetopup.core.context import Context
from stripetopup.core.ledger.types import BalanceDifference, LedgerVerification
from stripetopup.db import transaction
from stripetopup.store import ledger
from stripetopup.store import reversals as store


def verify(ctx: Context) -> LedgerVerification:
    """Compare each account's balance with the sum of its entries."""
    with transaction(ctx.engine) as session:
        checked = store.count_accounts(session)
        found = ledger.verify_balances(session)
    differences = sorted(
        (BalanceDifference(m.account_id, m.cached_cents, m.entries_cents) for m in found),
        key=lambda d: d.account_id,
    )
    return LedgerVerification(checked, tuple(differences))
