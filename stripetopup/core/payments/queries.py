"""Read-only views of the payment rows for operators."""

from __future__ import annotations

from datetime import datetime

from stripetopup import ids
from stripetopup.core.context import Context
from stripetopup.core.events.log import _check_limit
from stripetopup.core.payments.types import Payment
from stripetopup.db import transaction
from stripetopup.errors import UsageError
from stripetopup.store import payments


def list_payments(
    ctx: Context,
    *,
    since: datetime | None = None,
    account_id: str | None = None,
    state: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Payment]:
    _check_limit(limit)
    if state is not None and state not in payments.STATES:
        raise UsageError(
            f"unknown state {state!r}; one of: {', '.join(payments.STATES)}", param="state"
        )
    if account_id is not None:
        ids.check_account_id(account_id)  # a filter, but still never NUL into the database
    with transaction(ctx.engine) as session:
        rows = payments.search(
            session, since=since, account_id=account_id, state=state, status=status, limit=limit
        )
        return [Payment.of(row) for row in rows]
