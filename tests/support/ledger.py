"""Reading the ledger the way the refund/dispute/stray-payment tests check it: straight SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl


def entries(service: TopUpService, account: str) -> list[tuple[str, int]]:
    """``(source, amount_cents)`` of an account's entries, oldest first."""
    with service.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT e.source, e.amount_cents FROM ledger_entries e "
                "JOIN accounts a ON a.id = e.account_pk WHERE a.account_id = :a ORDER BY e.id"
            ),
            {"a": account},
        ).all()
    return [(str(source), int(amount)) for source, amount in rows]


def settled_balance(service: TopUpService, account: str) -> int:
    """The cached balance, after checking it equals the sum of the entries."""
    balance = service.balance(account).balance_cents
    assert balance == sum(amount for _, amount in entries(service, account))
    return balance


def paid_session(
    control: EmulatorControl, account: str | None, amount: int = 500, **kw: Any
) -> str:
    """A paid Checkout Session in the emulator whose events are delivered now."""
    return str(
        control.seed(count=1, amount=amount, client_reference_id=account, emit_events=True, **kw)[
            "ids"
        ][0]
    )
