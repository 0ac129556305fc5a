"""Migration 0008 on a database already in use, on both databases: downgraded to 0007 and
upgraded again with endpoints and deliveries in it (foreign keys on), the deliveries stay,
new attempts are recorded, and an endpoint with attempts is removed with them.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.db import create_db_engine
from tests.conftest import ACCOUNT
from tests.support.migrations import migrate
from tests.support.receiver import Receiver
from tests.support.servers import serve_in_thread

PREVIOUS = "0007_credit_grants"


def test_0008_goes_down_and_up_with_deliveries_in_the_database(settings: Settings) -> None:
    app = Receiver()
    with serve_in_thread(app) as url:
        service = TopUpService.from_settings(settings)
        service.open_account(ACCOUNT)
        endpoint = service.add_hook(url + "/in", events=["balance.*"]).endpoint.id
        service.credit(ACCOUNT, 100, reason="migration", idempotency_key=uuid.uuid4().hex)
        assert service.deliver_hooks_once().delivered == 1
        [event] = service.hook_events(endpoint_id=endpoint)
        assert len(service.hook_attempts(event.id)) == 1
        service.close()

        engine = create_db_engine(settings.database_url)
        try:
            migrate(engine, "downgrade", PREVIOUS)
            tables = sa.inspect(engine).get_table_names()
            assert "webhook_attempts" not in tables
            assert "webhook_deliveries" in tables
            schema.upgrade(engine)
            assert schema.current_revision(engine) == schema.HEAD_REVISION
        finally:
            engine.dispose()

        service = TopUpService.from_settings(settings)
        try:
            [delivery] = service.hook_deliveries()
            assert (delivery.event_id, delivery.state) == (event.id, "delivered")
            assert service.hook_attempts(event.id) == []  # the history starts at 0008
            service.retry_delivery(event.id)
            assert service.deliver_hooks_once().delivered == 1
            assert [a.attempt for a in service.hook_attempts(event.id)] == [1]
            assert service.remove_hook(endpoint).deliveries_removed == 1
            assert service.hook_attempts(event.id) == []
        finally:
            service.close()
