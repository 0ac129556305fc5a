"""A database taken back to an earlier schema revision, for tests of upgrading real data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from stripetopup import schema
from stripetopup.db import create_db_engine


def migrate(engine: Engine, direction: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "stripetopup:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


@contextmanager
def engine_at(database_url: str, revision: str) -> Iterator[Engine]:
    """An engine on ``database_url`` downgraded to ``revision``; back at head afterwards."""
    engine = create_db_engine(database_url)
    migrate(engine, "downgrade", revision)
    assert schema.current_revision(engine) == revision
    try:
        yield engine
    finally:
        schema.upgrade(engine)  # the shared PostgreSQL database goes back to head either way
        engine.dispose()
