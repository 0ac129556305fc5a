"""``stripetopup db``: schema migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from stripetopup.cli import context
from stripetopup.cli.output import guard, say

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@contextmanager
def _engine() -> Iterator[Engine]:
    """The configured database's engine, under the CLI's error translation."""
    from stripetopup.db import create_db_engine  # here: sqlalchemy is slow to import

    with guard():
        engine = create_db_engine(context.settings().database_url)
        try:
            yield engine
        finally:
            engine.dispose()


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply pending migrations (safe to run on every deploy)."""
    from stripetopup import schema  # here: alembic is slow to import

    with _engine() as engine:
        revision = schema.upgrade(engine)
    say(f"Database is at revision {revision}.")


@db_app.command("current")
def current() -> None:
    """Print the database's schema revision."""
    from stripetopup import schema  # here: alembic is slow to import

    with _engine() as engine:
        revision = schema.current_revision(engine)
    say(f"{revision or 'empty'} (this version needs {schema.HEAD_REVISION})")
