"""webhook attempts: one row per attempt of a delivery

``webhook_attempts`` keeps every try of every webhook delivery (attempt number, when,
the status code, the bounded error, the duration in ms), written with the attempt's
outcome. A new table only: nothing existing is rebuilt.

Revision ID: 0008_webhook_attempts
Revises: 0007_credit_grants
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_webhook_attempts"
down_revision: str | None = "0007_credit_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_String = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", _String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_pk"], ["webhook_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_webhook_attempts_delivery_pk"), "webhook_attempts", ["delivery_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_attempts_delivery_pk"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
