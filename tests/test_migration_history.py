"""Migration 0003 on a database already in use: upgraded from 0002 with data in it, the
decision 0002 kept on each payment becomes the start of its history and every event's
delivery attempts are kept (with no replays); on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from tests.support.migrations import engine_at

PREVIOUS = "0002_reversals"
DISMISSED_AT = datetime(2026, 11, 30, 9, 15, 0, tzinfo=UTC)
ASSIGNED_AT = datetime(2026, 11, 30, 10, 30, 0, tzinfo=UTC)
_ts = sa.DateTime(timezone=True)
PAYMENTS = sa.table(
    "stripe_payments",
    *(sa.column(name) for name in ("checkout_session_id", "account_id", "amount_total_cents")),
    *(sa.column(name) for name in ("currency", "status", "payment_status", "livemode", "state")),
    *(sa.column(name) for name in ("attention_reason", "resolved_by", "resolution")),
    sa.column("created_at", _ts),
    sa.column("updated_at", _ts),
    sa.column("resolved_at", _ts),
)
EVENTS = sa.table(
    "webhook_events",
    *(sa.column(name) for name in ("event_id", "type", "livemode", "payload", "attempts")),
    sa.column("received_at", _ts),
)


@pytest.fixture
def engine_at_previous(database_url: str) -> Iterator[Engine]:
    with engine_at(database_url, PREVIOUS) as engine:
        yield engine


def payment(session_id: str, state: str, **resolved: object) -> dict[str, object]:
    return {
        "checkout_session_id": session_id,
        "account_id": resolved.pop("account_id", None),
        "amount_total_cents": 500,
        "currency": "usd",
        "status": "complete",
        "payment_status": "paid",
        "livemode": False,
        "state": state,
        "attention_reason": "unknown account: acct-nobody",
        "created_at": DISMISSED_AT,
        "updated_at": DISMISSED_AT,
        "resolved_by": None,
        "resolved_at": None,
        "resolution": None,
        **resolved,
    }


def test_upgrading_from_0002_keeps_each_payments_decision_as_its_history(
    engine_at_previous: Engine, settings: Settings
) -> None:
    with engine_at_previous.begin() as connection:
        connection.execute(
            PAYMENTS.insert(),
            [
                payment(
                    "cs_test_dismissed",
                    "dismissed",
                    resolved_by="operator:dismiss",
                    resolved_at=DISMISSED_AT,
                    resolution="refunded by support",
                ),
                payment(
                    "cs_test_assigned",
                    "credited",
                    account_id="acct-alice",
                    resolved_by="operator:assign",
                    resolved_at=ASSIGNED_AT,
                    resolution="typo in the account id",
                ),
                payment("cs_test_waiting", "attention"),
            ],
        )
        connection.execute(
            EVENTS.insert(),
            {
                "event_id": "evt_test_old",
                "type": "checkout.session.completed",
                "livemode": False,
                "payload": "{}",
                "attempts": 3,
                "received_at": DISMISSED_AT,
            },
        )
    assert schema.upgrade(engine_at_previous) == schema.HEAD_REVISION

    service = TopUpService.from_settings(settings)
    try:
        [dismissed] = service.payment("cs_test_dismissed").history
        assert (dismissed.action, dismissed.forced, dismissed.account_id) == (
            "dismissed",
            False,
            None,
        )
        assert (dismissed.actor, dismissed.reason, dismissed.at) == (
            "operator:dismiss",
            "refunded by support",
            DISMISSED_AT,
        )
        [assigned] = service.payment("cs_test_assigned").history
        assert (assigned.action, assigned.account_id, assigned.at) == (
            "assigned",
            "acct-alice",
            ASSIGNED_AT,
        )
        assert service.payment("cs_test_waiting").history == ()
        assert service.payment("cs_test_dismissed").payment.state == "dismissed"
        event = service.event("evt_test_old")
        assert (event.attempts, event.replays) == (3, 0)
    finally:
        service.close()
