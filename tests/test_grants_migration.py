"""Migration 0007 on a database already in use, on both databases: made by the previous
migrations with real accounts, entries and holds in it, upgraded, and then every balance
is one paid, never-expiring opening grant (or an opening deficit), open holds reserve it,
``ledger verify`` is clean and the money keeps moving as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.support.grants import draws, grants, verified
from tests.support.migrations import engine_at

PREVIOUS = "0004_payment_receipts"
THEN = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
_ts = sa.DateTime(timezone=True)
ACCOUNTS = sa.table(
    "accounts",
    *(sa.column(n) for n in ("account_id", "balance_cents")),
    sa.column("created_at", _ts),
    sa.column("updated_at", _ts),
)
ENTRIES = sa.table(
    "ledger_entries",
    *(sa.column(n) for n in ("account_pk", "amount_cents", "currency", "kind", "source")),
    *(sa.column(n) for n in ("balance_after_cents", "actor")),
    sa.column("created_at", _ts),
)
HOLDS = sa.table(
    "holds",
    *(sa.column(n) for n in ("hold_id", "account_pk", "amount_cents", "captured_cents")),
    *(sa.column(n) for n in ("currency", "status", "idempotency_key", "request_fingerprint")),
    sa.column("actor"),
    sa.column("expires_at", _ts),
    sa.column("created_at", _ts),
)
# account -> its entries (source, cents), oldest first
BEFORE = {
    "acct-alice": [("manual:a1", 1000), ("manual:a2", -250)],
    "acct-bob": [("manual:b1", 200), ("manual:b2", -500)],
    "acct-carol": [],
    "acct-dave": [("manual:d1", 1000)],
}
HOLD_ID = "hold_" + "d" * 24


@pytest.fixture
def engine_at_previous(database_url: str) -> Iterator[Engine]:
    with engine_at(database_url, PREVIOUS) as engine:
        yield engine


def _fill(engine: Engine) -> None:
    with engine.begin() as connection:
        for account_id, moves in BEFORE.items():
            balance = sum(cents for _, cents in moves)
            connection.execute(
                ACCOUNTS.insert().values(
                    account_id=account_id, balance_cents=balance, created_at=THEN, updated_at=THEN
                )
            )
            pk = connection.execute(
                sa.text("SELECT id FROM accounts WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
            after = 0
            for source, cents in moves:
                after += cents
                kind = "manual_credit" if cents > 0 else "manual_debit"
                connection.execute(
                    ENTRIES.insert().values(
                        account_pk=pk,
                        amount_cents=cents,
                        currency="usd",
                        kind=kind,
                        source=source,
                        balance_after_cents=after,
                        actor="operator",
                        created_at=THEN,
                    )
                )
            if account_id == "acct-dave":
                connection.execute(
                    HOLDS.insert().values(
                        hold_id=HOLD_ID,
                        account_pk=pk,
                        amount_cents=400,
                        captured_cents=0,
                        currency="usd",
                        status="open",
                        idempotency_key="hold:app:h1",
                        request_fingerprint="f",
                        actor="app",
                        expires_at=datetime.now(UTC) + timedelta(days=1),
                        created_at=THEN,
                    )
                )


def test_upgrading_from_0004_turns_every_balance_into_its_opening_grant(
    engine_at_previous: Engine, settings: Settings
) -> None:
    _fill(engine_at_previous)
    assert schema.upgrade(engine_at_previous) == schema.HEAD_REVISION

    service = TopUpService.from_settings(settings)
    try:
        assert verified(service)
        assert grants(service, "acct-alice") == [
            ("opening_balance:acct-alice", "paid", 750, 750, "live")
        ]
        assert grants(service, "acct-bob") == []
        assert grants(service, "acct-carol") == []
        bob = service.balance("acct-bob")
        assert (bob.balance_cents, bob.deficit_cents) == (-300, 300)
        dave = service.balance("acct-dave")
        assert (dave.held_cents, dave.available_cents, dave.paid_cents) == (400, 600, 1000)

        service.credit("acct-bob", 500, reason="top-up", idempotency_key="b3")
        assert draws(service, "manual:b3") == [(None, -300), ("manual:b3", 300)]
        service.capture_hold(HOLD_ID, 400, idempotency_key="cap")
        assert draws(service, f"hold_capture:{HOLD_ID}") == [("opening_balance:acct-dave", 400)]
        service.spend("acct-alice", 750, idempotency_key="all")
        assert service.balance("acct-alice").balance_cents == 0
        assert verified(service)
    finally:
        service.close()
