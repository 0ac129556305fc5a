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

Which threshold applies is :func:`~stripetopup.core.outbound.threshold_rule.threshold_of`.
Imports ``core.context``, the room's catalogue, emit and threshold rule, store, db, errors
and models.
"""

from __future__ import annotations

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.catalogue import EventType, ThresholdData
from stripetopup.core.outbound.emit import emit
from stripetopup.core.outbound.threshold_rule import threshold_of as threshold_of
from stripetopup.errors import UsageError
from stripetopup.models import MAX_INTEGER
from stripetopup.store import accounts


def evaluate(session: Session, ctx: Context, account_id: str) -> EventType | None:
    """Flip the account's flag if its available balance crossed the threshold, and emit.

    The caller holds the account's lock (every caller has just written to it), so the
    flag's read and write cannot interleave with another transaction's. One statement
    reads the balance, the holds and the flag. Returns the type emitted, if any.
    """
    state = accounts.low_balance_state(session, account_id, ctx.clock())
    threshold = threshold_of(ctx, state.threshold_cents)
    if threshold is None:
        if state.below:
            accounts.set_low_balance(session, state.account_pk, below=False)
        return None
    available = state.balance_cents - state.held_cents
    below = available < threshold
    if below == state.below:
        return None
    accounts.set_low_balance(session, state.account_pk, below=below)
    type_ = EventType.BALANCE_LOW if below else EventType.BALANCE_RECOVERED
    data = ThresholdData(
        account_id=state.account_id,
        currency=ctx.currency,
        balance_cents=state.balance_cents,
        held_cents=state.held_cents,
        available_cents=available,
        threshold_cents=threshold,
    )
    emit(session, ctx, type_, data, account_id=state.account_id)
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
