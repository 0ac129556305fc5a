"""Recharge attempts (``recharge_attempts``): armed by the change that takes the available
balance below a rule's threshold (a debit posted, a hold placed; ``store.recharge_arming``),
in its transaction, within the rule's monthly cap and cooldown.

:func:`arm` is called under the account's row lock (the change holds it) and inserts
with ``ON CONFLICT DO NOTHING`` on the unique ``open_account_pk``, so at most one attempt
is in flight per account even if two transactions got this far. The cap and cooldown are
read from the attempts themselves, in the same transaction. A requires_action attempt
gets one Checkout link (:func:`keep_link`), or the reason Stripe refused it
(:func:`refuse_link`). Imports sqlalchemy/sqlmodel, models and the store's cards and upsert
modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from stripetopup.models import AttemptStatus, AutoRechargeRule, RechargeAttempt, RuleState
from stripetopup.store import cards
from stripetopup.store.upsert import dialect_insert

_ATTEMPTS = RechargeAttempt.__table__  # type: ignore[attr-defined]
# What counts against the cap: money charged or about to be.
_CHARGING = (AttemptStatus.PENDING.value, AttemptStatus.SUCCEEDED.value)


@dataclass(frozen=True)
class Armed:
    """Why an attempt was or was not armed (``attempt_key`` set when one was)."""

    attempt_key: str | None
    skipped: str | None = None


def month_start(now: datetime) -> datetime:
    moment = now.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def charge_cents(rule: AutoRechargeRule, available_cents: int, minimum: int) -> int:
    if rule.amount_cents is not None:
        return rule.amount_cents
    return max((rule.up_to_cents or 0) - available_cents, minimum)


def arm(
    session: Session,
    rule: AutoRechargeRule,
    available_cents: int,
    *,
    currency: str,
    now: datetime,
    minimum_cents: int,
) -> Armed:
    """Arm one attempt if the account's active ``rule`` says so and its cap and cooldown allow."""
    if rule.status != RuleState.ACTIVE or available_cents >= rule.below_cents:
        return Armed(None)
    account_pk = rule.account_pk
    active = cards.for_account(session, account_pk, active_only=True)
    if not active:
        return Armed(None, "no active saved card")
    amount = charge_cents(rule, available_cents, minimum_cents)
    blocked = _blocked(session, rule, amount, now)
    if blocked:
        return Armed(None, blocked)
    number = _count(session, _ATTEMPTS.c.account_pk == account_pk) + 1
    key = f"recharge:{account_pk}:{number}"
    card = active[-1]
    values: dict[str, Any] = {
        "attempt_key": key,
        "account_pk": account_pk,
        "open_account_pk": account_pk,
        "amount_cents": amount,
        "currency": currency,
        "payment_method_id": card.payment_method_id,
        "customer_id": card.customer_id,
        "status": AttemptStatus.PENDING.value,
        "created_at": now,
    }
    statement = dialect_insert(session, _ATTEMPTS).values(**values).on_conflict_do_nothing()
    inserted = cast(CursorResult[Any], session.execute(statement)).rowcount
    return Armed(key) if inserted else Armed(None, "an attempt is in flight")


def _blocked(session: Session, rule: AutoRechargeRule, amount: int, now: datetime) -> str | None:
    """Why the rule may not charge ``amount`` now (in flight, cooldown, cap), or None."""
    mine = _ATTEMPTS.c.account_pk == rule.account_pk
    if _count(session, mine, _ATTEMPTS.c.status == AttemptStatus.PENDING.value):
        return "an attempt is in flight"
    latest = session.execute(sa.select(sa.func.max(_ATTEMPTS.c.created_at)).where(mine)).scalar()
    if latest is not None and _aware(latest) + timedelta(seconds=rule.cooldown_seconds) > now:
        return "cooldown"
    month = (mine, _ATTEMPTS.c.created_at >= month_start(now), _ATTEMPTS.c.status.in_(_CHARGING))
    charged = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_ATTEMPTS.c.amount_cents), 0)).where(*month)
    ).scalar_one()
    if int(charged) + amount > rule.monthly_cap_cents:
        return "monthly cap reached"
    if rule.monthly_count is not None and _count(session, *month) >= rule.monthly_count:
        return "monthly count reached"
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(session: Session, *where: sa.ColumnElement[bool]) -> int:
    found = session.execute(sa.select(sa.func.count()).select_from(_ATTEMPTS).where(*where))
    return int(found.scalar_one())


def for_account(session: Session, account_pk: int, *, limit: int = 20) -> Sequence[RechargeAttempt]:
    statement = (
        select(RechargeAttempt)
        .where(RechargeAttempt.account_pk == account_pk)
        .order_by(col(RechargeAttempt.id).desc())
        .limit(limit)
    )
    return session.exec(statement).all()


def pending_keys(session: Session, *, limit: int) -> list[str]:
    """The keys of attempts waiting for their charge, oldest first."""
    statement = (
        sa.select(_ATTEMPTS.c.attempt_key)
        .where(_ATTEMPTS.c.status == AttemptStatus.PENDING.value)
        .order_by(_ATTEMPTS.c.id)
        .limit(limit)
    )
    return [str(key) for key in session.execute(statement).scalars()]


def find(session: Session, attempt_key: str) -> RechargeAttempt | None:
    statement = select(RechargeAttempt).where(RechargeAttempt.attempt_key == attempt_key)
    return session.exec(statement.execution_options(populate_existing=True)).first()


def finish(
    session: Session,
    attempt_key: str,
    status: AttemptStatus,
    *,
    now: datetime,
    reason: str | None = None,
    payment_intent_id: str | None = None,
) -> bool:
    """End a pending attempt (it leaves the in-flight slot); False when it was not pending."""
    values: dict[str, Any] = {
        "status": status.value,
        "open_account_pk": None,
        "finished_at": now,
        "reason": reason[:200] if reason else None,
    }
    if payment_intent_id:
        values["payment_intent_id"] = payment_intent_id
    result = session.execute(
        sa.update(_ATTEMPTS)
        .where(
            _ATTEMPTS.c.attempt_key == attempt_key,
            _ATTEMPTS.c.status == AttemptStatus.PENDING.value,
        )
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


def declines_in_a_row(session: Session, account_pk: int) -> int:
    """Failed attempts since the account's last succeeded one."""
    mine = _ATTEMPTS.c.account_pk == account_pk
    last_ok = (
        sa.select(sa.func.coalesce(sa.func.max(_ATTEMPTS.c.id), 0))
        .where(mine, _ATTEMPTS.c.status == AttemptStatus.SUCCEEDED.value)
        .scalar_subquery()
    )
    return _count(
        session, mine, _ATTEMPTS.c.status == AttemptStatus.FAILED.value, _ATTEMPTS.c.id > last_ok
    )


def end_pending(session: Session, account_pk: int, reason: str, now: datetime) -> int:
    """End the account's pending attempt (its card is gone): it is never charged."""
    result = session.execute(
        sa.update(_ATTEMPTS)
        .where(
            _ATTEMPTS.c.account_pk == account_pk,
            _ATTEMPTS.c.status == AttemptStatus.PENDING.value,
        )
        .values(
            status=AttemptStatus.FAILED.value,
            open_account_pk=None,
            finished_at=now,
            reason=reason[:200],
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# The Checkout link of a requires_action attempt (migration 0010) ---------------------------
_WITHOUT_LINK = (
    _ATTEMPTS.c.status == AttemptStatus.REQUIRES_ACTION.value,
    _ATTEMPTS.c.checkout_session_id.is_(None),
    _ATTEMPTS.c.checkout_error.is_(None),
)


def awaiting_link(session: Session, *, limit: int) -> list[str]:
    """The keys of requires_action attempts with no Checkout link yet (and none refused),
    oldest first: the worker's next run makes theirs."""
    statement = (
        sa.select(_ATTEMPTS.c.attempt_key)
        .where(*_WITHOUT_LINK)
        .order_by(_ATTEMPTS.c.id)
        .limit(limit)
    )
    return [str(key) for key in session.execute(statement).scalars()]


def _needs_link(attempt_key: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (_ATTEMPTS.c.attempt_key == attempt_key, *_WITHOUT_LINK)


def keep_link(session: Session, attempt_key: str, checkout_session_id: str, url: str) -> bool:
    """Store the attempt's Checkout Session; False when it had one already (another worker
    stored the same session first) or is not requires_action."""
    result = session.execute(
        sa.update(_ATTEMPTS)
        .where(*_needs_link(attempt_key))
        .values(checkout_session_id=checkout_session_id, checkout_url=url)
    )
    return bool(getattr(result, "rowcount", 0))


def refuse_link(session: Session, attempt_key: str, reason: str) -> bool:
    """Record why Stripe refused the attempt's link (then none is tried again)."""
    result = session.execute(
        sa.update(_ATTEMPTS).where(*_needs_link(attempt_key)).values(checkout_error=reason[:200])
    )
    return bool(getattr(result, "rowcount", 0))
