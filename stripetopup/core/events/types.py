"""The events room's answers: what an event did, an event-log row, a replay batch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from pydantic import Field, field_validator

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime, is_none
from stripetopup.models import (
    EventResult,
    WebhookEvent,
)


class EventOutcomeAnswer(Answer):
    event_id: str
    event_type: str
    result: str = Field(
        description="credited, debited, already_applied, recorded, attention, ignored, failed."
    )
    detail: str
    account_id: str | None
    amount_cents: int | None
    entry_id: int | None
    dry_run: bool
    amount: str | None = Field(None, exclude_if=is_none, description="Only with amount_cents.")


@dataclass(frozen=True)
class EventOutcome(Answered):
    """What applying one Stripe event did; ``result`` is a ``models.EventResult``."""

    answer_model = EventOutcomeAnswer

    event_id: str
    event_type: str
    result: EventResult
    detail: str = ""
    account_id: str | None = None
    amount_cents: int | None = None
    entry_id: int | None = None
    dry_run: bool = False

    amount = Dollars("amount_cents")


class EventRecordAnswer(Answer):
    event_id: str
    type: str
    outcome: str | None
    error: str | None
    attempts: int
    secret_label: str | None
    livemode: bool
    received_at: IsoTime
    processed_at: IsoTime | None
    payload: Any = Field(description="The stored body: JSON, or the string it is if not JSON.")
    replays: int

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_json(cls, payload: Any) -> Any:
        """The stored body as JSON, so ``--json`` embeds an object rather than an escaped
        string. A body that is not JSON (a truncated failure record) stays the string it is."""
        if not isinstance(payload, str):
            return payload
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            return payload


@dataclass(frozen=True)
class EventRecord(Answered):
    answer_model = EventRecordAnswer

    event_id: str
    type: str
    outcome: str | None
    error: str | None
    attempts: int
    secret_label: str | None
    livemode: bool
    received_at: datetime
    processed_at: datetime | None
    payload: str = field(repr=False)
    replays: int = 0  # `replay` runs, apart from Stripe's delivery attempts

    @classmethod
    def of(cls, row: WebhookEvent) -> EventRecord:
        return cls(
            event_id=row.event_id,
            type=row.type,
            outcome=row.outcome,
            error=row.error,
            attempts=row.attempts,
            secret_label=row.secret_label,
            livemode=row.livemode,
            received_at=row.received_at,
            processed_at=row.processed_at,
            payload=row.payload,
            replays=row.replays,
        )

    def to_json(self, *, with_payload: bool = False) -> dict[str, Any]:
        exclude = None if with_payload else {"payload"}
        return self.answer_model.of(self).model_dump(mode="json", exclude=exclude)


class ReplaySummaryAnswer(Answer):
    events: int
    by_result: dict[str, int] = Field(description="How many events had each result.")


class ReplayBatchAnswer(Answer):
    summary: ReplaySummaryAnswer
    items: list[EventOutcomeAnswer]

    @classmethod
    def of(cls, result: Any) -> Self:
        counts: dict[str, int] = {}
        for outcome in result.outcomes:
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        summary = ReplaySummaryAnswer(events=len(result.outcomes), by_result=counts)
        return cls(summary=summary, items=[EventOutcomeAnswer.of(o) for o in result.outcomes])


@dataclass(frozen=True)
class ReplayBatch(Answered):
    """The outcome of replaying every stored failed event."""

    outcomes: tuple[EventOutcome, ...]

    answer_model = ReplayBatchAnswer

    @property
    def failed(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == EventResult.FAILED)
