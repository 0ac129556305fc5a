"""The one hook into ledger posting: a new entry emits ``balance.credited``/``debited`` (and
``grant.created`` for the grant a credit made) and re-evaluates the account's low-balance
flag, in the posting's transaction.

Every core caller posts through :func:`post` instead of ``store.ledger.post`` directly, so
no path that moves money can forget its event. An entry that existed already (a duplicate
webhook, a retried request answering ``already_applied``) emits nothing. A new debit also
hands the account to the auto-recharge arming hook (``store.recharge_arming``), which is
not this module's business beyond that one call.

Imports ``core.context``, the room's emit and thresholds, and the store (ledger,
recharge_arming).
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.emit import entry_posted, grant_created
from stripetopup.core.outbound.thresholds import evaluate
from stripetopup.store import ledger, recharge_arming


def post(session: Session, ctx: Context, posting: ledger.Posting) -> ledger.PostResult:
    """``store.ledger.post`` (its grants judged at the context's clock unless the posting
    names a time), and for a new entry its event and the threshold check."""
    if posting.at is None:
        posting = replace(posting, at=ctx.clock())
    result = ledger.post(session, posting)
    if result.created:
        entry_posted(session, ctx, result.entry, posting.account_id)
        if result.grant is not None:  # a credit back into its payment's own grant makes none
            grant_created(session, ctx, result.grant, posting.account_id)
        evaluate(session, ctx, posting.account_id)
        if posting.amount_cents < 0:  # a debit may take the account below its rule
            recharge_arming.arm_if_low(
                session,
                result.entry.account_pk,
                posting.account_id,
                now=ctx.clock(),
                currency=ctx.currency,
                minimum_cents=ctx.settings.min_amount_cents,
            )
    return result
