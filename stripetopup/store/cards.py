"""Saved cards (``saved_cards``) and the account's Stripe Customer id (``accounts``).

A card is inserted once (its payment method id is unique, so a webhook and its replay
record it once) and never deleted: removing or losing it only ends it, keeping the
consent record. Imports sqlalchemy/sqlmodel, models and the store's upsert helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import Account, CardStatus, SavedCard
from stripetopup.store.upsert import insert_ignore

_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]
_CARDS = SavedCard.__table__  # type: ignore[attr-defined]


def keep_customer(session: Session, account_pk: int, customer_id: str) -> str:
    """Store ``customer_id`` unless the account has one already; the one it has now."""
    session.execute(
        sa.update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id == account_pk, _ACCOUNTS.c.stripe_customer_id.is_(None))
        .values(stripe_customer_id=customer_id)
    )
    found = session.execute(
        sa.select(_ACCOUNTS.c.stripe_customer_id).where(_ACCOUNTS.c.id == account_pk)
    ).scalar_one()
    return str(found)


def forget_customer(session: Session, customer_id: str) -> None:
    """The customer is gone in Stripe: the account makes a new one on next need."""
    session.execute(
        sa.update(_ACCOUNTS)
        .where(_ACCOUNTS.c.stripe_customer_id == customer_id)
        .values(stripe_customer_id=None)
    )


def record(session: Session, values: dict[str, Any]) -> bool:
    """Insert a saved card unless its payment method is recorded; True when inserted."""
    return insert_ignore(session, SavedCard, values)


def for_account(session: Session, account_pk: int, *, active_only: bool) -> Sequence[SavedCard]:
    statement = select(SavedCard).where(SavedCard.account_pk == account_pk)
    if active_only:
        statement = statement.where(SavedCard.status == CardStatus.ACTIVE.value)
    return session.exec(statement.order_by(col(SavedCard.id))).all()


def find(session: Session, payment_method_id: str) -> SavedCard | None:
    statement = select(SavedCard).where(SavedCard.payment_method_id == payment_method_id)
    return session.exec(statement.execution_options(populate_existing=True)).first()


def with_customer(session: Session, customer_id: str) -> Sequence[SavedCard]:
    return session.exec(select(SavedCard).where(SavedCard.customer_id == customer_id)).all()


def end(
    session: Session,
    where: sa.ColumnElement[bool],
    status: CardStatus,
    *,
    at: datetime,
    reason: str,
) -> int:
    """End the active cards ``where`` selects; how many were active."""
    result = session.execute(
        sa.update(_CARDS)
        .where(where, _CARDS.c.status == CardStatus.ACTIVE.value)
        .values(status=status.value, ended_at=at, ended_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def by_payment_method(payment_method_id: str) -> sa.ColumnElement[bool]:
    return _CARDS.c.payment_method_id == payment_method_id  # type: ignore[no-any-return]


def by_customer(customer_id: str) -> sa.ColumnElement[bool]:
    return _CARDS.c.customer_id == customer_id  # type: ignore[no-any-return]
