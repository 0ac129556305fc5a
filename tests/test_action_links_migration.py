"""Migration 0010 on a database already in use, on both databases: taken back to 0009 and
upgraded again with a pending recharge attempt in it, the attempt stays (its link columns
empty), and the worker then charges it and gives it its one Checkout link.
"""

from __future__ import annotations

import sqlalchemy as sa

from stripetopup import schema
from stripetopup.core import TopUpService
from stripetopup.db import create_db_engine
from stripetopup.emulator import EmulatorServer
from tests.conftest import Running
from tests.support.migrations import migrate
from tests.test_recharge_action_links import link_sessions, needs_the_buyer
from tests.test_recharge_attempts import attempts

PREVIOUS = "0009_auto_recharge"
LINK_COLUMNS = {"checkout_session_id", "checkout_url", "checkout_error"}


def columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("recharge_attempts")}


def test_0010_goes_down_and_up_with_an_attempt_in_the_database(
    running: Running, emulator: EmulatorServer
) -> None:
    service = needs_the_buyer(running)
    [(key, status, amount, _)] = attempts(service)
    engine = create_db_engine(service.settings.database_url)
    try:
        migrate(engine, "downgrade", PREVIOUS)
        assert not LINK_COLUMNS & columns(engine)
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.HEAD_REVISION
        assert columns(engine) >= LINK_COLUMNS
    finally:
        engine.dispose()
    upgraded = TopUpService.from_settings(service.settings)  # fresh connections after DDL
    try:
        assert [(k, s, a) for k, s, a, _ in attempts(upgraded)] == [(key, status, amount)]
        run = upgraded.run_auto_recharge()
        [made] = link_sessions(emulator)
        assert (run.results, run.links) == ({key: "requires_action"}, {key: made.id})
    finally:
        upgraded.close()
