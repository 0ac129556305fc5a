"""The credit's statements find a session's payment by its unique key, whatever the planner
knows: on a PostgreSQL table not analyzed yet (a new install, a bulk import) a condition on
``state`` beside the key once made it walk every credited payment, per delivery.

A database of its own, with autovacuum off on the payments, so that nothing analyzes them
behind the test's back; EXPLAIN (not run) with the values a delivery binds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from stripetopup import schema
from stripetopup.db import create_db_engine
from stripetopup.store import credit_statements, settled_reads
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres

CREDITED_PAYMENTS = 20_000
UNIQUE_KEY = "stripe_payments_checkout_session_id_key"


@pytest.fixture(scope="module")
def unanalyzed() -> Iterator[sa.Engine]:
    """A migrated database holding many credited payments, none of them analyzed."""
    name = f"stripetopup_plans_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_db_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        schema.upgrade(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE stripe_payments SET (autovacuum_enabled = false)"
            )
            connection.exec_driver_sql(
                "INSERT INTO stripe_payments (checkout_session_id, currency, status,"
                " payment_status, livemode, state, created_at, updated_at)"
                " SELECT 'cs_test_' || n, 'usd', 'complete', 'paid', false, 'credited',"
                " now(), now() FROM generate_series(1, %(n)s) AS n",
                {"n": CREDITED_PAYMENTS},
            )
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def payment_indexes(engine: sa.Engine, prepared: Any, given: dict[str, Any]) -> set[str]:
    """The indexes the plan of ``prepared`` (bound to ``given``) reads stripe_payments by
    ("seq scan" for none)."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        [[plan]] = raw.execute("EXPLAIN (FORMAT JSON) " + prepared.sql, prepared.params(given))
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == "stripe_payments":
            found.add(node.get("Index Name", "seq scan"))
        for child in node.get("Plans", []):
            walk(child)

    walk((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return found


def test_the_duplicate_check_reads_the_payment_by_its_key(unanalyzed: sa.Engine) -> None:
    given = {
        "b_event_id": "evt_new",
        "checkout_session_id": "cs_test_new",
        "b_replays": 0,
        "b_attempts": 1,
        "b_secret_label": "new",
        "b_processed_at": datetime.now(UTC),
    }
    duplicate = credit_statements.PREPARED["postgresql"]["duplicate"]
    assert payment_indexes(unanalyzed, duplicate, given) == {UNIQUE_KEY}


def test_the_settled_read_reads_the_payment_by_its_key(unanalyzed: sa.Engine) -> None:
    settled, _ = settled_reads.PREPARED["postgresql"]
    given = {"event_id": "evt_new", "checkout_session_id": "cs_test_new"}
    assert payment_indexes(unanalyzed, settled, given) == {UNIQUE_KEY}
