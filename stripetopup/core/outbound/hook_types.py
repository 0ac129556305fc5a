"""The answers of outbound webhooks: endpoints, their deliveries, and a delivery run.

A leaf of the room: imports core.answers and models only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, IsoTime
from stripetopup.models import (
    OPEN_DELIVERY_STATES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class EndpointAnswer(Answer):
    id: str = Field(
        description="The endpoint's id, ep_...", examples=["ep_0123456789abcdef01234567"]
    )
    url: str
    description: str | None
    events: list[str] = Field(description="Event filter: types, families (balance.*) or *.")
    enabled: bool
    disabled_at: IsoTime | None
    disabled_reason: str | None
    created_at: IsoTime
    failing_since: IsoTime | None = Field(
        description="When the endpoint's deliveries began failing without a success since."
    )
    previous_secret_expires_at: IsoTime | None = Field(
        description="During a secret rotation: until when the previous secret signs too."
    )


@dataclass(frozen=True)
class Endpoint(Answered):
    answer_model = EndpointAnswer

    id: str
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, row: WebhookEndpoint) -> Endpoint:
        return cls(
            id=row.endpoint_id,
            url=row.url,
            description=row.description,
            events=row.event_types.split(","),
            enabled=row.enabled,
            disabled_at=row.disabled_at,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
            failing_since=row.failing_since,
            previous_secret_expires_at=row.previous_secret_expires_at,
        )


class EndpointSecretAnswer(EndpointAnswer):
    secret: str = Field(description="The signing secret (whsec_...): shown only this once.")

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(**EndpointAnswer.of(result.endpoint).model_dump(), secret=result.secret)


@dataclass(frozen=True)
class EndpointSecret(Answered):
    """A new endpoint, or one whose secret was rotated, with its secret (shown once).

    ``created`` is False when an Idempotency-Key repeated an earlier addition."""

    answer_model = EndpointSecretAnswer

    endpoint: Endpoint
    secret: str
    created: bool = True


class RemovedEndpointAnswer(EndpointAnswer):
    deliveries_removed: int

    @classmethod
    def of(cls, result: Any) -> Self:
        base = EndpointAnswer.of(result.endpoint).model_dump()
        return cls(**base, deliveries_removed=result.deliveries_removed)


@dataclass(frozen=True)
class RemovedEndpoint(Answered):
    answer_model = RemovedEndpointAnswer

    endpoint: Endpoint
    deliveries_removed: int


class DeliveryAnswer(Answer):
    id: str = Field(description="The delivery's id, dlv_...")
    endpoint_id: str
    event_id: str = Field(description="The event's id (msg_...): the webhook-id header.")
    event_type: str
    state: str = Field(description="pending, failed (to be retried), delivered or dead.")
    attempts: int
    next_attempt_at: IsoTime | None
    last_attempt_at: IsoTime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: IsoTime | None
    created_at: IsoTime


@dataclass(frozen=True)
class Delivery(Answered):
    answer_model = DeliveryAnswer

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookDelivery, endpoint_id: str) -> Delivery:
        open_ = row.state in OPEN_DELIVERY_STATES
        return cls(
            id=row.delivery_id,
            endpoint_id=endpoint_id,
            event_id=row.event_id,
            event_type=row.event_type,
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if open_ else None,
            last_attempt_at=row.last_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


class AttemptAnswer(Answer):
    delivery_id: str
    endpoint_id: str
    event_id: str = Field(description="The webhook-id header, the same on every attempt.")
    attempt: int = Field(description="1 for the first try of the delivery's current schedule.")
    at: IsoTime
    status_code: int | None = Field(description="The endpoint's answer; null for none.")
    error: str | None = Field(description="Why it failed (null: delivered).")
    duration_ms: int


@dataclass(frozen=True)
class DeliveryAttempt(Answered):
    """One try of one delivery (``hooks attempts``)."""

    answer_model = AttemptAnswer

    delivery_id: str
    endpoint_id: str
    event_id: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, row: WebhookAttempt, parent: WebhookDelivery, endpoint_id: str) -> Self:
        return cls(
            delivery_id=parent.delivery_id,
            endpoint_id=endpoint_id,
            event_id=parent.event_id,
            attempt=row.attempt,
            at=row.at,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
        )


class EventDeliveriesAnswer(Answer):
    id: str = Field(description="The event's id (msg_...).")
    type: str
    created_at: IsoTime
    account_id: str | None
    deliveries: list[DeliveryAnswer] = Field(description="One per subscribed endpoint.")

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(
            id=result.id,
            type=result.type,
            created_at=result.created_at,
            account_id=result.account_id,
            deliveries=[DeliveryAnswer.of(d) for d in result.deliveries],
        )


@dataclass(frozen=True)
class EventDeliveries(Answered):
    """An outbound event and where its deliveries stand (``hooks events``)."""

    answer_model = EventDeliveriesAnswer

    id: str
    type: str
    created_at: datetime
    account_id: str | None
    deliveries: list[Delivery]


class RetriedAnswer(Answer):
    retried: int = Field(description="How many deliveries will be sent again now.")
    delivery_ids: list[str]


@dataclass(frozen=True)
class Retried(Answered):
    answer_model = RetriedAnswer

    delivery_ids: list[str]

    @property
    def retried(self) -> int:
        return len(self.delivery_ids)


class DeliveryRunAnswer(Answer):
    queued: int = Field(description="New deliveries written from the outbox.")
    attempted: int
    delivered: int
    failed: int = Field(description="Attempts that failed and will be retried.")
    dead: int = Field(description="Deliveries given up after the last attempt of the schedule.")
    disabled_endpoints: list[str]


@dataclass
class DeliveryRun(Answered):
    """What one pass of the delivery worker did (``hooks deliver --once``)."""

    answer_model = DeliveryRunAnswer

    queued: int = 0
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)

    def add(self, other: DeliveryRun) -> None:
        self.queued += other.queued
        self.attempted += other.attempted
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.disabled_endpoints += other.disabled_endpoints
