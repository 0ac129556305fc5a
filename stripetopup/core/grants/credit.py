"""Giving credit as a grant (the spend API's ``POST .../grants``) and listing grants.

A grant given by a host application is a ledger credit keyed ``grant:<actor>:<key>``
(hashed when too long, as spends are), through the one posting point, so its grant is
made and any deficit settled exactly as for every other credit. Same key and input again:
the first answer (``created=False``); same key, other input: Conflict.
May import core.context, the ledger and spending rooms, store, db, models and errors.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.grants import terms
from stripetopup.core.grants.types import Granted, GrantList, GrantView
from stripetopup.core.ledger.accounts import fingerprint
from stripetopup.core.ledger.types import Entry
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.spending.spend import (
    MAX_ACTOR_LENGTH,
    SOURCE_LENGTH,
    check_amount,
    check_key,
    check_reason,
    scoped_key,
)
from stripetopup.db import run_in_transaction, transaction
from stripetopup.models import GrantCategory, LedgerKind
from stripetopup.store import accounts, grants, ledger


def give(
    ctx: Context,
    account_id: str,
    amount_cents: int,
    *,
    idempotency_key: str,
    reason: str | None,
    category: object = GrantCategory.PAID,
    priority: object = grants.DEFAULT_PRIORITY,
    expires_at: datetime | None = None,
    effective_at: datetime | None = None,
    actor: str,
) -> Granted:
    """Credit ``amount_cents`` to ``account_id`` as a grant with these terms."""
    amount = check_amount(amount_cents)
    reason = check_reason(reason)
    rule = terms.rule(
        ctx, category=category, priority=priority, expires_at=expires_at, effective_at=effective_at
    )
    when = [w.isoformat() if w else "" for w in (rule.effective_at, rule.expires_at)]
    posting = ledger.Posting(
        account_id=account_id,
        amount_cents=amount,
        currency=ctx.currency,
        kind=LedgerKind.MANUAL_CREDIT,
        source=scoped_key("grant", actor, check_key(idempotency_key), SOURCE_LENGTH),
        actor=actor[:MAX_ACTOR_LENGTH],
        reason=reason,
        request_fingerprint=fingerprint(
            "grant", account_id, amount, reason, rule.category, rule.priority, *when
        ),
        grants=rule,
    )

    def work(session: Session) -> Granted:
        accounts.get(session, account_id, lock=True)
        result = outbound.post(session, ctx, posting)  # judged at the context's clock
        made = grants.find_by_source(session, result.entry.source)
        view = GrantView.of(made, account_id) if made is not None else None
        return Granted(Entry.of(result.entry, account_id), result.created, grant=view)

    return run_in_transaction(ctx.engine, work)


def list_grants(ctx: Context, account_id: str, *, include_closed: bool = False) -> GrantList:
    """An account's grants in burn-down order: live ones with cents left, or every one."""
    with transaction(ctx.engine) as session:
        account = accounts.get(session, account_id)
        assert account.id is not None
        rows = grants.of_account(session, account.id, include_closed=include_closed)
        return GrantList(
            account.account_id, tuple(GrantView.of(r, account.account_id) for r in rows)
        )
