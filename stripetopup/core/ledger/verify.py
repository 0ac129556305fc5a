"""``ledger verify``: every account's cached balance recomputed from its entries, and
the credit grants' invariants (:mod:`stripetopup.store.grant_checks`).

Grouped queries (:func:`stripetopup.store.ledger.verify_balances`); a difference means
something wrote a balance or a grant outside :func:`stripetopup.store.ledger.post`.
Imports core and store.
"""

from __future__ import annotations

from stripetopup.core.context import Context
from stripetopup.core.ledger.types import BalanceDifference, GrantProblem, LedgerVerification
from stripetopup.db import transaction
from stripetopup.store import grant_checks, ledger
from stripetopup.store import reversals as store


def verify(ctx: Context) -> LedgerVerification:
    """Compare each account's balance with the sum of its entries; check its grants."""
    with transaction(ctx.engine) as session:
        checked = store.count_accounts(session)
        found = ledger.verify_balances(session)
        broken = grant_checks.problems(session, ctx.clock())
    problems = tuple(GrantProblem(p.account_id, p.subject, p.detail) for p in broken)
    differences = sorted(
        (BalanceDifference(m.account_id, m.cached_cents, m.entries_cents) for m in found),
        key=lambda d: d.account_id,
    )
    return LedgerVerification(checked, tuple(differences), problems)
