"""auto-recharge: the account's Stripe Customer and its saved cards with their consent

``accounts.stripe_customer_id`` is the account's ``cus_...`` (added as a plain nullable
column with a unique index: no table rebuild). ``saved_cards`` keeps each card saved for
later charges: the payment method's id, brand, last 4 and expiry, and the consent given
(when, which text version, through which door); a card is never deleted, only ended.
``auto_recharge_rules`` holds one rule per account: threshold, fixed amount or target,
monthly cap (cents and count), cooldown, and whether it is active or paused (and why).
``recharge_attempts`` holds each off-session top-up a rule asked for; a unique
``open_account_pk`` (the account while pending, NULL after) keeps one in flight per account.

Revision ID: 0009_auto_recharge
Revises: 0008_webhook_attempts
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_auto_recharge"
down_revision: str | None = "0008_webhook_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("stripe_customer_id", _text(255), nullable=True))
    op.create_index(
        "ix_accounts_stripe_customer_id", "accounts", ["stripe_customer_id"], unique=True
    )
    op.create_table(
        "saved_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("payment_method_id", _text(255), nullable=False),
        sa.Column("customer_id", _text(255), nullable=False),
        sa.Column("brand", _text(40), nullable=False),
        sa.Column("last4", _text(4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("consent_at", _ts, nullable=False),
        sa.Column("consent_version", _text(40), nullable=False),
        sa.Column("consent_door", _text(20), nullable=False),
        sa.Column("checkout_session_id", _text(255), nullable=True),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("ended_at", _ts, nullable=True),
        sa.Column("ended_reason", _text(200), nullable=True),
        sa.ForeignKeyConstraint(["account_pk"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_method_id"),
    )
    op.create_index("ix_saved_cards_account_pk", "saved_cards", ["account_pk"], unique=False)
    op.create_index("ix_saved_cards_customer_id", "saved_cards", ["customer_id"], unique=False)
    _create_rules()
    _create_attempts()


def _create_rules() -> None:
    op.create_table(
        "auto_recharge_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("below_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("up_to_cents", sa.Integer(), nullable=True),
        sa.Column("monthly_cap_cents", sa.Integer(), nullable=False),
        sa.Column("monthly_count", sa.Integer(), nullable=True),
        sa.Column("cooldown_seconds", sa.Integer(), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("paused_reason", _text(200), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.ForeignKeyConstraint(["account_pk"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_pk"),
    )


def _create_attempts() -> None:
    op.create_table(
        "recharge_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_key", _text(255), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("open_account_pk", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", _text(3), nullable=False),
        sa.Column("payment_method_id", _text(255), nullable=False),
        sa.Column("customer_id", _text(255), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("reason", _text(200), nullable=True),
        sa.Column("payment_intent_id", _text(255), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("finished_at", _ts, nullable=True),
        sa.ForeignKeyConstraint(["account_pk"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_key"),
        sa.UniqueConstraint("open_account_pk"),
    )
    op.create_index(
        "ix_recharge_attempts_account_pk", "recharge_attempts", ["account_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_recharge_attempts_account_pk", table_name="recharge_attempts")
    op.drop_table("recharge_attempts")
    op.drop_table("auto_recharge_rules")
    op.drop_index("ix_saved_cards_customer_id", table_name="saved_cards")
    op.drop_index("ix_saved_cards_account_pk", table_name="saved_cards")
    op.drop_table("saved_cards")
    op.drop_index("ix_accounts_stripe_customer_id", table_name="accounts")
    op.drop_column("accounts", "stripe_customer_id")
