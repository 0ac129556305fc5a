"""The outbox table: migration 0005 on a database in use (0004 with data, on both
databases), and the store's add and read-after-cursor, in commit order on PostgreSQL even
when a transaction that drew its number first commits last.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from stripetopup import schema
from stripetopup.db import create_db_engine, transaction
from stripetopup.ids import new_message_id
from stripetopup.models import Account
from stripetopup.store import outbox
from tests.support.migrations import engine_at

CREATED = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
ACCOUNTS = sa.table(
    "accounts",
    *(sa.column(name) for name in ("account_id", "balance_cents")),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def new_event(
    type_: str = "balance.credited", account_id: str | None = "acct-1"
) -> outbox.NewEvent:
    message_id = new_message_id()
    return outbox.NewEvent(
        message_id=message_id,
        type=type_,
        schema_version=1,
        account_id=account_id,
        created_at=CREATED,
        payload=json.dumps({"id": message_id, "type": type_}),
    )


def test_upgrading_from_0004_keeps_the_accounts_above_their_threshold(database_url: str) -> None:
    with engine_at(database_url, "0004_payment_receipts") as engine:
        with engine.begin() as connection:
            connection.execute(
                ACCOUNTS.insert(),
                {
                    "account_id": "acct-old",
                    "balance_cents": 1234,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                },
            )
        assert schema.upgrade(engine) == schema.HEAD_REVISION
        with transaction(engine) as session:
            account = session.exec(select(Account).where(Account.account_id == "acct-old")).one()
            assert (account.balance_cents, account.low_balance_threshold_cents) == (1234, None)
            assert account.below_threshold is False
            outbox.add(session, new_event())


def test_events_are_read_oldest_first_after_a_cursor_and_by_type(engine: Engine) -> None:
    written = []
    with transaction(engine) as session:
        for type_ in ("balance.credited", "payment.pending", "balance.debited", "hold.expired"):
            event = new_event(type_)
            outbox.add(session, event)
            written.append(event.message_id)
    with transaction(engine) as session:
        everything = outbox.after(session, None, limit=10)
        assert [e.message_id for e in everything] == written
        page = outbox.after(session, everything[0].seq, limit=2)
        assert [e.message_id for e in page] == written[1:3]
        balance = outbox.after(session, None, limit=10, types=["balance.*"])
        assert [e.type for e in balance] == ["balance.credited", "balance.debited"]
        exact = outbox.after(session, None, limit=10, types=["hold.expired", "payment.*"])
        assert [e.type for e in exact] == ["payment.pending", "hold.expired"]
        assert outbox.after(session, None, limit=10, types=["balance_*"]) == []


def test_a_rolled_back_transaction_leaves_no_event(engine: Engine) -> None:
    def add_then_fail() -> None:
        with transaction(engine) as session:
            outbox.add(session, new_event())
            raise RuntimeError("the change failed after its event was added")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with transaction(engine) as session:
        assert outbox.after(session, None, limit=10) == []


@pytest.mark.postgres
def test_the_feed_waits_for_an_earlier_transaction_that_commits_late(
    database_url: str, engine: Engine
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writers take turns: insertion order is commit order")
    first, second = new_event(), new_event()
    read: list[list[str]] = []
    with transaction(engine) as slow:
        outbox.add(slow, first)  # seq 1, its transaction still open
        with transaction(engine) as fast:
            outbox.add(fast, second)  # seq 2, committed first
        reader = threading.Thread(target=lambda: read.append(read_all(engine)))
        reader.start()
        # A reader that took seq 2 now would pass seq 1 for good: it must wait for `slow`.
        reader.join(timeout=0.5)
        assert reader.is_alive()
    reader.join(timeout=60)
    assert read == [[first.message_id, second.message_id]]


def read_all(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        return [e.message_id for e in outbox.after(session, None, limit=10)]
