"""Which handler applies each Stripe event type, and what it needs from Stripe first.

:func:`stripetopup.core.events.dispatch` looks an event's type up in :data:`HANDLERS`, and
:func:`stripetopup.core.events.gather` in :data:`GATHERERS` (asked before the transaction
opens, so no network call runs under a lock). The handler modules know nothing of this
table, so none of them imports another. To handle a new event type: write its handler
(the :data:`Handler` signature) in the module of its domain and add a line here.
Imports the handler modules, core results and context, and the typed Stripe event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events import cards as handlers_cards
from stripetopup.core.events import recharges as handlers_recharges
from stripetopup.core.events import reversals as handlers_reversals
from stripetopup.core.events import sessions as handlers
from stripetopup.core.events.reversals import DISPUTE_EVENTS, REFUND_EVENTS
from stripetopup.core.events.types import EventOutcome
from stripetopup.stripe_objects import Event

# (transaction, context, event, actor, what the gatherer fetched) -> what it did
Handler = Callable[[Session, Context, Event, str, Any], EventOutcome]
Gatherer = Callable[[Context, Event], Any]

HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": handlers.on_session_completed,
    "checkout.session.async_payment_succeeded": handlers.on_async_succeeded,
    "checkout.session.async_payment_failed": handlers.on_async_failed,
    "checkout.session.expired": handlers.on_session_expired,
    **dict.fromkeys(REFUND_EVENTS, handlers_reversals.on_refund_event),
    **dict.fromkeys(DISPUTE_EVENTS, handlers_reversals.on_dispute_event),
    "payment_method.detached": handlers_cards.on_payment_method_detached,
    "customer.deleted": handlers_cards.on_customer_deleted,
    "payment_intent.succeeded": handlers_recharges.on_payment_intent_succeeded,
}
# Whether a gatherer will call Stripe for this event (absent: it always may). The web door
# runs a gatherer that will in a worker thread, and one that will not on the event loop.
ASKS_STRIPE: dict[str, Callable[[Event], bool]] = {
    "checkout.session.completed": handlers.session_asks_stripe,
    "checkout.session.async_payment_succeeded": handlers.session_asks_stripe,
}
# What a handler needs from Stripe, asked before its transaction opens.
GATHERERS: dict[str, Gatherer] = {
    "checkout.session.completed": handlers.gather_session,
    "checkout.session.async_payment_succeeded": handlers.gather_session,
    **dict.fromkeys(REFUND_EVENTS, handlers_reversals.gather_refund_facts),
    **dict.fromkeys(DISPUTE_EVENTS, handlers_reversals.gather_dispute_facts),
}
