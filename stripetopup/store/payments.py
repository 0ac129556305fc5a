"""Stripe payments: one row per Checkout Session, and its state as we know it.

``state`` is ours (:class:`~stripetopup.models.PaymentState`); ``status`` and
``payment_status`` mirror Stripe's fields. State only moves forward
(:data:`~stripetopup.models.PAYMENT_RANK`): a late or reordered event can never undo a
credit. Imports sqlalchemy/sqlmodel, models, the typed Stripe objects and store helpers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stripetopup.dates import utcnow
from stripetopup.models import (
    FINAL_PAYMENT_STATES,
    PAYMENT_RANK,
    PaymentState,
    StripePayment,
)
from stripetopup.store.upsert import bound_values, dialect_of, insert_for, insert_ignore
from stripetopup.stripe_objects import CheckoutSession

STATES = tuple(PAYMENT_RANK)  # every state, in rank order


def record_created(
    session: Session,
    *,
    checkout_session_id: str,
    account_id: str,
    amount_requested_cents: int,
    currency: str,
    livemode: bool,
    url: str | None,
) -> None:
    """The row for a session we just created (a no-op if a webhook wrote it first)."""
    now = utcnow()
    insert_ignore(
        session,
        StripePayment,
        {
            "checkout_session_id": checkout_session_id,
            "account_id": account_id,
            "amount_requested_cents": amount_requested_cents,
            "currency": currency,
            "livemode": livemode,
            "url": url,
            "status": "open",
            "payment_status": "unpaid",
            "state": PaymentState.CREATED,
            "created_at": now,
            "updated_at": now,
        },
    )


def find(session: Session, checkout_session_id: str, *, lock: bool = False) -> StripePayment | None:
    statement = select(StripePayment).where(
        StripePayment.checkout_session_id == checkout_session_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).first()


def find_by_payment_intent(session: Session, payment_intent_id: str) -> StripePayment | None:
    return session.exec(
        select(StripePayment).where(StripePayment.payment_intent_id == payment_intent_id)
    ).first()


_PAYMENTS = StripePayment.__table__  # type: ignore[attr-defined]


def upsert_from_stripe(
    session: Session, checkout: CheckoutSession, account_id: str | None
) -> StripePayment:
    """Create or refresh the row from a Checkout Session object, in one statement.

    Stripe's fields are refreshed; our ``state`` is left alone (see :func:`advance`), and an
    account already on the row is kept. On PostgreSQL the upsert row-locks it until commit.
    """
    row = session.execute(
        upsert_statement(dialect_of(session)), upsert_values(checkout, account_id)
    ).one()
    return StripePayment(**row._mapping)


def upsert_values(checkout: CheckoutSession, account_id: str | None) -> dict[str, Any]:
    """The parameters of :func:`upsert_statement` for ``checkout`` (also the fast credit's)."""
    created = checkout.created
    now = utcnow()
    return {
        "checkout_session_id": checkout.id,
        "account_id": account_id,
        "amount_total_cents": checkout.amount_total,
        "currency": checkout.currency_code[:3],
        "status": checkout.status or "open",
        "payment_status": checkout.payment_status or "unpaid",
        "livemode": checkout.livemode,
        "payment_intent_id": checkout.payment_intent_id,
        "invoice_id": checkout.invoice_id,
        "state": PaymentState.CREATED,
        "created_at": datetime.fromtimestamp(created, UTC) if created is not None else now,
        "updated_at": now,
    }


@functools.cache
def upsert_statement(dialect: str) -> Any:
    """The payment upsert for ``dialect``, built once (RETURNING every column)."""
    insert = insert_for(dialect, _PAYMENTS)
    new, old = insert.excluded, _PAYMENTS.c
    return (
        insert.values(bound_values(_UPSERT_COLUMNS))
        .on_conflict_do_update(
            index_elements=["checkout_session_id"],
            set_={
                "status": new.status,
                "payment_status": new.payment_status,
                "amount_total_cents": sa.func.coalesce(
                    new.amount_total_cents, old.amount_total_cents
                ),
                "currency": sa.func.coalesce(sa.func.nullif(new.currency, ""), old.currency),
                "livemode": new.livemode,
                "payment_intent_id": sa.func.coalesce(new.payment_intent_id, old.payment_intent_id),
                "invoice_id": sa.func.coalesce(new.invoice_id, old.invoice_id),
                "account_id": sa.func.coalesce(old.account_id, new.account_id),
                "updated_at": new.updated_at,
            },
        )
        .returning(*_PAYMENTS.c)
    )


_UPSERT_COLUMNS = (
    "checkout_session_id",
    "account_id",
    "amount_total_cents",
    "currency",
    "status",
    "payment_status",
    "livemode",
    "payment_intent_id",
    "invoice_id",
    "state",
    "created_at",
    "updated_at",
)


def keep_receipt(session: Session, checkout_session_id: str, hosted_invoice_url: str) -> None:
    """Keep the receipt page of the payment's invoice (the first one found stays)."""
    session.execute(
        sa.update(_PAYMENTS)
        .where(_PAYMENTS.c.checkout_session_id == checkout_session_id)
        .where(_PAYMENTS.c.hosted_invoice_url.is_(None))
        .values(hosted_invoice_url=hosted_invoice_url)
    )


def advance(
    session: Session,
    payment: StripePayment,
    state: PaymentState,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    force: bool = False,
) -> bool:
    """Move ``payment`` to ``state`` unless it is already further along; True if it moved.

    ``force`` moves it regardless (a credit, or an operator's decision).
    """
    if not force:
        if PAYMENT_RANK[state] < PAYMENT_RANK[PaymentState(payment.state)]:
            return False
        if payment.state in FINAL_PAYMENT_STATES and state != payment.state:
            return False
    changes: dict[str, Any] = {"state": state}
    if state in (PaymentState.ATTENTION, PaymentState.DISMISSED):
        changes["attention_reason"] = reason
    if entry_id is not None:
        changes["credited_entry_id"] = entry_id
    if all(getattr(payment, key) == value for key, value in changes.items()):
        return False  # a replay or duplicate: nothing to write
    changes["updated_at"] = utcnow()
    session.execute(sa.update(_PAYMENTS).where(_PAYMENTS.c.id == payment.id).values(**changes))
    for key, value in changes.items():
        setattr(payment, key, value)
    return True


def by_session_ids(session: Session, ids: Iterable[str]) -> dict[str, StripePayment]:
    """Rows for many sessions in one query (reconcile asks once per page of 100)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(StripePayment).where(col(StripePayment.checkout_session_id).in_(wanted))
    ).all()
    return {row.checkout_session_id: row for row in rows}


def search(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    account_id: str | None = None,
    state: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> Sequence[StripePayment]:
    statement = select(StripePayment)
    if since is not None:
        statement = statement.where(col(StripePayment.created_at) >= since)
    if until is not None:
        statement = statement.where(col(StripePayment.created_at) < until)
    if account_id is not None:
        statement = statement.where(StripePayment.account_id == account_id)
    if state is not None:
        statement = statement.where(StripePayment.state == state)
    if status is not None:
        statement = statement.where(StripePayment.status == status)
    order = (col(StripePayment.created_at).desc(), col(StripePayment.id).desc())
    return session.exec(statement.order_by(*order).limit(limit)).all()
