"""refunds, disputes and stray payments

Ledger entries are looked up by payment intent (a refund or dispute names only that), and
a payment records who resolved it by hand (``payments assign`` / ``dismiss``), when and why.

Revision ID: 0002_reversals
Revises: 0001_initial
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_reversals"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_payment_intent_id"), ["payment_intent_id"], unique=False
        )
    with op.batch_alter_table("stripe_payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("stripe_payments", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_payment_intent_id"))
