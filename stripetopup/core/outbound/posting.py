"""The one hook into ledger posting: a new entry emits ``balance.credited``/``debited`` (and
``grant.created`` for the grant a credit made) and re-evaluates the account's low-balance
flag, in the posting's transaction; a debit also arms an auto-recharge attempt when the
account's rule says so (``store.recharge_attempts.arm``: one in flight, cap and cooldown).

Every core caller posts through :func:`post` instead of ``store.ledger.post`` directly, so
no path that moves money can forget its event. An entry that existed already (a duplicate
webhook, a retried request answering ``already_applied``) emits nothing.

Imports ``core.context``, the room's emit and thresholds, ``models`` and the store (ledger,
accounts, recharge_rules, recharge_attempts).
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.emit import entry_posted, grant_created
from stripetopup.core.outbound.thresholds import evaluate
from stripetopup.models import RuleState
from stripetopup.store import accounts, ledger, recharge_attempts, recharge_rules


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
        if posting.amount_cents < 0:
            _arm_recharge(session, ctx, result.entry.account_pk, posting.account_id)
    return result


def _arm_recharge(session: Session, ctx: Context, account_pk: int, account_id: str) -> None:
    """A debit that takes the available balance below the account's auto-recharge rule
    arms one attempt, in this transaction (the account's lock is held)."""
    rule = recharge_rules.find(session, account_pk)
    if rule is None or rule.status != RuleState.ACTIVE:
        return  # the common case: one indexed lookup, nothing more
    state = accounts.low_balance_state(session, account_id, ctx.clock())
    recharge_attempts.arm(
        session,
        rule,
        state.balance_cents - state.held_cents,
        currency=ctx.currency,
        now=ctx.clock(),
        minimum_cents=ctx.settings.min_amount_cents,
    )
