"""Reading the outbox back in tests: every event through the same feed hosts read."""

from __future__ import annotations

from typing import Any

from stripetopup.core import TopUpService


def outbound(
    service: TopUpService, account_id: str | None = None, *, types: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Every outbound event (about ``account_id``, of ``types``), oldest first, as JSON
    envelopes."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = service.outbound_events(after=after, limit=100, account_id=account_id, types=types)
        found.extend(event.model_dump(mode="json") for event in page.data)
        if not page.has_more:
            return found
        after = page.next_after


def types_of(
    service: TopUpService, account_id: str | None = None, *, types: tuple[str, ...] = ()
) -> list[str]:
    return [event["type"] for event in outbound(service, account_id, types=types)]
