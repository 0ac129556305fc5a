"""Batched reads for ``reconcile``: one query per page of Stripe sessions (or of
PaymentIntents), never one per object.

May import models and sqlmodel/sqlalchemy; never core, web or cli.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.models import Account, LedgerEntry, RechargeAttempt, StripePayment


@dataclass(frozen=True)
class LedgerRow:
    """The parts of a ledger entry reconcile compares with Stripe."""

    source: str
    amount_cents: int
    currency: str
    account_id: str
    checkout_session_id: str | None
    payment_intent_id: str | None


def entries_for_page(
    session: Session, credit_sources: Iterable[str], payment_intent_ids: Iterable[str]
) -> list[LedgerRow]:
    """Entries whose source is one of ``credit_sources`` or that belong to the payment intents.

    One query: the credits (``checkout_session:cs_...``) plus any refund or dispute entries
    recorded against the page's payment intents.
    """
    sources, intents = list(credit_sources), list(payment_intent_ids)
    if not sources and not intents:
        return []
    conditions = []
    if sources:
        conditions.append(col(LedgerEntry.source).in_(sources))
    if intents:
        conditions.append(col(LedgerEntry.payment_intent_id).in_(intents))
    statement = (
        sa.select(
            col(LedgerEntry.source),
            col(LedgerEntry.amount_cents),
            col(LedgerEntry.currency),
            col(Account.account_id),
            col(LedgerEntry.checkout_session_id),
            col(LedgerEntry.payment_intent_id),
        )
        .join(Account, col(Account.id) == col(LedgerEntry.account_pk))
        .where(sa.or_(*conditions))
    )
    return [LedgerRow(*row) for row in session.execute(statement).all()]


def known_accounts(session: Session, account_ids: Iterable[str]) -> set[str]:
    """Which of ``account_ids`` exist, in one query."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return set()
    statement = select(Account.account_id).where(col(Account.account_id).in_(wanted))
    return set(session.exec(statement).all())


def known_attempts(session: Session, attempt_keys: Iterable[str]) -> set[str]:
    """Which of ``attempt_keys`` (auto-recharge attempts Stripe names) exist, in one query."""
    wanted = sorted(set(attempt_keys))
    if not wanted:
        return set()
    statement = select(RechargeAttempt.attempt_key).where(
        col(RechargeAttempt.attempt_key).in_(wanted)
    )
    return set(session.exec(statement).all())


def window_payments(
    session: Session, *, since: datetime, until: datetime, after_id: int, limit: int
) -> Sequence[StripePayment]:
    """One batch of local payments created in ``[since, until)``, by row id after ``after_id``."""
    statement = (
        select(StripePayment)
        .where(
            col(StripePayment.created_at) >= since,
            col(StripePayment.created_at) < until,
            col(StripePayment.id) > after_id,
        )
        .order_by(col(StripePayment.id))
        .limit(limit)
    )
    return session.exec(statement).all()
