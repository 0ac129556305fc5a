"""Account rows as earlier releases wrote them, and row counts to show nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.models import Account

LEGACY = "Legacy Id!"  # spaces and '!': an earlier release took it, today's rule does not


def open_as_an_earlier_release(service: TopUpService, account_id: str) -> None:
    """Write an account row the way releases before the id rule did."""
    now = datetime.now(UTC)
    with service.engine.begin() as connection:
        connection.execute(
            sa.insert(Account.__table__).values(  # type: ignore[attr-defined]
                account_id=account_id, balance_cents=0, created_at=now, updated_at=now
            )
        )


def row_counts(service: TopUpService) -> dict[str, int]:
    tables = ("accounts", "ledger_entries", "holds", "api_credentials", "stripe_payments")
    with service.engine.connect() as connection:
        return {
            t: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
            for t in tables
        }
