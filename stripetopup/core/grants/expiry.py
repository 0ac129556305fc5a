"""Writing off expired grants, exactly once: ``grants expire`` and ``serve``'s job.

A live grant past ``expires_at`` is written off by one entry keyed ``expiry:<grant id>``
for what remains of it, then marked expired; one with nothing left is only marked. Each
account is one transaction that takes the account's lock first (the order every posting
keeps), re-reads the grant under it and writes through the one posting point
(:func:`stripetopup.core.outbound.posting.post`):
a debit racing the expiry either drew first (less is written off) or finds the grant
expired (it draws elsewhere), and the unique source makes a second run a no-op. A grant
an open hold still reserves waits: the hold's capture may draw on it, and the next run
after the hold ends writes off the rest.
May import core.context, the ledger room's sources, the outbound room's posting point, store,
db, models and errors.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.grants.types import ExpiryRun
from stripetopup.core.ledger import sources
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.outbound.emit import grant_expired
from stripetopup.db import run_in_transaction, transaction
from stripetopup.models import Account, CreditGrant, GrantStatus, LedgerKind
from stripetopup.store import accounts, grant_reservations, grants, ledger

ACTOR = "grants:expire"
BATCH = 500


@dataclass(frozen=True)
class _AccountRun:
    expired: list[str]
    cents: int
    waiting: int


def expire_due(ctx: Context, *, limit: int = BATCH) -> ExpiryRun:
    """Write off every grant past its expiry at the core's clock (``limit`` per call)."""
    now = ctx.clock()
    with transaction(ctx.engine) as session:
        due = grants.due(session, now, limit=limit)
    by_account: dict[int, list[int]] = defaultdict(list)
    for account_pk, grant_pk in due:
        by_account[account_pk].append(grant_pk)
    runs = [
        run_in_transaction(
            ctx.engine, functools.partial(_expire_account, ctx, account_pk=pk, grant_pks=pks)
        )
        for pk, pks in by_account.items()
    ]
    ids = tuple(grant_id for run in runs for grant_id in run.expired)
    return ExpiryRun(len(ids), sum(r.cents for r in runs), sum(r.waiting for r in runs), ids)


def _expire_account(
    ctx: Context, session: Session, *, account_pk: int, grant_pks: list[int]
) -> _AccountRun:
    account = accounts.get_by_pk(session, account_pk, lock=True)
    now = ctx.clock()  # read under the lock, like every posting
    expired: list[str] = []
    cents = waiting = 0
    for grant_pk in grant_pks:
        grant = grants.get_locked(session, grant_pk)
        if grant.status != GrantStatus.LIVE or grant.expires_at is None or grant.expires_at > now:
            continue
        if grant_reservations.reserved_on(session, grant_pk, now):
            waiting += 1
            continue
        written_off = grant.remaining_cents
        if written_off:
            cents += written_off
            _write_off(session, ctx, account, grant, now)
            session.refresh(grant)
        else:
            grants.mark_expired(session, grant, now)
        grant_expired(session, ctx, grant, account.account_id, written_off=written_off)
        expired.append(grant.grant_id)
    return _AccountRun(expired, cents, waiting)


def _write_off(
    session: Session, ctx: Context, account: Account, grant: CreditGrant, now: datetime
) -> None:
    outbound.post(
        session,
        ctx,
        ledger.Posting(
            account_id=account.account_id,
            amount_cents=-grant.remaining_cents,
            currency=grant.currency,
            kind=LedgerKind.GRANT_EXPIRY,
            source=sources.EXPIRY + grant.grant_id,
            actor=ACTOR,
            reason=f"grant {grant.grant_id} expired",
            grants=grants.GrantRule(expire_grant_pk=grant.id),
            at=now,
        ),
    )
