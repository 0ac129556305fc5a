"""The database layer's own promises: a database we cannot reach is a DatabaseError (the
doors turn it into 503 / exit 1), never a driver traceback; a SQLite connection keeps its
temporary data (a savepoint's journal) in memory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

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


def _temporary_files_open() -> list[str]:
    """The files this process holds open in SQLite's temporary directory (made and deleted
    at once, so only /proc still names them)."""
    fds = Path("/proc/self/fd")
    names = []
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # the fd listing itself, closed meanwhile
            names.append(os.readlink(fd))
    return [name for name in names if "etilqs_" in name]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_sqlite_savepoint_keeps_its_journal_in_memory_not_in_a_temporary_file(
    tmp_path: Path,
) -> None:
    """The webhook's batch opens a savepoint per event; what each one must be able to undo
    stays in memory, instead of a temporary file written and deleted on every commit."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
            " INSERT INTO t (body) SELECT printf('%.2000c', 'x') FROM n"
        )
    with engine.begin() as connection:
        connection.exec_driver_sql("SAVEPOINT one")
        # About 600 KB of pages changed inside the savepoint: far past the 64 KB a statement
        # journal keeps in memory before it spills to a file when temp_store is FILE.
        connection.exec_driver_sql("UPDATE t SET body = printf('%.2000c', 'y')")
        open_now = _temporary_files_open()
        connection.exec_driver_sql("RELEASE one")
        (temp_store,) = connection.exec_driver_sql("PRAGMA temp_store").one()
    engine.dispose()
    assert open_now == []
    assert temp_store == 2  # MEMORY
