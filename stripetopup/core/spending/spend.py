"""Spending credit for the host application: debits that never overdraw by accident.

A spend is a ledger debit keyed ``spend:<actor>:<idempotency key>``, so each caller (a
service key's name, or the Python program's ``actor``) has its own key space. The check
of the available balance (balance minus open holds) and the write happen in one
transaction under the account's lock (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN
IMMEDIATE`` serialises writers), so concurrent spends can never both pass the check.

A refused spend (insufficient funds) writes nothing, so its key stays free: a retry is
judged again against the balance it finds. One key names one operation: a key an actor
used for a hold is refused for a debit, and the other way round (:func:`claim_key`).
May import core.accounts/context/results, store, db, errors and money.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger.accounts import MAX_MANUAL_CENTS, check_line, fingerprint
from stripetopup.core.ledger.types import Entry
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.spending.types import Spent
from stripetopup.db import run_in_transaction
from stripetopup.errors import Conflict, InsufficientFunds, InvalidAmount, UsageError
from stripetopup.models import MAX_INTEGER, MAX_REASON_LENGTH, Account, LedgerKind
from stripetopup.money import check_cents, format_cents
from stripetopup.store import accounts, grants, holds, ledger, write_keys

MAX_KEY_LENGTH = 200
MAX_ACTOR_LENGTH = 100  # the width of the ``actor`` columns
SOURCE_LENGTH = 255  # the width of ``ledger_entries.source``
HOLD_KEY_WIDTH = 300  # the width of ``holds.idempotency_key``


def check_key(idempotency_key: str) -> str:
    """An idempotency key: 1 to 200 printable characters."""
    if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise UsageError(
            f"an idempotency key of 1 to {MAX_KEY_LENGTH} characters is required",
            param="idempotency_key",
        )
    if not idempotency_key.isprintable():
        raise UsageError("the idempotency key must be printable", param="idempotency_key")
    return idempotency_key


def scoped_key(kind: str, actor: str, key: str, width: int) -> str:
    """``kind:actor:key``, or a hash of it when it would not fit a ``width`` column."""
    scoped = f"{kind}:{actor}:{key}"
    if len(scoped) <= width:
        return scoped
    digest = hashlib.sha256(f"{actor}\x1f{key}".encode()).hexdigest()
    return f"{kind}:sha256:{digest}"


def spend_source(actor: str, key: str) -> str:
    """The ledger source of ``actor``'s debit under ``key``."""
    return scoped_key("spend", actor, key, SOURCE_LENGTH)


def hold_key(actor: str, key: str) -> str:
    """The stored idempotency key of ``actor``'s hold under ``key``."""
    return scoped_key("hold", actor, key, HOLD_KEY_WIDTH)


def claim_key(session: Session, actor: str, key: str, kind: Literal["spend", "hold"]) -> None:
    """Conflict if ``actor`` already used ``key`` for the other kind of write.

    The README's contract is one key per operation, and a retry of a debit must never
    place a hold (or the reverse). Locks the key first, so two writes of different kinds
    racing with one key (even on two accounts) are judged one after the other. A key this
    kind already holds is a retry, answered by the caller as before.
    """
    write_keys.lock(session, actor, key)
    debit = ledger.find_by_source(session, spend_source(actor, key)) is not None
    hold = holds.find_by_key(session, hold_key(actor, key)) is not None
    if kind == "spend" and hold and not debit:
        other = "a hold"
    elif kind == "hold" and debit and not hold:
        other = "a debit"
    else:
        return
    raise Conflict(
        f"idempotency key {key!r} was already used for {other}; use a new key for a new operation"
    )


def check_amount(amount_cents: object, *, param: str = "amount_cents") -> int:
    cents = check_cents(amount_cents, param=param)
    limit = min(MAX_MANUAL_CENTS, MAX_INTEGER)  # what the amount columns hold
    if cents > limit:
        raise InvalidAmount(f"{param} must be at most {format_cents(limit)}", param=param)
    return cents


def check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise UsageError(f"reason is longer than {MAX_REASON_LENGTH} characters", param="reason")
    check_line(reason, param="reason")
    return reason or None


def require_available(session: Session, account: Account, amount_cents: int, now: datetime) -> None:
    """InsufficientFunds unless ``amount_cents`` fits in what the account may spend at
    ``now``: its drawable credit grants less holds and any deficit
    (:func:`stripetopup.store.grants.spendable`).

    Call it under the account's lock, in the transaction that then writes.
    """
    available = grants.spendable(session, account, now)
    if amount_cents > available:
        raise InsufficientFunds(
            f"insufficient funds: {format_cents(max(available, 0))} available, "
            f"{format_cents(amount_cents)} requested",
            available_cents=available,
            requested_cents=amount_cents,
        )


def spend(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    idempotency_key: str,
    reason: str | None,
    allow_negative: bool,
    actor: str,
) -> Spent:
    """Debit ``amount_cents`` unless it exceeds the available balance (or ``allow_negative``).

    Same key and input again: the first result (``created=False``). Same key, other
    input: Conflict. Unknown account: NotFound.
    """
    amount = check_amount(amount_cents)
    reason = check_reason(reason)
    posting = ledger.Posting(
        account_id=account_id,
        amount_cents=-amount,
        currency=ctx.currency,
        kind=LedgerKind.SPEND,
        source=spend_source(actor, check_key(idempotency_key)),
        actor=actor[:MAX_ACTOR_LENGTH],
        reason=reason,
        request_fingerprint=fingerprint("spend", account_id, amount, reason, allow_negative),
    )

    def work(session: Session) -> Spent:
        claim_key(session, actor, idempotency_key, "spend")
        account = accounts.get(session, account_id, lock=True)
        now = ctx.clock()  # read under the lock: what is drawable is judged at this moment
        is_retry = ledger.find_by_source(session, posting.source) is not None
        if not is_retry and not allow_negative:
            require_available(session, account, amount, now)
        result = outbound.post(
            session, ctx, replace(posting, at=now)
        )  # a retry: the entry, or Conflict
        return Spent(Entry.of(result.entry, account_id), result.created)

    return run_in_transaction(ctx.engine, work)
