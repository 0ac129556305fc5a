"""Low-balance thresholds: ``balance.low`` once per crossing below, ``balance.recovered``
once per crossing back.

The available balance (balance minus open, unexpired holds) is compared with the account's
threshold (its own, else ``STRIPETOPUP_LOW_BALANCE_THRESHOLD_CENTS``; none: off). The
account row keeps whether it is below (``below_threshold``); an event is emitted only when
that flag flips, under the account's row lock (the database write lock on SQLite), so
concurrent debits crossing the threshold emit exactly one ``balance.low``. Below means
``available < threshold``; at or above is recovered.

Setting a threshold re-evaluates at once: an account already below its new threshold gets
``balance.low`` now, one back above gets ``balance.recovered``. Turning thresholds off
(no account threshold and no default) clears the flag without an event.

Imports ``core.context``, the room's catalogue and emit, store, db, errors and models.
"""

from __future__ import annotations

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.catalogue import EventType, ThresholdData
from stripetopup.core.outbound.emit import emit
from stripetopup.errors import UsageError
from stripetopup.models import MAX_INTEGER, Account
from stripetopup.store import accounts, holds


def threshold_of(ctx: Context, account: Account) -> int | None:
    """The threshold that applies to ``account`` (None: no alert for it)."""
    own = account.low_balance_threshold_cents
    return own if own is not None else ctx.settings.low_balance_threshold_cents


def evaluate(session: Session, ctx: Context, account_id: str) -> EventType | None:
    """Flip the account's flag if its available balance crossed the threshold, and emit.

    Takes (or re-takes) the account's lock and re-reads the row, so it sees the balance
    the caller just wrote. Returns the type emitted, if any.
    """
    account = accounts.get(session, account_id, lock=True)
    threshold = threshold_of(ctx, account)
    if threshold is None:
        if account.below_threshold:
            accounts.set_low_balance(session, account, below=False)
        return None
    held = holds.open_total(session, account, ctx.clock())
    below = account.balance_cents - held < threshold
    if below == account.below_threshold:
        return None
    accounts.set_low_balance(session, account, below=below)
    type_ = EventType.BALANCE_LOW if below else EventType.BALANCE_RECOVERED
    data = ThresholdData(
        account_id=account.account_id,
        currency=ctx.currency,
        balance_cents=account.balance_cents,
        held_cents=held,
        available_cents=account.balance_cents - held,
        threshold_cents=threshold,
    )
    emit(session, ctx, type_, data, account_id=account.account_id)
    return type_


def check_threshold(threshold_cents: object) -> int | None:
    """A threshold in cents from 0 to the ledger's limit, or None (use the default)."""
    if threshold_cents is None:
        return None
    if (
        isinstance(threshold_cents, bool)
        or not isinstance(threshold_cents, int)
        or not 0 <= threshold_cents <= MAX_INTEGER
    ):
        raise UsageError(
            f"threshold_cents must be a whole number of cents from 0 to {MAX_INTEGER}, or null",
            param="threshold_cents",
        )
    return threshold_cents
