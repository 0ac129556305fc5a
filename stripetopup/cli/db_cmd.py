"""``stripetopup db``: schema migrations."""

from __future__ import annotations

import typer

from stripetopup.cli import context
from stripetopup.cli.output import guard, say

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply pending migrations (safe to run on every deploy)."""
    from stripetopup import schema
    from stripetopup.db import create_db_engine

    with guard():
        engine = create_db_engine(context.settings().database_url)
        try:
            revision = schema.upgrade(engine)
        finally:
            engine.dispose()
    say(f"Database is at revision {revision}.")


@db_app.command("current")
def current() -> None:
    """Print the database's schema revision."""
    from stripetopup import schema
    from stripetopup.db import create_db_engine

    with guard():
        engine = create_db_engine(context.settings().database_url)
        try:
            revision = schema.current_revision(engine)
        finally:
            engine.dispose()
    say(f"{revision or 'empty'} (this version needs {schema.HEAD_REVISION})")
