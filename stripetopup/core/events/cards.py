"""What Stripe's saved-card events do: a detached card or a deleted customer is never
charged again (the recharge room ends the cards; no money moves).

Each handler runs inside the caller's transaction and is idempotent: a card already
ended stays as it is. :mod:`stripetopup.core.events.registry` maps the event types here.
Imports core (the recharge room's cards, results, context), models and the typed event.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events.types import EventOutcome
from stripetopup.core.recharge import cards
from stripetopup.models import EventResult
from stripetopup.stripe_objects import Event


def _object_id(event: Event, prefix: str) -> str | None:
    found = event.data.object.get("id")
    return found if isinstance(found, str) and found.startswith(prefix) else None


def _outcome(event: Event, ended: int, what: str) -> EventOutcome:
    if ended:
        result, detail = EventResult.RECORDED, f"{what}: {ended} saved card(s) ended"
    else:
        result, detail = EventResult.IGNORED, f"{what}: no active saved card of ours"
    return EventOutcome(event_id=event.id, event_type=event.type, result=result, detail=detail)


def on_payment_method_detached(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    pm_id = _object_id(event, "pm_")
    ended = cards.on_detached(session, ctx, pm_id) if pm_id else 0
    return _outcome(event, ended, "payment method detached")


def on_customer_deleted(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    customer_id = _object_id(event, "cus_")
    ended = cards.on_customer_deleted(session, ctx, customer_id) if customer_id else 0
    return _outcome(event, ended, "customer deleted")
