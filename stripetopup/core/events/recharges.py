"""What ``payment_intent.succeeded`` does for an auto-recharge charge: credit it once.

A PaymentIntent our recharge worker created names its attempt in ``metadata.attempt``
(:mod:`stripetopup.core.recharge.tags`);
its credit goes through :func:`stripetopup.core.recharge.charge.settle`, the same path as
the worker's synchronous answer (source ``payment_intent:pi_...``), so whichever arrives
first credits and the other finds the entry there. Any other PaymentIntent (a Checkout
Session's, credited by its session) is ignored here.
Imports core (the recharge room's charge, results, context), models and the typed event.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.recharge import charge, tags
from stripetopup.models import EventResult
from stripetopup.stripe_objects import Event


def on_payment_intent_succeeded(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    pi = event.data.object
    tag = tags.tag_of(pi)
    if tag is None:
        detail = "not an auto-recharge charge (a Checkout payment is credited by its session)"
        return EventOutcome(event.id, event.type, EventResult.IGNORED, detail)
    if not isinstance(pi.get("id"), str) or pi.get("status") != "succeeded":
        return EventOutcome(event.id, event.type, EventResult.IGNORED, "not succeeded")
    before = charge.credited(session, str(pi["id"]))
    done = charge.settle(session, ctx, tag.attempt_key, pi, actor=actor)
    result = EventResult.ALREADY_APPLIED if before else EventResult.CREDITED
    if done != "succeeded":
        result = EventResult.IGNORED
    return EventOutcome(
        event.id,
        event.type,
        result,
        f"auto-recharge {tag.attempt_key}: {done}",
        account_id=tag.account_id,
    )
