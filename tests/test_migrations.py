"""Migrations: the code's expected revision is the newest one, and it matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from stripetopup import models, schema
from stripetopup.db import create_db_engine
from stripetopup.errors import DatabaseError


def test_head_revision_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", "stripetopup:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [schema.HEAD_REVISION]


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    assert models.Account.__tablename__ == "accounts"
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_an_unmigrated_postgres_or_old_database_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('0000_ancient')")
    with pytest.raises(DatabaseError, match="run `stripetopup db upgrade`"):
        schema.ensure_current(engine)
    engine.dispose()


def test_a_new_sqlite_file_is_migrated_on_first_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new.db'}")
    schema.ensure_current(engine)
    assert schema.current_revision(engine) == schema.HEAD_REVISION
    engine.dispose()
