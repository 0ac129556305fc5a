"""Stripe payments: one row per Checkout Session, and its state as we know it.

``state`` is ours (created, pending, credited, failed, expired, no_payment_required,
attention, dismissed); ``status`` and ``payment_status`` mirror Stripe's fields. State only
moves forward: a late or reordered event can never undo a credit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from stripetopup.models import StripePayment, _now
from stripetopup.store.upsert import insert_ignore

# Higher rank wins; equal ranks may replace each other (e.g. attention <-> attention).
_RANK = {
    "created": 0,
    "pending": 1,
    "failed": 2,
    "expired": 2,
    "no_payment_required": 3,
    "attention": 3,
    "credited": 4,
    "dismissed": 4,
}
STATES = tuple(_RANK)


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
    now = _now()
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
            "state": "created",
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


def upsert_from_stripe(
    session: Session, obj: dict[str, Any], account_id: str | None
) -> StripePayment:
    """Create or refresh the row from a Checkout Session object, locked for this transaction."""
    cs_id = str(obj["id"])
    created = obj.get("created")
    created_at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else _now()
    insert_ignore(
        session,
        StripePayment,
        {
            "checkout_session_id": cs_id,
            "account_id": account_id,
            "currency": str(obj.get("currency") or "").lower()[:3],
            "livemode": bool(obj.get("livemode")),
            "state": "created",
            "created_at": created_at,
            "updated_at": _now(),
        },
    )
    payment = find(session, cs_id, lock=True)
    assert payment is not None
    payment.status = str(obj.get("status") or payment.status)
    payment.payment_status = str(obj.get("payment_status") or payment.payment_status)
    if isinstance(obj.get("amount_total"), int):
        payment.amount_total_cents = obj["amount_total"]
    if obj.get("currency"):
        payment.currency = str(obj["currency"]).lower()
    payment.livemode = bool(obj.get("livemode"))
    payment_intent = obj.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if payment_intent:
        payment.payment_intent_id = str(payment_intent)
    if payment.account_id is None and account_id:
        payment.account_id = account_id
    payment.updated_at = _now()
    session.add(payment)
    return payment


def advance(
    payment: StripePayment,
    state: str,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    force: bool = False,
) -> bool:
    """Move ``payment`` to ``state`` unless it is already further along; True if it moved."""
    if not force and _RANK[state] < _RANK[payment.state]:
        return False
    if not force and payment.state in ("credited", "dismissed") and state != payment.state:
        return False
    payment.state = state
    payment.attention_reason = reason if state == "attention" else payment.attention_reason
    if state == "dismissed":
        payment.attention_reason = reason
    if entry_id is not None:
        payment.credited_entry_id = entry_id
    payment.updated_at = _now()
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
