"""Spending credit for the host application: debits that never overdraw by accident.

A spend is a ledger debit keyed ``spend:<actor>:<idempotency key>``, so each caller (a
service key's name, or the Python program's ``actor``) has its own key space. The check
of the available balance (balance minus open holds) and the write happen in one
transaction under the account's lock (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN
IMMEDIATE`` serialises writers), so concurrent spends can never both pass the check.

A refused spend (insufficient funds) writes nothing, so its key stays free: a retry is
judged again against the balance it finds. May import core.accounts/context/results,
store, db, errors and money.
"""

from __future__ import annotations

import hashlib

from sqlmodel import Session

from stripetopup.core.accounts import (
    MAX_MANUAL_CENTS,
    MAX_REASON_LENGTH,
    check_line,
    fingerprint,
)
from stripetopup.core.context import Context
from stripetopup.core.results import Entry
from stripetopup.core.spend_results import Spent
from stripetopup.db import run_in_transaction
from stripetopup.errors import InsufficientFunds, InvalidAmount, UsageError
from stripetopup.models import MAX_INTEGER, Account
from stripetopup.money import check_cents, format_cents
from stripetopup.store import accounts, holds, ledger

MAX_KEY_LENGTH = 200
MAX_ACTOR_LENGTH = 100  # the width of the ``actor`` columns
SOURCE_LENGTH = 255  # the width of ``ledger_entries.source``


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


def require_available(session: Session, account: Account, amount_cents: int) -> None:
    """InsufficientFunds unless ``amount_cents`` fits in balance minus open holds.

    Call it under the account's lock, in the transaction that then writes.
    """
    available = account.balance_cents - holds.open_total(session, account)
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
        kind="spend",
        source=scoped_key("spend", actor, check_key(idempotency_key), SOURCE_LENGTH),
        actor=actor[:MAX_ACTOR_LENGTH],
        reason=reason,
        request_fingerprint=fingerprint("spend", account_id, amount, reason, allow_negative),
    )

    def work(session: Session) -> Spent:
        account = accounts.get(session, account_id, lock=True)
        is_retry = ledger.find_by_source(session, posting.source) is not None
        if not is_retry and not allow_negative:
            require_available(session, account, amount)
        result = ledger.post(session, posting)  # a retry: the entry, or Conflict
        return Spent(Entry.of(result.entry, account_id), result.created)

    return run_in_transaction(ctx.engine, work)
