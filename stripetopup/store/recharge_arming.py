"""The auto-recharge arming hook: after a change lowered an account's available balance (a
debit posted, a hold placed), arm one recharge attempt if the account's active rule says so.

Called in the change's own transaction with the account's row lock held, by the posting
point (``core.outbound.posting.post``, for every new debit: a spend, a capture, a manual
debit, a refund or dispute, an expiry write-off) and by hold placement
(``core.spending.holds.place``). It sits in the store, below every room that posts (the
recharge room's own worker posts its credits through the posting point), beside the policy
it applies (:func:`stripetopup.store.recharge_attempts.arm`: one in flight, cap and
cooldown). Imports sqlmodel, models and the store's accounts, recharge_rules and
recharge_attempts.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from stripetopup.models import RuleState
from stripetopup.store import accounts, recharge_attempts, recharge_rules
from stripetopup.store.recharge_attempts import Armed


def arm_if_low(
    session: Session,
    account_pk: int,
    account_id: str,
    *,
    now: datetime,
    currency: str,
    minimum_cents: int,
) -> Armed | None:
    """Arm an attempt when the available balance (balance minus open holds) is below the
    account's active rule's threshold; None when the account has no active rule."""
    rule = recharge_rules.find(session, account_pk)
    if rule is None or rule.status != RuleState.ACTIVE:
        return None  # the common case: one indexed lookup, nothing more
    state = accounts.low_balance_state(session, account_id, now)
    return recharge_attempts.arm(
        session,
        rule,
        state.balance_cents - state.held_cents,
        currency=currency,
        now=now,
        minimum_cents=minimum_cents,
    )
