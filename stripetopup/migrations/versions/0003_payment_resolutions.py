"""payment resolution history; replays counted apart from deliveries

``payment_resolutions`` keeps every operator decision on a payment (assign, dismiss, a
forced assign over a dismissal). Decisions made before this revision (the latest one per
payment, on ``stripe_payments.resolved_*``) are copied in, so no history is lost.
``webhook_events.replays`` counts ``replay`` runs; ``attempts`` keeps counting deliveries.

Revision ID: 0003_payment_resolutions
Revises: 0002_reversals
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_payment_resolutions"
down_revision: str | None = "0002_reversals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "checkout_session_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_resolutions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_resolutions_checkout_session_id"),
            ["checkout_session_id"],
            unique=False,
        )
    # The one decision 0002 kept per payment becomes the first entry of its history.
    op.execute(
        "INSERT INTO payment_resolutions "
        "(checkout_session_id, action, forced, account_id, actor, reason, created_at) "
        "SELECT checkout_session_id, "
        "CASE WHEN state = 'dismissed' THEN 'dismissed' ELSE 'assigned' END, "
        "false, CASE WHEN state = 'dismissed' THEN NULL ELSE account_id END, "
        "resolved_by, COALESCE(resolution, ''), COALESCE(resolved_at, updated_at) "
        "FROM stripe_payments WHERE resolved_by IS NOT NULL ORDER BY id"
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replays", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("replays")
    with op.batch_alter_table("payment_resolutions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_resolutions_checkout_session_id"))
    op.drop_table("payment_resolutions")
