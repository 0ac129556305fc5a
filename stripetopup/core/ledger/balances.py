"""An account's balance as the ledger room answers it: by kind of credit, with holds, what
may be spent now, the next expiry and the low-balance threshold that applies.

:func:`of_account` is the one place a full :class:`~stripetopup.core.ledger.types.Balance`
is put together, inside any transaction (an ORM session of ``core.ledger.accounts`` or a
core connection); :func:`read` reads one in a transaction of its own on sqlalchemy core
alone, so ``stripetopup balance`` and ``TopUpService.balance`` answer alike without the
first loading the ORM. :func:`listed` is every account's cached balance, for ``accounts
list``, read the same way. Imports ``core.context``, the room's balance types, the outbound
room's threshold rule, ``store.balances`` and ``engines``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from stripetopup.core.context import Context
from stripetopup.core.ledger.balance_types import Balance, NextExpiry
from stripetopup.core.outbound.threshold_rule import threshold_of
from stripetopup.engines import reading
from stripetopup.store import balances

if TYPE_CHECKING:
    from stripetopup.store.balances import Executor


class AccountColumns(Protocol):
    """What a balance reads of the account row (an ORM ``Account`` or a core row)."""

    @property
    def id(self) -> int | None: ...
    @property
    def account_id(self) -> str: ...
    @property
    def balance_cents(self) -> int: ...
    @property
    def low_balance_threshold_cents(self) -> int | None: ...
    @property
    def below_threshold(self) -> bool: ...


def read(ctx: Context, account_id: str) -> Balance:
    """The balance of ``account_id`` now (NotFound, with how to open it, if there is none)."""
    with reading(ctx.engine) as connection:
        return of_account(connection, ctx, balances.get_account(connection, account_id))


def listed(ctx: Context, *, limit: int = 1000) -> list[Balance]:
    """Up to ``limit`` accounts' balances by account id, as listed: the cached balance
    alone (no holds nor grants read), in a transaction of its own on sqlalchemy core."""
    with reading(ctx.engine) as connection:
        rows = balances.listed(connection, limit=limit)
    return [Balance(name, cents, 0, ctx.currency) for name, cents in rows]


def of_account(db: Executor, ctx: Context, account: AccountColumns) -> Balance:
    """The balance of ``account`` at the context's now, read inside the caller's transaction."""
    assert account.id is not None
    now = ctx.clock()
    credit = balances.summary(db, account.id, account.balance_cents, now)
    soonest = credit.next_expiry_at
    threshold = threshold_of(ctx, account.low_balance_threshold_cents)
    return Balance(
        account.account_id,
        account.balance_cents,
        credit.held_cents,
        ctx.currency,
        low_balance_threshold_cents=threshold,
        below_threshold=account.below_threshold and threshold is not None,
        paid_cents=credit.paid_cents,
        promotional_cents=credit.promotional_cents,
        deficit_cents=credit.deficit_cents,
        spendable_cents=credit.spendable_cents,
        next_expiry=None if soonest is None else NextExpiry(credit.next_expiry_cents or 0, soonest),
    )
