"""The ``doctor`` check of auto-recharge: every paused rule, with the reason it was paused.

A rule paused by a decline, an authentication the buyer must give, or a card that went
away charges nothing until an operator (or the host) acts; doctor says so, one line per
account. Fed by one store query; nothing is asked of Stripe.
"""

from __future__ import annotations

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.doctor.types import Check, warn
from stripetopup.store import recharge_rules


def paused_rules(ctx: Context) -> list[Check]:
    """One warning per paused rule; nothing when none is."""
    with Session(ctx.engine) as session:
        found = recharge_rules.paused(session)
    return [
        warn(
            f"auto-recharge of {account_id}",
            f"paused: {reason or 'no reason recorded'}",
            f"see `stripetopup autorecharge show {account_id}` (an attempt the bank wants the "
            "buyer to authenticate shows the Checkout link to send them); once the card is "
            f"fixed (or a new one saved), `stripetopup autorecharge resume {account_id}`",
        )
        for account_id, reason in found
    ]
