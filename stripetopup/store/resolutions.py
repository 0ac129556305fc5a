"""The history of operator decisions on payments: appended, never changed.

``payments assign`` / ``dismiss`` (and a forced assign over a dismissal) each add one row in
the transaction that makes the decision. May import models and sqlmodel/sqlalchemy only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from stripetopup.dates import utcnow
from stripetopup.models import MAX_REASON_LENGTH, PaymentResolution

ASSIGNED, DISMISSED = "assigned", "dismissed"


def append(
    session: Session,
    checkout_session_id: str,
    *,
    action: str,
    actor: str,
    reason: str,
    account_id: str | None = None,
    forced: bool = False,
) -> PaymentResolution:
    """Record one decision on ``checkout_session_id``, stamped now."""
    row = PaymentResolution(
        checkout_session_id=checkout_session_id,
        action=action,
        forced=forced,
        account_id=account_id,
        actor=actor[:100],
        reason=reason[:MAX_REASON_LENGTH],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def history(session: Session, checkout_session_id: str) -> Sequence[PaymentResolution]:
    """Every decision on ``checkout_session_id``, oldest first."""
    statement = (
        select(PaymentResolution)
        .where(PaymentResolution.checkout_session_id == checkout_session_id)
        .order_by(col(PaymentResolution.id))
    )
    return session.exec(statement).all()
