"""Reading credit grants and their draws the way the grant tests check them: straight SQL."""

from __future__ import annotations

import sqlalchemy as sa

from stripetopup.core import TopUpService


def grants(service: TopUpService, account: str) -> list[tuple[str, str, int, int, str]]:
    """``(source, category, amount, remaining, status)`` of an account's grants, oldest first."""
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT g.source, g.category, g.amount_cents, g.remaining_cents, g.status "
                "FROM credit_grants g JOIN accounts a ON a.id = g.account_pk "
                "WHERE a.account_id = :a ORDER BY g.id"
            ),
            {"a": account},
        ).all()
    return [(str(s), str(c), int(a), int(r), str(st)) for s, c, a, r, st in rows]


def draws(service: TopUpService, source: str) -> list[tuple[str | None, int]]:
    """``(grant source or None for the uncovered part, cents)`` of one entry's draws."""
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT g.source, d.amount_cents FROM grant_draws d "
                "JOIN ledger_entries e ON e.id = d.entry_id "
                "LEFT JOIN credit_grants g ON g.id = d.grant_pk "
                "WHERE e.source = :s ORDER BY d.id"
            ),
            {"s": source},
        ).all()
    return [(None if g is None else str(g), int(c)) for g, c in rows]


def verified(service: TopUpService) -> bool:
    """True when ``ledger verify`` (balances and every grant invariant) is clean."""
    report = service.verify_ledger()
    assert report.ok, report.to_json()
    return True
