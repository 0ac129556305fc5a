"""Reading and moving an account's money by hand: balance, ledger, credit, debit.

Manual credits and debits go through the same :func:`stripetopup.store.ledger.post` as
Stripe's events, keyed ``manual:<idempotency key>``; the key's request fingerprint makes
a retry with the same input a no-op and a reuse with other input a Conflict.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger import balances, sources
from stripetopup.core.ledger import entries as ledger_entries
from stripetopup.core.ledger.types import Balance, Entry, OpenedAccount, Posted
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.outbound import thresholds
from stripetopup.db import run_in_transaction
from stripetopup.errors import InvalidAmount, UsageError
from stripetopup.models import MAX_REASON_LENGTH, Account, LedgerKind
from stripetopup.store import accounts, ledger
from stripetopup.store.grants import GrantRule

MAX_MANUAL_CENTS = 100_000_000_00  # one hundred million dollars: beyond this is a typo


def check_line(text: str, *, param: str) -> None:
    """UsageError if ``text`` holds a control character (NUL, newline, escape...).

    A reason is one line that tables and logs print as it is: no terminal escapes, and
    nothing PostgreSQL would refuse (NUL) where SQLite would not.
    """
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise UsageError(f"{param} must not contain control characters", param=param)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{param} contains an unpaired surrogate", param=param) from None


def fingerprint(*parts: object) -> str:
    """A stable hash of a request's meaningful input, to tell a retry from a reuse."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def open_account(ctx: Context, account_id: str) -> OpenedAccount:
    """Open ``account_id`` (it must follow the rule in :mod:`stripetopup.ids`), or report
    that it exists already, unchanged."""

    def work(session: Session) -> OpenedAccount:
        account, created = accounts.ensure(session, account_id)
        return OpenedAccount(_balance(session, ctx, account), created)

    return run_in_transaction(ctx.engine, work)


def list_accounts(ctx: Context, *, limit: int = 1000) -> list[Balance]:
    return balances.listed(ctx, limit=limit)


def balance(ctx: Context, account_id: str) -> Balance:
    """The balance, by kind of credit, with holds, what may be spent and the next expiry."""
    return balances.read(ctx, account_id)


def _balance(session: Session, ctx: Context, account: Account) -> Balance:
    return balances.of_account(session, ctx, account)


def set_low_balance_threshold(
    ctx: Context, account_id: str, threshold_cents: int | None
) -> Balance:
    """Give the account its own threshold (None: the default again) and re-evaluate its
    flag at once: ``balance.low`` now if it is already below, ``balance.recovered`` if it
    is back above (see ``core/outbound/thresholds``)."""
    threshold = thresholds.check_threshold(threshold_cents)

    def work(session: Session) -> Balance:
        account = accounts.get(session, account_id, lock=True)
        assert account.id is not None
        accounts.set_low_balance(session, account.id, threshold_cents=threshold)
        thresholds.evaluate(session, ctx, account.account_id)
        return _balance(session, ctx, accounts.get(session, account_id, lock=True))

    return run_in_transaction(ctx.engine, work)


def entries(
    ctx: Context, account_id: str, *, limit: int = 50, before_id: int | None = None
) -> list[Entry]:
    return ledger_entries.read(ctx, account_id, limit=limit, before_id=before_id)


def adjust(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    reason: str,
    idempotency_key: str | None,
    actor: str,
    grant: GrantRule | None = None,
) -> Posted:
    """A manual credit (positive) or debit (negative) with a mandatory reason; a credit's
    ``grant`` says what kind of credit it is (default: paid, never expiring)."""
    reason = reason.strip()
    if not reason:
        raise UsageError("a reason is required for a manual credit or debit", param="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise UsageError(f"reason is longer than {MAX_REASON_LENGTH} characters", param="reason")
    check_line(reason, param="reason")
    if amount_cents == 0 or abs(amount_cents) > MAX_MANUAL_CENTS:
        raise InvalidAmount("amount must be non-zero and at most 100,000,000.00", param="amount")
    key = idempotency_key or uuid.uuid4().hex
    if not 1 <= len(key) <= 200:
        raise UsageError("idempotency key must be 1 to 200 characters", param="idempotency_key")
    posting = ledger.Posting(
        account_id=account_id,
        amount_cents=amount_cents,
        currency=ctx.currency,
        kind=LedgerKind.MANUAL_CREDIT if amount_cents > 0 else LedgerKind.MANUAL_DEBIT,
        source=sources.MANUAL + key,
        actor=actor,
        reason=reason,
        request_fingerprint=fingerprint(account_id, amount_cents, reason, *_terms(grant)),
        grants=grant or GrantRule(),
    )

    def work(session: Session) -> Posted:
        accounts.get(session, account_id)  # an unknown account's error says how to open it
        result = outbound.post(session, ctx, posting)
        return Posted(Entry.of(result.entry, account_id), result.created)

    return run_in_transaction(ctx.engine, work)


def _terms(grant: GrantRule | None) -> tuple[object, ...]:
    """A credit's grant terms, in its fingerprint (none: the fingerprint stays as before).

    Not its times: an operator's ``--expires 30d`` retried a minute later means the same
    credit (the first call's expiry stands), not another request under the same key.
    """
    if grant is None:
        return ()
    return (grant.category, grant.priority)
