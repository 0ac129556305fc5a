"""The one hook into ledger posting: a new entry emits ``balance.credited``/``debited`` (and
``grant.created`` for the grant a credit made) and re-evaluates the account's low-balance
flag, in the posting's transaction.

Every core caller posts through :func:`post` instead of ``store.ledger.post`` directly, so
no path that moves money can forget its event. An entry that existed already (a duplicate
webhook, a retried request answering ``already_applied``) emits nothing.

Imports ``core.context``, the room's emit and thresholds, and ``store.ledger``.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.emit import entry_posted, grant_created
from stripetopup.core.outbound.thresholds import evaluate
from stripetopup.store import grants, ledger


def post(session: Session, ctx: Context, posting: ledger.Posting) -> ledger.PostResult:
    """``store.ledger.post`` (its grants judged at the context's clock unless the posting
    names a time), and for a new entry its event and the threshold check."""
    if posting.at is None:
        posting = replace(posting, at=ctx.clock())
    result = ledger.post(session, posting)
    if result.created:
        entry_posted(session, ctx, result.entry, posting.account_id)
        made = grants.find_by_source(session, posting.source) if posting.amount_cents > 0 else None
        if made is not None:  # a credit back into its payment's own grant makes none
            grant_created(session, ctx, made, posting.account_id)
        evaluate(session, ctx, posting.account_id)
    return result
