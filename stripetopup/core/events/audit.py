"""The audit line for one applied Stripe event: a sentence for people, the ids as fields.

``event evt_1 (checkout.session.completed) via webhook credited 5.00 to acct-42 (entry 17)``
with ``event_id``, ``event_type``, ``actor``, ``outcome``, ``account_id``,
``checkout_session_id``, ``amount_cents`` and ``entry_id`` as fields (see stripetopup.logs).
May import stripetopup.money, stripetopup.models (the result kinds) and the rooms' types modules.
"""

from __future__ import annotations

from typing import Any

from stripetopup.core.events.types import EventOutcome
from stripetopup.models import EventResult
from stripetopup.money import format_cents

# How a sentence ends for the outcomes that moved no money.
_VERDICTS = {
    EventResult.ALREADY_APPLIED: "was already applied",
    EventResult.RECORDED: "was recorded",
    EventResult.ATTENTION: "needs attention",
    EventResult.IGNORED: "was ignored",
}
_MOVED = (EventResult.CREDITED, EventResult.DEBITED)


def sentence(outcome: EventOutcome, actor: str) -> str:
    """What the event did, said once (the outcome's detail only where it adds something)."""
    subject = f"event {outcome.event_id} ({outcome.event_type}) via {actor}"
    if outcome.result in _MOVED and outcome.amount_cents is not None:
        direction = "to" if outcome.result == EventResult.CREDITED else "from"
        amount = format_cents(abs(outcome.amount_cents))
        entry = f" (entry {outcome.entry_id})" if outcome.entry_id is not None else ""
        return f"{subject} {outcome.result} {amount} {direction} {outcome.account_id}{entry}"
    verdict = _VERDICTS.get(outcome.result, f"ended {outcome.result}")
    return f"{subject} {verdict}: {outcome.detail}" if outcome.detail else f"{subject} {verdict}"


def fields(event: dict[str, Any], outcome: EventOutcome | None, actor: str) -> dict[str, Any]:
    """The ids of one event's line; ``outcome`` None means applying it failed."""
    obj = event.get("data", {}).get("object", {})
    object_id = str(obj.get("id", ""))
    found: dict[str, Any] = {
        "event_id": str(event["id"]),
        "event_type": str(event["type"]),
        "actor": actor,
        "outcome": outcome.result if outcome is not None else EventResult.FAILED,
        "checkout_session_id": object_id if object_id.startswith("cs_") else None,
    }
    if outcome is not None:
        found.update(
            account_id=outcome.account_id,
            amount_cents=outcome.amount_cents,
            entry_id=outcome.entry_id,
        )
    return found
