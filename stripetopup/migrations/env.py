"""Alembic environment: runs against the connection handed over by stripetopup.schema."""

from alembic import context
from sqlmodel import SQLModel

from stripetopup import models  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
