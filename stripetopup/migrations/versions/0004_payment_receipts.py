"""payment receipts: the session's invoice and its hosted page

With ``STRIPETOPUP_INVOICE_CREATION`` on, Checkout makes a paid invoice for each top-up.
``stripe_payments.invoice_id`` keeps the session's ``invoice`` (``in_...``) and
``hosted_invoice_url`` the receipt page Stripe hosts for it. Both are empty on the
payments made before (and on every payment while invoice creation is off).

Revision ID: 0004_payment_receipts
Revises: 0003_payment_resolutions
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_payment_receipts"
down_revision: str | None = "0003_payment_resolutions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stripe_payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "hosted_invoice_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("stripe_payments", schema=None) as batch_op:
        batch_op.drop_column("hosted_invoice_url")
        batch_op.drop_column("invoice_id")
