"""credit grants: every credit a grant, every debit's draws on them, holds' reservations

``credit_grants`` holds what remains of each credit (category, priority, effective and
expiry times); ``grant_draws`` what each entry took from which grant (no grant: the
uncovered part of a debit, the account's deficit); ``grant_reservations`` what an open
hold keeps on which grant. Cents are BIGINT on PostgreSQL.

An existing account's balance becomes its opening: a positive balance one paid,
never-expiring grant (``opening_balance:<account id>``, no entry), a negative balance an
opening deficit (a draw with no entry and no grant), zero nothing. Its open holds reserve
the opening grant, oldest first, as far as it goes. So ``balance == sum(remaining of live
grants) - deficit`` holds from the start.

Revision ID: 0007_credit_grants
Revises: 0006_webhook_endpoints
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_credit_grants"
down_revision: str | None = "0006_webhook_endpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CENTS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ts = sa.DateTime(timezone=True)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    _create_grants()
    _create_draws()
    _create_reservations()
    _open_balances(op.get_bind())


def _create_grants() -> None:
    op.create_table(
        "credit_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", _text(40), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", _CENTS, nullable=False),
        sa.Column("remaining_cents", _CENTS, nullable=False),
        sa.Column("currency", _text(3), nullable=False),
        sa.Column("category", _text(20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("effective_at", _ts, nullable=False),
        sa.Column("expires_at", _ts, nullable=True),
        sa.Column("source", _text(255), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("expired_at", _ts, nullable=True),
        sa.ForeignKeyConstraint(["account_pk"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_id"),
        sa.UniqueConstraint("source"),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        for column in ("account_pk", "entry_id", "expires_at", "status"):
            batch_op.create_index(batch_op.f(f"ix_credit_grants_{column}"), [column], unique=False)


def _create_draws() -> None:
    op.create_table(
        "grant_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("grant_pk", sa.Integer(), nullable=True),
        sa.Column("amount_cents", _CENTS, nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"]),
        sa.ForeignKeyConstraint(["account_pk"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["grant_pk"], ["credit_grants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grant_draws", schema=None) as batch_op:
        for column in ("entry_id", "account_pk", "grant_pk"):
            batch_op.create_index(batch_op.f(f"ix_grant_draws_{column}"), [column], unique=False)


def _create_reservations() -> None:
    op.create_table(
        "grant_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_pk", sa.Integer(), nullable=False),
        sa.Column("grant_pk", sa.Integer(), nullable=False),
        sa.Column("amount_cents", _CENTS, nullable=False),
        sa.ForeignKeyConstraint(["hold_pk"], ["holds.id"]),
        sa.ForeignKeyConstraint(["grant_pk"], ["credit_grants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grant_reservations", schema=None) as batch_op:
        for column in ("hold_pk", "grant_pk"):
            batch_op.create_index(
                batch_op.f(f"ix_grant_reservations_{column}"), [column], unique=False
            )


_ACCOUNTS = sa.table(
    "accounts", sa.column("id"), sa.column("account_id"), sa.column("balance_cents")
)
_HOLDS = sa.table(
    "holds",
    *(sa.column(n) for n in ("id", "account_pk", "amount_cents", "captured_cents", "status")),
)
_GRANTS = sa.table(
    "credit_grants",
    *(sa.column(n) for n in ("id", "grant_id", "account_pk", "entry_id", "amount_cents")),
    *(sa.column(n) for n in ("remaining_cents", "currency", "category", "priority", "source")),
    *(sa.column(n) for n in ("status", "effective_at", "expires_at", "created_at")),
)
_DRAWS = sa.table(
    "grant_draws", *(sa.column(n) for n in ("entry_id", "account_pk", "grant_pk", "amount_cents"))
)
_RESERVATIONS = sa.table(
    "grant_reservations", *(sa.column(n) for n in ("hold_pk", "grant_pk", "amount_cents"))
)


def _open_balances(bind: sa.Connection) -> None:
    now = datetime.now(UTC)
    currency = _currency(bind)
    for account_pk, account_id, balance in bind.execute(
        sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.account_id, _ACCOUNTS.c.balance_cents)
    ).all():
        if balance < 0:
            bind.execute(
                _DRAWS.insert().values(
                    entry_id=None, account_pk=account_pk, grant_pk=None, amount_cents=-balance
                )
            )
        elif balance > 0:
            grant_pk = _opening_grant(bind, account_pk, account_id, balance, currency, now)
            _reserve_open_holds(bind, account_pk, grant_pk, balance)


def _currency(bind: sa.Connection) -> str:
    """The currency the ledger holds (every entry is in the installation's one currency)."""
    found = bind.execute(sa.text("SELECT currency FROM ledger_entries LIMIT 1")).scalar()
    return str(found) if found else "usd"


def _opening_grant(
    bind: sa.Connection,
    account_pk: int,
    account_id: str,
    balance: int,
    currency: str,
    now: datetime,
) -> int:
    bind.execute(
        _GRANTS.insert().values(
            grant_id="grant_" + secrets.token_hex(12),
            account_pk=account_pk,
            entry_id=None,
            amount_cents=balance,
            remaining_cents=balance,
            currency=currency,
            category="paid",
            priority=50,
            source=f"opening_balance:{account_id}",
            status="live",
            effective_at=now,
            expires_at=None,
            created_at=now,
        )
    )
    found = bind.execute(
        sa.select(_GRANTS.c.id).where(_GRANTS.c.source == f"opening_balance:{account_id}")
    ).scalar_one()
    return int(found)


def _reserve_open_holds(bind: sa.Connection, account_pk: int, grant_pk: int, cents: int) -> None:
    rows = bind.execute(
        sa.select(_HOLDS.c.id, _HOLDS.c.amount_cents - _HOLDS.c.captured_cents)
        .where(_HOLDS.c.account_pk == account_pk, _HOLDS.c.status == "open")
        .order_by(_HOLDS.c.id)
    ).all()
    for hold_pk, held in rows:
        take = min(int(held), cents)
        if take <= 0:
            break
        bind.execute(
            _RESERVATIONS.insert().values(hold_pk=hold_pk, grant_pk=grant_pk, amount_cents=take)
        )
        cents -= take


def downgrade() -> None:
    for table, columns in (
        ("grant_reservations", ("hold_pk", "grant_pk")),
        ("grant_draws", ("entry_id", "account_pk", "grant_pk")),
        ("credit_grants", ("account_pk", "entry_id", "expires_at", "status")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
