"""The database layer's own promises: a database we cannot reach is a DatabaseError (the
doors turn it into 503 / exit 1), never a driver traceback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.db import create_db_engine, run_in_transaction, transaction
from stripetopup.errors import DatabaseError
from tests.support.servers import free_port

UNREACHABLE = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"


def test_an_unreachable_database_is_a_database_error() -> None:
    engine = create_db_engine(UNREACHABLE)
    with pytest.raises(DatabaseError, match="database unavailable: OperationalError"):
        run_in_transaction(engine, lambda session: session.execute(sa.text("SELECT 1")))
    with pytest.raises(DatabaseError), transaction(engine) as session:
        session.execute(sa.text("SELECT 1"))
    engine.dispose()


def test_the_cli_reports_an_unreachable_database_without_a_traceback() -> None:
    result = CliRunner().invoke(app, ["balance", "acct-1"], env={"DATABASE_URL": UNREACHABLE})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database unreachable")
    assert "Traceback" not in result.stdout + result.stderr
