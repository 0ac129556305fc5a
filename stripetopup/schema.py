"""Schema migrations: upgrade to head, and check that a database is at the revision this
code expects, on sqlalchemy core and ``engines`` (no ORM: the quick read commands check it
too). Imports alembic lazily (only ``db upgrade`` and the first run pay for it).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from stripetopup.engines import unreachable
from stripetopup.errors import DatabaseError
from stripetopup.schema_head import HEAD_REVISION as HEAD_REVISION


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; return the revision the database is now at."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "stripetopup:migrations")
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as exc:
        raise DatabaseError(f"migration failed: {type(exc.orig).__name__}: {exc.orig}") from None
    return current_revision(engine) or "none"


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``, or None for an empty database."""
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        raise unreachable(engine, exc) from None


def ensure_current(engine: Engine, *, auto_upgrade_empty_sqlite: bool = True) -> None:
    """Refuse to run against a database at another revision.

    A brand-new SQLite file is migrated on the spot: that is the zero-setup promise.
    Anything else behind head must be upgraded by the operator on purpose.
    """
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is None and auto_upgrade_empty_sqlite and engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    found = revision or "an empty database"
    raise DatabaseError(
        f"database schema is at {found}, this version needs {HEAD_REVISION}: "
        "run `stripetopup db upgrade`"
    )
