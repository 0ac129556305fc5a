"""outbound events (the transactional outbox) and low-balance thresholds

``outbound_events`` holds every event for the host application, written in the same
transaction as the change it describes. ``seq`` numbers the rows (BIGINT on PostgreSQL)
in the order the pull feed and the delivery worker read them; ``message_id`` (``msg_...``)
is the id the host application sees.
``accounts.low_balance_threshold_cents`` is an account's own threshold (empty: the
``STRIPETOPUP_LOW_BALANCE_THRESHOLD`` default) and ``accounts.below_threshold`` whether its
available balance is below it now; existing accounts start above (false).

Revision ID: 0005_outbound_events
Revises: 0004_payment_receipts
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005_outbound_events"
down_revision: str | None = "0004_payment_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbound_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("message_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbound_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_events_type"), ["type"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbound_events_account_id"), ["account_id"], unique=False
        )
    # Plain ADD COLUMN, not a batch: on SQLite a batch may rebuild ``accounts``, and dropping
    # the old table fails while ledger entries and holds reference it (foreign keys are on).
    op.add_column("accounts", sa.Column("low_balance_threshold_cents", sa.Integer(), nullable=True))
    op.add_column(
        "accounts",
        sa.Column("below_threshold", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("below_threshold")
        batch_op.drop_column("low_balance_threshold_cents")
    with op.batch_alter_table("outbound_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_events_account_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_events_type"))
    op.drop_table("outbound_events")
