"""recharge action links: the Checkout link a requires_action attempt gives the buyer

When the bank asks the buyer to authenticate an off-session recharge
(``authentication_required``), the worker makes one Checkout Session for the attempt so the
buyer can pay on-session. ``recharge_attempts`` gains its id (unique: one session is one
attempt's), its url, and ``checkout_error``: why Stripe refused to make one, when it did
(then no link is tried again). Plain nullable columns added to the table: no rebuild.

Revision ID: 0010_recharge_action_links
Revises: 0009_auto_recharge
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_recharge_action_links"
down_revision: str | None = "0009_auto_recharge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.add_column("recharge_attempts", sa.Column("checkout_session_id", _text(255), nullable=True))
    op.add_column("recharge_attempts", sa.Column("checkout_url", _text(2000), nullable=True))
    op.add_column("recharge_attempts", sa.Column("checkout_error", _text(200), nullable=True))
    op.create_index(
        "ix_recharge_attempts_checkout_session_id",
        "recharge_attempts",
        ["checkout_session_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_recharge_attempts_checkout_session_id", table_name="recharge_attempts")
    op.drop_column("recharge_attempts", "checkout_error")
    op.drop_column("recharge_attempts", "checkout_url")
    op.drop_column("recharge_attempts", "checkout_session_id")
