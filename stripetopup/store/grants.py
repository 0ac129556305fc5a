"""Credit grants and their draws: how every ledger entry meets the account's credit.

:func:`settle_posting` is called by :func:`stripetopup.store.ledger.post` for every new
entry, under the account's lock, and nowhere else:

- a credit first settles the account's deficit (when it is effective now), then goes back
  to the grant ``rule.prefer_source`` made (a refund or dispute credited back) as far as
  that grant is live and was drawn, and the rest becomes a new grant (``source`` = the
  entry's source);
- a debit draws from the capturing hold's reservations, then from the grant
  ``rule.prefer_source`` made (a refund: the payment's own grant), then from the other
  *drawable* grants in burn-down order (:data:`BURN_DOWN`); what they cannot cover is drawn
  from no grant (``grant_pk`` NULL) and is the account's deficit;
- an expiry (``rule.expire_grant_pk``) writes off that grant's remainder and marks it expired.

Drawable at ``now``: live, effective (``effective_at <= now``), not past ``expires_at``,
and only what open holds do not reserve. Per account this keeps, exactly:
``balance == sum(remaining of live grants) - deficit`` with ``deficit == sum(draws with no
grant) >= 0`` (checked by :mod:`stripetopup.store.grant_checks`).
Imports sqlalchemy/sqlmodel, ``stripetopup.ids``, ``stripetopup.models`` and the store's
grant draws and grant reservations, and ``store.balances`` (what "drawable" and "spendable"
mean, said once there).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from stripetopup.ids import new_grant_id
from stripetopup.models import Account, CreditGrant, GrantCategory, GrantStatus
from stripetopup.store import balances, grant_draws, grant_reservations
from stripetopup.store.balances import Summary as Summary

DEFAULT_PRIORITY = 50


@dataclass(frozen=True)
class GrantRule:
    """How one posting meets the account's grants (the default: a paid, never-expiring
    grant for a credit; the burn-down order for a debit)."""

    category: GrantCategory = GrantCategory.PAID
    priority: int = DEFAULT_PRIORITY
    effective_at: datetime | None = None  # None: at once
    expires_at: datetime | None = None  # None: never
    prefer_source: str | None = None  # the grant this source made goes first
    hold_pk: int | None = None  # a capture: the hold's reservations first
    expire_grant_pk: int | None = None  # an expiry entry: the grant it writes off


@dataclass(frozen=True)
class Movement:
    """The new entry, as the grants see it."""

    account_pk: int
    entry_id: int
    amount_cents: int
    currency: str
    source: str
    now: datetime


# Burn-down: lower priority first, then the soonest expiry (never-expiring last), then
# the oldest, then the id: a total order, so two readers always agree.
BURN_DOWN = (
    col(CreditGrant.priority).asc(),
    sa.case((col(CreditGrant.expires_at).is_(None), 1), else_=0).asc(),
    col(CreditGrant.expires_at).asc(),
    col(CreditGrant.created_at).asc(),
    col(CreditGrant.id).asc(),
)


def settle_posting(session: Session, move: Movement, rule: GrantRule) -> CreditGrant | None:
    """Record how the new entry ``move`` changes the account's grants (see the module);
    returns the grant a credit made (None: it made none, or the entry is no credit)."""
    if rule.expire_grant_pk is not None:
        _write_off(session, move, rule.expire_grant_pk)
    elif move.amount_cents > 0:
        return _credit(session, move, rule)
    elif move.amount_cents < 0:
        _debit(session, move, rule)
    return None


def drawable(
    session: Session,
    account_pk: int,
    now: datetime,
    *,
    except_hold_pk: int | None = None,
    limit: int | None = None,
    skip: Collection[int] = (),
) -> list[tuple[CreditGrant, int]]:
    """The account's drawable grants in burn-down order, each with its unreserved cents
    (the first ``limit`` of them, leaving out the grant ids in ``skip``)."""
    params = {
        "account_pk": account_pk,
        "now": now,
        "except_hold": grant_reservations.NO_HOLD if except_hold_pk is None else except_hold_pk,
        "skip": list(skip),
        "limit": limit if limit is not None else MAX_GRANTS_READ,
    }
    rows = session.execute(_drawable_statement(), params).all()
    return [(grant, int(cents)) for grant, cents in rows]


MAX_GRANTS_READ = 2**31 - 1  # "no limit", as a bound parameter


@functools.cache
def _drawable_statement() -> Any:
    reserved = grant_reservations.reserved_by_grant_bound()
    free = CreditGrant.remaining_cents - sa.func.coalesce(reserved.c.reserved, 0)
    return (
        sa.select(CreditGrant, free)
        .outerjoin(reserved, reserved.c.grant_pk == col(CreditGrant.id))
        .where(
            *_drawable_bound(),
            free > 0,
            col(CreditGrant.id).not_in(sa.bindparam("skip", expanding=True)),
        )
        .order_by(*BURN_DOWN)
        .limit(sa.bindparam("limit"))
    )


def _drawable_bound() -> tuple[sa.ColumnElement[bool], ...]:
    # What drawable means is said once, in store.balances (the balance reads it there).
    return balances.drawable_where(CreditGrant.__table__)  # type: ignore[attr-defined]


def _in_order(
    session: Session, account_pk: int, now: datetime, except_hold_pk: int | None
) -> Iterator[tuple[CreditGrant, int]]:
    """Drawable grants in burn-down order, read a few at a time (a debit usually needs the
    first one or two, however many the account has). Each read leaves out the grants
    already handed out, as drawing from them changes what they have. Call it under the
    account's lock."""
    seen: set[int] = set()
    batch = 8
    while True:
        rows = drawable(
            session, account_pk, now, except_hold_pk=except_hold_pk, limit=batch, skip=seen
        )
        for grant, cents in rows:
            assert grant.id is not None
            seen.add(grant.id)
            yield grant, cents
        if len(rows) < batch:
            return
        batch *= 4


def drawable_total(session: Session, account_pk: int, now: datetime) -> int:
    """Cents the account's grants could cover now, beyond what holds reserve (one sum)."""
    return balances.drawable_total(session, account_pk, now)


def spendable(session: Session, account: Account, now: datetime) -> int:
    """What a debit may take without going negative: the drawable grants less the deficit,
    and never more than the balance less open holds (a hold from before grants reserved
    nothing)."""
    assert account.id is not None
    return balances.spendable(session, account.id, account.balance_cents, now)


def reserve(
    session: Session, account_pk: int, hold_pk: int, amount_cents: int, now: datetime
) -> int:
    """Reserve ``amount_cents`` for a new hold on the drawable grants, in burn-down order;
    returns the cents reserved (all of them once :func:`spendable` allowed the hold)."""
    need = amount_cents
    for grant, free in _in_order(session, account_pk, now, hold_pk):
        if need == 0:
            break
        take = min(need, free)
        assert grant.id is not None
        grant_reservations.add(session, hold_pk, grant.id, take)
        need -= take
    session.flush()
    return amount_cents - need


def summary(session: Session, account: Account, now: datetime) -> Summary:
    """What :class:`Summary` says for ``account`` at ``now`` (its grants are read once)."""
    assert account.id is not None
    return balances.summary(session, account.id, account.balance_cents, now)


def find_by_source(session: Session, source: str) -> CreditGrant | None:
    return session.exec(select(CreditGrant).where(CreditGrant.source == source)).first()


def find(session: Session, grant_id: str) -> CreditGrant | None:
    return session.exec(select(CreditGrant).where(CreditGrant.grant_id == grant_id)).first()


def get_locked(session: Session, grant_pk: int) -> CreditGrant:
    """A grant re-read in this transaction (call it under its account's lock)."""
    statement = (
        select(CreditGrant)
        .where(CreditGrant.id == grant_pk)
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).one()


def of_account(
    session: Session, account_pk: int, *, include_closed: bool = False
) -> Sequence[CreditGrant]:
    """An account's grants in burn-down order; by default only live ones with cents left."""
    statement = select(CreditGrant).where(CreditGrant.account_pk == account_pk)
    if not include_closed:
        statement = statement.where(*balances.live_with_cents(CreditGrant.__table__))  # type: ignore[attr-defined]
    return session.exec(statement.order_by(*BURN_DOWN)).all()


def due(session: Session, now: datetime, *, limit: int) -> list[tuple[int, int]]:
    """``(account_pk, grant_pk)`` of live grants past their expiry at ``now``, oldest first."""
    rows = session.execute(
        sa.select(col(CreditGrant.account_pk), col(CreditGrant.id))
        .where(col(CreditGrant.status) == GrantStatus.LIVE, col(CreditGrant.expires_at) <= now)
        .order_by(col(CreditGrant.expires_at), col(CreditGrant.id))
        .limit(limit)
    ).all()
    return [(int(account_pk), int(grant_pk)) for account_pk, grant_pk in rows]


def mark_expired(session: Session, grant: CreditGrant, now: datetime) -> None:
    grant.status = GrantStatus.EXPIRED
    grant.expired_at = now
    session.add(grant)
    session.flush()


def _credit(session: Session, move: Movement, rule: GrantRule) -> CreditGrant | None:
    rest = move.amount_cents
    target = _restorable(session, move, rule)
    effective = target is not None or rule.effective_at is None or rule.effective_at <= move.now
    settled = min(rest, grant_draws.deficit(session, move.account_pk)) if effective else 0
    if settled:
        _draw(session, move, None, -settled)
    if target is not None:
        back = min(rest - settled, target.amount_cents - target.remaining_cents)
        if back:
            _draw(session, move, target, -back)
        rest -= back
    if not (rest - settled > 0 or (rest > 0 and target is None)):
        return None
    grant = _create(session, move, rule, rest)
    if settled:
        _draw(session, move, grant, settled)
    return grant


def _restorable(session: Session, move: Movement, rule: GrantRule) -> CreditGrant | None:
    """The grant a credit back returns to: the one ``prefer_source`` made, if it is live,
    not past its expiry and has been drawn."""
    if rule.prefer_source is None:
        return None
    grant = find_by_source(session, rule.prefer_source)
    if grant is None or grant.account_pk != move.account_pk:
        return None
    expired = grant.expires_at is not None and grant.expires_at <= move.now
    if grant.status != GrantStatus.LIVE or expired or grant.remaining_cents >= grant.amount_cents:
        return None
    return grant


def _create(session: Session, move: Movement, rule: GrantRule, amount_cents: int) -> CreditGrant:
    grant = CreditGrant(
        grant_id=new_grant_id(),
        account_pk=move.account_pk,
        entry_id=move.entry_id,
        amount_cents=amount_cents,
        remaining_cents=amount_cents,
        currency=move.currency,
        category=rule.category,
        priority=rule.priority,
        effective_at=rule.effective_at or move.now,
        expires_at=rule.expires_at,
        source=move.source,
        created_at=move.now,
    )
    session.add(grant)
    session.flush()
    return grant


def _debit(session: Session, move: Movement, rule: GrantRule) -> None:
    need = -move.amount_cents
    if rule.hold_pk is not None:
        need = _from_reservations(session, move, rule.hold_pk, need)
    candidates: Iterable[tuple[CreditGrant, int]]
    if rule.prefer_source is not None:
        every = drawable(session, move.account_pk, move.now, except_hold_pk=rule.hold_pk)
        candidates = sorted(every, key=lambda pair: pair[0].source != rule.prefer_source)
    else:
        candidates = _in_order(session, move.account_pk, move.now, rule.hold_pk)
    for grant, free in candidates:
        if need == 0:
            break
        take = min(need, free)
        _draw(session, move, grant, take)
        need -= take
    if need:
        _draw(session, move, None, need)


def _from_reservations(session: Session, move: Movement, hold_pk: int, need: int) -> int:
    """Take ``need`` from what the hold reserved (even past the grants' expiry: the hold
    kept it for this capture); returns what is left to find elsewhere."""
    for reservation in grant_reservations.of_hold(session, hold_pk):
        if need == 0:
            break
        grant = get_locked(session, reservation.grant_pk)
        take = min(need, reservation.amount_cents, grant.remaining_cents)
        if grant.status == GrantStatus.LIVE and take > 0:
            _draw(session, move, grant, take)
            need -= take
    return need


def _write_off(session: Session, move: Movement, grant_pk: int) -> None:
    grant = get_locked(session, grant_pk)
    _draw(session, move, grant, -move.amount_cents)
    mark_expired(session, grant, move.now)


def _draw(session: Session, move: Movement, grant: CreditGrant | None, cents: int) -> None:
    """One draw row; ``cents`` leave ``grant`` (negative: come back to it)."""
    if grant is not None:
        assert 0 <= grant.remaining_cents - cents <= grant.amount_cents, "grant overdrawn"
        session.execute(_take_statement(), {"grant_pk": grant.id, "cents": cents})
        set_committed_value(grant, "remaining_cents", grant.remaining_cents - cents)
    grant_pk = grant.id if grant is not None else None
    grant_draws.add(session, move.entry_id, move.account_pk, grant_pk, cents)


@functools.cache
def _take_statement() -> Any:
    return (
        sa.update(CreditGrant)
        .where(col(CreditGrant.id) == sa.bindparam("grant_pk"))
        .values(remaining_cents=CreditGrant.remaining_cents - sa.bindparam("cents"))
    )
