"""Holds for the host application: reserve an amount, then capture part of it or release it.

Placing a hold checks the available balance under the account's lock, like a spend, and
the open hold then lowers the available balance until it is captured, released or
expires (``ttl_seconds``, by default ``settings.hold_ttl_seconds``). Capturing writes one
ledger debit keyed ``hold_capture:<hold_id>`` and closes the hold: whatever was not
captured is released. An expired hold cannot be captured.

Idempotency: a placement key is scoped per actor (``hold:<actor>:<key>``, stored on the
hold) and refused if the actor used it for a debit (``spend.claim_key``); a capture's key
and amount are fingerprinted on its ledger entry; a release is idempotent by nature (a
released hold stays released).

Outbound events: a capture's debit goes through ``core.outbound.posting``; placing,
releasing and expiring a hold re-evaluate the low-balance flag (holds count against the
available balance), and a hold closed as expired emits ``hold.expired``
(:func:`expire_due`, and :func:`expire_all` for a worker).

Auto-recharge: placing a hold lowers the available balance like a debit, so it calls the
arming hook (``store.recharge_arming``) in its transaction; a capture's debit arms through
the posting point; releasing or expiring a hold only gives money back, so arms nothing.
May import core.accounts/context/results/spend/spend_results, core.outbound, store, db,
errors, ids and models.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger.accounts import fingerprint
from stripetopup.core.ledger.types import Entry
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.outbound.emit import hold_expired
from stripetopup.core.outbound.thresholds import evaluate
from stripetopup.core.spending.spend import (
    MAX_ACTOR_LENGTH,
    check_amount,
    check_key,
    check_reason,
    claim_key,
    hold_key,
    require_available,
)
from stripetopup.core.spending.types import HoldChange, HoldView
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import Conflict, HoldNotOpen, InvalidAmount, NotFound, UsageError
from stripetopup.ids import check_hold_id
from stripetopup.models import Account, Hold, HoldStatus, LedgerKind
from stripetopup.money import format_cents
from stripetopup.store import accounts, grants, holds, ledger, recharge_arming
from stripetopup.store.grants import GrantRule

MAX_TTL_SECONDS = 30 * 24 * 3600


def _check_ttl(ctx: Context, ttl_seconds: int | None) -> int:
    ttl = ctx.settings.hold_ttl_seconds if ttl_seconds is None else ttl_seconds
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise UsageError(
            f"ttl_seconds must be a whole number from 1 to {MAX_TTL_SECONDS}", param="ttl_seconds"
        )
    return ttl


def place(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    idempotency_key: str,
    ttl_seconds: int | None,
    reason: str | None,
    actor: str,
) -> HoldChange:
    """Reserve ``amount_cents``; InsufficientFunds (nothing written) when it does not fit."""
    amount = check_amount(amount_cents)
    ttl = _check_ttl(ctx, ttl_seconds)
    reason = check_reason(reason)
    key = hold_key(actor, check_key(idempotency_key))
    request = fingerprint("hold", account_id, amount, ttl_seconds, reason)

    def work(session: Session) -> HoldChange:
        claim_key(session, actor, idempotency_key, "hold")
        account = accounts.get(session, account_id, lock=True)
        now = ctx.clock()  # read under the lock: a wait for it must not age the hold
        existing = holds.find_by_key(session, key)
        if existing is not None:
            if existing.request_fingerprint != request:
                raise _key_reused(idempotency_key)
            return HoldChange(_view(session, existing, now).as_placed(), created=False)
        expire_due(session, ctx, account, now)
        require_available(session, account, amount, now)
        row = holds.create(
            session,
            account,
            amount_cents=amount,
            currency=ctx.currency,
            idempotency_key=key,
            request_fingerprint=request,
            reason=reason,
            actor=actor[:MAX_ACTOR_LENGTH],
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        assert account.id is not None
        assert row.id is not None
        grants.reserve(session, account.id, row.id, amount, now)
        evaluate(session, ctx, account.account_id)  # the hold lowered the available balance
        recharge_arming.arm_if_low(  # ... and so may take it below the auto-recharge rule
            session,
            account.id,
            account.account_id,
            now=now,
            currency=ctx.currency,
            minimum_cents=ctx.settings.min_amount_cents,
        )
        return HoldChange(_view(session, row, now, account.account_id), created=True)

    return run_in_transaction(ctx.engine, work)


def expire_due(session: Session, ctx: Context, account: Account, now: datetime) -> int:
    """Close the account's expired holds (its lock held): ``hold.expired`` for each, and
    the low-balance flag re-evaluated, since each gave its amount back to the available
    balance. Returns how many were closed."""
    expired = holds.expire_due(session, account, now)
    for row in expired:
        hold_expired(session, ctx, row, account.account_id)
    if expired:
        evaluate(session, ctx, account.account_id)
    return len(expired)


def expire_all(ctx: Context, *, batch: int = 100) -> int:
    """Close every hold past its expiry, account by account (one transaction each); for a
    worker or cron, so an idle account's holds are told as expired too."""
    closed = 0
    while True:
        with transaction(ctx.engine) as session:
            due = holds.accounts_with_due_holds(session, ctx.clock(), limit=batch)
        for account_id in due:
            closed += run_in_transaction(
                ctx.engine, functools.partial(_expire_one, ctx, account_id)
            )
        if len(due) < batch:
            return closed


def _expire_one(ctx: Context, account_id: str, session: Session) -> int:
    account = accounts.get(session, account_id, lock=True)
    return expire_due(session, ctx, account, ctx.clock())


def capture(
    ctx: Context, hold_id: str, amount_cents: int | None, *, idempotency_key: str, actor: str
) -> HoldChange:
    """Debit ``amount_cents`` (default: all) of an open hold and close it."""
    hold_id = check_hold_id(hold_id)
    amount = None if amount_cents is None else check_amount(amount_cents)
    request = fingerprint("capture", hold_id, amount, actor, check_key(idempotency_key))
    source = f"hold_capture:{hold_id}"

    def work(session: Session) -> HoldChange:
        row, account = _locked(session, hold_id)
        now = ctx.clock()
        done = ledger.find_by_source(session, source)
        if done is not None:
            if done.request_fingerprint != request:
                raise HoldNotOpen(
                    f"hold {hold_id} was already captured by another request "
                    "(a different idempotency key or amount)"
                )
            return HoldChange(_view(session, row, now), False, Entry.of(done, account.account_id))
        _require_open(_view(session, row, now), "captured")
        taken = row.amount_cents if amount is None else amount
        if taken > row.amount_cents:
            raise InvalidAmount(
                f"cannot capture {format_cents(taken)} of a hold of "
                f"{format_cents(row.amount_cents)}",
                param="amount_cents",
            )
        posting = ledger.Posting(
            account_id=account.account_id,
            amount_cents=-taken,
            currency=row.currency,
            kind=LedgerKind.HOLD_CAPTURE,
            source=source,
            actor=actor[:MAX_ACTOR_LENGTH],
            reason=row.reason,
            request_fingerprint=request,
            grants=GrantRule(hold_pk=row.id),  # what the hold reserved, then burn-down
            at=now,
        )
        entry = Entry.of(outbound.post(session, ctx, posting).entry, account.account_id)
        holds.close(session, row, status=HoldStatus.CAPTURED, now=now, captured_cents=taken)
        return HoldChange(_view(session, row, now, account.account_id), True, entry)

    return run_in_transaction(ctx.engine, work)


def release(ctx: Context, hold_id: str, *, idempotency_key: str) -> HoldChange:
    """Release an open hold; releasing a released or expired hold again changes nothing."""
    hold_id = check_hold_id(hold_id)
    check_key(idempotency_key)

    def work(session: Session) -> HoldChange:
        row, account = _locked(session, hold_id)
        now = ctx.clock()
        if expire_due(session, ctx, account, now):
            row = _find(session, hold_id, refresh=True)
        view = _view(session, row, now, account.account_id)
        if view.status == HoldStatus.CAPTURED:
            raise HoldNotOpen(f"hold {hold_id} was captured; a captured hold cannot be released")
        if view.status != HoldStatus.OPEN:
            return HoldChange(view, created=False)
        holds.close(session, row, status=HoldStatus.RELEASED, now=now)
        evaluate(session, ctx, account.account_id)  # the hold's amount is available again
        return HoldChange(_view(session, row, now, account.account_id), created=True)

    return run_in_transaction(ctx.engine, work)


def get(ctx: Context, hold_id: str) -> HoldView:
    hold_id = check_hold_id(hold_id)
    with transaction(ctx.engine) as session:
        return _view(session, _find(session, hold_id), ctx.clock())


def _find(session: Session, hold_id: str, *, refresh: bool = False) -> Hold:
    row = holds.find(session, hold_id, refresh=refresh)  # the id's shape is checked already
    if row is None:
        raise NotFound(f"unknown hold: {hold_id}")
    return row


def _locked(session: Session, hold_id: str) -> tuple[Hold, Account]:
    """The hold, re-read after taking its account's lock (it may have changed meanwhile)."""
    account_id = holds.account_id_of(session, _find(session, hold_id))
    account = accounts.get(session, account_id, lock=True)
    return _find(session, hold_id, refresh=True), account


def _view(session: Session, row: Hold, now: datetime, account_id: str | None = None) -> HoldView:
    return HoldView.of(row, account_id or holds.account_id_of(session, row), now)


def _require_open(view: HoldView, verb: str) -> None:
    if view.status == HoldStatus.EXPIRED:
        raise HoldNotOpen(
            f"hold {view.hold_id} expired at {view.expires_at.isoformat()}; it can no longer "
            f"be {verb} (place a new hold)"
        )
    if view.status != HoldStatus.OPEN:
        raise HoldNotOpen(f"hold {view.hold_id} is {view.status}; it can no longer be {verb}")


def _key_reused(idempotency_key: str) -> Conflict:
    return Conflict(
        f"idempotency key {idempotency_key!r} was already used to place a different hold; "
        "use a new key for a new hold"
    )
