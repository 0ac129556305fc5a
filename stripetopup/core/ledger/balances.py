"""An account's balance as the ledger room answers it: by kind of credit, with holds, what
may be spent now, the next expiry and the low-balance threshold that applies.

:func:`composed` is the one place a full :class:`~stripetopup.core.ledger.types.Balance`
is put together from what was read. :func:`of_account` reads it inside any transaction
(an ORM session of ``core.ledger.accounts`` or a core connection); :func:`read` in a
transaction of its own on sqlalchemy core alone (``TopUpService.balance``); and
:func:`read_on_driver` reads the same parts with the same statements on the DBAPI driver
itself, without importing sqlalchemy (``stripetopup balance``: its start-up), handing over
to :func:`read` wherever the driver path cannot answer exactly as it would (a new SQLite
file to migrate, a schema at another revision, a URL past the plain forms; see
``driver_reads``). :func:`listed` is every account's cached balance
(``TopUpService.accounts``), :func:`listed_on_driver` the same on the driver (``accounts
list``).

Imports the room's balance types, the outbound room's threshold rule and ``dates`` at the
top; ``engines`` and ``store.balances`` (sqlalchemy) where the engine reads run,
``driver_reads`` and ``store.driver_balances`` where the driver reads do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stripetopup.core.ledger.balance_types import Balance, NextExpiry
from stripetopup.core.outbound.threshold_rule import threshold_in
from stripetopup.dates import utcnow

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core.context import Context
    from stripetopup.store.balance_parts import Summary
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
    from stripetopup.engines import reading  # here: sqlalchemy, which the driver path skips
    from stripetopup.store import balances

    with reading(ctx.engine) as connection:
        return of_account(connection, ctx, balances.get_account(connection, account_id))


def read_on_driver(
    settings: Settings, account_id: str, engine_context: Callable[[], Context]
) -> Balance:
    """:func:`read` on the DBAPI driver itself, at the moment it reads (the clock a bare
    context has); where that cannot answer exactly as :func:`read`, :func:`read` on
    ``engine_context()`` (built only then), which answers, migrates or refuses as ever."""
    from stripetopup import driver_reads
    from stripetopup.store import driver_balances

    try:
        with driver_reads.reading(settings.database_url) as reader:
            account = driver_balances.get_account(reader, account_id)
            now = utcnow()
            credit = driver_balances.summary(reader, account.id, account.balance_cents, now)
    except driver_reads.HandOver:
        return read(engine_context(), account_id)
    return composed(settings, account, credit)


def listed(ctx: Context, *, limit: int = 1000) -> list[Balance]:
    """Up to ``limit`` accounts' balances by account id, as listed: the cached balance
    alone (no holds nor grants read), in a transaction of its own on sqlalchemy core."""
    from stripetopup.engines import reading  # here: as for read
    from stripetopup.store import balances

    with reading(ctx.engine) as connection:
        rows = balances.listed(connection, limit=limit)
    return [Balance(name, cents, 0, ctx.currency) for name, cents in rows]


def listed_on_driver(
    settings: Settings, engine_context: Callable[[], Context], *, limit: int = 1000
) -> list[Balance]:
    """:func:`listed` on the DBAPI driver itself, handing over as :func:`read_on_driver`."""
    from stripetopup import driver_reads
    from stripetopup.store import driver_balances

    try:
        with driver_reads.reading(settings.database_url) as reader:
            rows = driver_balances.listed(reader, limit=limit)
    except driver_reads.HandOver:
        return listed(engine_context(), limit=limit)
    return [Balance(name, cents, 0, settings.stripe_currency) for name, cents in rows]


def of_account(db: Executor, ctx: Context, account: AccountColumns) -> Balance:
    """The balance of ``account`` at the context's now, read inside the caller's transaction."""
    from stripetopup.store import balances  # here: as for read (the callers have it loaded)

    assert account.id is not None
    now = ctx.clock()
    return composed(
        ctx.settings, account, balances.summary(db, account.id, account.balance_cents, now)
    )


def composed(settings: Settings, account: AccountColumns, credit: Summary) -> Balance:
    """The :class:`Balance` of ``account`` whose credit read as ``credit``, under ``settings``
    (the currency, the default threshold)."""
    soonest: datetime | None = credit.next_expiry_at
    threshold = threshold_in(settings, account.low_balance_threshold_cents)
    return Balance(
        account.account_id,
        account.balance_cents,
        credit.held_cents,
        settings.stripe_currency,
        low_balance_threshold_cents=threshold,
        below_threshold=account.below_threshold and threshold is not None,
        paid_cents=credit.paid_cents,
        promotional_cents=credit.promotional_cents,
        deficit_cents=credit.deficit_cents,
        spendable_cents=credit.spendable_cents,
        next_expiry=None if soonest is None else NextExpiry(credit.next_expiry_cents or 0, soonest),
    )
