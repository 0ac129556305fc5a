"""The parts of a balance as plain values: the account row it is read with, the
:class:`Summary` of its credit, how the summary is put together from what was read, and the
error for an account that does not exist.

Apart from :mod:`stripetopup.store.balances` (the statements, on sqlalchemy) so that the
reads on the engine and the reads on the driver itself (``store.driver_balances``, for
``stripetopup balance``: no sqlalchemy at start-up) compose a balance alike. Imports
``ids`` and ``errors`` only: not ``columns``, which is on sqlalchemy, so the two grant
categories are named here (a test keeps them ``columns.GrantCategory``'s).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stripetopup import ids
from stripetopup.errors import NotFound, StripeTopupError

OPEN_COMMAND = "stripetopup accounts create"
PAID, PROMOTIONAL = "paid", "promotional"  # columns.GrantCategory's values


@dataclass(frozen=True)
class AccountRow:
    """The account columns a balance is read with."""

    id: int
    account_id: str
    balance_cents: int
    low_balance_threshold_cents: int | None
    below_threshold: bool


@dataclass(frozen=True)
class Summary:
    """An account's credit by kind: what live grants hold, the deficit, the next expiry."""

    paid_cents: int
    promotional_cents: int
    deficit_cents: int
    spendable_cents: int
    next_expiry_cents: int | None
    next_expiry_at: datetime | None
    held_cents: int  # what open holds take (read once with the rest)


def unknown(account_id: str, *, alternative: str | None = None) -> StripeTopupError:
    """The error for an account that does not exist: how to open it, or, for an id off the
    rule (which only an earlier release could have opened), the rule."""
    if not ids.follows_account_rule(account_id):
        return ids.invalid_account_id(account_id)
    also = f" (or {alternative})" if alternative else ""
    return NotFound(
        f"unknown account: {account_id}; open it with: {OPEN_COMMAND} {account_id}{also}"
    )


def account_row(found: Any, account_id: str) -> AccountRow:
    """The account row read by id, ``(id, account_id, balance_cents, threshold, below)``;
    NotFound, with how to open it, when none was found (``found`` None)."""
    if found is None:
        raise unknown(account_id)
    pk, name, balance, threshold, below = found
    return AccountRow(int(pk), str(name), int(balance), threshold, bool(below))


def spendable(balance_cents: int, held_cents: int, drawable_cents: int, deficit_cents: int) -> int:
    """What a debit may take without going negative: the drawable grants less the deficit,
    and never more than the balance less open holds."""
    return min(balance_cents - held_cents, drawable_cents - deficit_cents)


def summarized(
    live: Iterable[tuple[str, int, datetime | None]],
    *,
    balance_cents: int,
    deficit_cents: int,
    held_cents: int,
    drawable_cents: int,
    now: datetime,
) -> Summary:
    """The :class:`Summary` of what was read: the live grants with cents left (category,
    remaining, expiry), the deficit, what open holds take and what grants could cover."""
    rows = list(live)
    by_kind = {PAID: 0, PROMOTIONAL: 0}
    for category, remaining, _expires in rows:
        by_kind[category] += int(remaining)
    ahead = [(int(cents), at) for _, cents, at in rows if at is not None and at > now]
    soonest = min((at for _, at in ahead), default=None)
    expiring = sum(cents for cents, at in ahead if at == soonest)
    return Summary(
        by_kind[PAID],
        by_kind[PROMOTIONAL],
        deficit_cents,
        spendable(balance_cents, held_cents, drawable_cents, deficit_cents),
        expiring if soonest is not None else None,
        soonest,
        held_cents,
    )
