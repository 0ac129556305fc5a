"""Auto-recharge rules (``auto_recharge_rules``): one per account, written whole.

Imports sqlalchemy/sqlmodel, models and the store's upsert helpers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from stripetopup.models import Account, AutoRechargeRule, RuleState
from stripetopup.store.upsert import dialect_insert

_RULES = AutoRechargeRule.__table__  # type: ignore[attr-defined]


def find(session: Session, account_pk: int) -> AutoRechargeRule | None:
    statement = select(AutoRechargeRule).where(AutoRechargeRule.account_pk == account_pk)
    return session.exec(statement.execution_options(populate_existing=True)).first()


def put(session: Session, account_pk: int, terms: dict[str, Any], now: datetime) -> None:
    """Insert the account's rule, or replace its terms (keeping when it was first set)."""
    values = {**terms, "account_pk": account_pk, "created_at": now, "updated_at": now}
    statement = dialect_insert(session, _RULES).values(**values)
    update = {name: statement.excluded[name] for name in (*terms, "updated_at")}
    session.execute(statement.on_conflict_do_update(index_elements=["account_pk"], set_=update))


def set_status(
    session: Session, account_pk: int, status: str, reason: str | None, now: datetime
) -> int:
    result = session.execute(
        sa.update(_RULES)
        .where(_RULES.c.account_pk == account_pk)
        .values(status=status, paused_reason=reason, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def delete(session: Session, account_pk: int) -> int:
    result = session.execute(sa.delete(_RULES).where(_RULES.c.account_pk == account_pk))
    return int(getattr(result, "rowcount", 0) or 0)


def paused(session: Session, *, limit: int = 20) -> list[tuple[str, str | None]]:
    """(account id, reason) of paused rules, most recently paused first."""
    accounts = Account.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(accounts.c.account_id, _RULES.c.paused_reason)
        .join(accounts, accounts.c.id == _RULES.c.account_pk)
        .where(_RULES.c.status == RuleState.PAUSED.value)
        .order_by(_RULES.c.updated_at.desc())
        .limit(limit)
    )
    return [(str(a), r) for a, r in session.execute(statement)]
