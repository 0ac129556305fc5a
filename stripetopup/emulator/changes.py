"""A change to a stored object, who caused it, and publishing changes as Stripe events.

Its own module (not in :mod:`~stripetopup.emulator.payments`) so that modules payments
itself imports, such as payment_methods, can publish events without an import cycle.
Imports only the stdlib and the emulator's objects and state.
"""

from __future__ import annotations

from dataclasses import dataclass

from stripetopup.emulator import objects
from stripetopup.emulator.state import EmulatorState, Obj


@dataclass(frozen=True)
class Origin:
    """The API request that caused a change (None for control actions, like Stripe's dashboard)."""

    request_id: str | None = None
    idempotency_key: str | None = None


CONTROL = Origin()
Change = tuple[str, Obj, Obj | None]


def emit(state: EmulatorState, changes: list[Change], origin: Origin, created: int = 0) -> None:
    """Build one event per change (snapshotting the object now) and publish them as a batch."""
    when = created or state.clock.now()
    events = [
        objects.event(
            created=when,
            event_type=kind,
            obj=obj,
            previous=previous,
            request_id=origin.request_id,
            idempotency_key=origin.idempotency_key,
            pending_webhooks=len(state.matching_endpoints(kind)),
        )
        for kind, obj, previous in changes
    ]
    state.publish(events)
