"""Webhook endpoints over the spend API (``/api/v1/webhook-endpoints``), for host
applications that register themselves; service keys only, as the rest of ``/api/v1``.

The signing secret is in the answer of a creation and of a rotation, and nowhere else.
Only translates: HTTP -> :class:`TopUpService` calls -> JSON. May import fastapi,
pydantic, stripetopup.core, web.deps, web.body, web.schemas and the spend routes'
``Idempotent-Replayed`` header.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from stripetopup.core.outbound.hook_types import (
    DeliveryAnswer,
    EndpointAnswer,
    EndpointSecretAnswer,
    RemovedEndpointAnswer,
    RetriedAnswer,
)
from stripetopup.web.body import BoundedJsonRoute
from stripetopup.web.deps import Caller, Service
from stripetopup.web.routes.spend import mark_replayed
from stripetopup.web.schemas import error

PREFIX = "/api/v1"
MAX_GRACE_SECONDS = 7 * 86400

ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("Invalid URL, event filter, description, id or grace (invalid_request)."),
    401: error("Missing, invalid or revoked service key."),
    403: error("A user token: the spend API takes service keys only."),
    404: error("Unknown endpoint or delivery."),
    429: error("Too many failed authentications from this address; see Retry-After."),
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Optional: a retry with the same key and body adds nothing new.",
    ),
]
EndpointId = Annotated[str, Path(description="An endpoint id as returned: ep_ and 24 hex digits.")]


class EndpointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: StrictStr = Field(
        max_length=2000,
        description="Where to POST events: https:// (http:// only to a loopback host).",
        examples=["https://app.example.com/hooks/stripetopup"],
    )
    events: list[Annotated[StrictStr, Field(max_length=100)]] = Field(
        default_factory=lambda: ["*"],
        max_length=30,
        description="Event types, families (balance.*) or * (every event).",
        examples=[["balance.*", "payment.attention"]],
    )
    description: StrictStr | None = Field(None, max_length=200)


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_seconds: StrictInt = Field(
        86400,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the previous secret keeps signing beside the new one.",
    )


class EndpointList(BaseModel):
    object: str = "list"
    data: list[EndpointAnswer]


class DeliveryList(BaseModel):
    object: str = "list"
    data: list[DeliveryAnswer]


router = APIRouter(prefix=PREFIX, tags=["webhook endpoints"], route_class=BoundedJsonRoute)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    summary="Add an endpoint; the answer carries its signing secret, shown only this once",
    description="With an `Idempotency-Key` a retry with the same key and body answers the "
    "same endpoint (and secret) again, with `Idempotent-Replayed: true`.",
    responses={
        **ERRORS,
        409: error("The Idempotency-Key was used to add another endpoint."),
    },
)
def create_endpoint(
    service: Service,
    response: Response,
    body: EndpointRequest,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> EndpointSecretAnswer:
    key = f"service:{caller}:{idempotency_key}" if idempotency_key else None
    created = service.add_hook(
        body.url, events=body.events, description=body.description, idempotency_key=key
    )
    if idempotency_key:
        mark_replayed(response, created.created)
    return EndpointSecretAnswer.of(created)


@router.get("/webhook-endpoints", summary="Every endpoint (never a secret)", responses=ERRORS)
def list_endpoints(service: Service, _caller: Caller) -> EndpointList:
    return EndpointList(data=[EndpointAnswer.of(e) for e in service.hooks()])


@router.get("/webhook-endpoints/{endpoint_id}", summary="One endpoint", responses=ERRORS)
def get_endpoint(service: Service, endpoint_id: EndpointId, _caller: Caller) -> EndpointAnswer:
    return EndpointAnswer.of(service.hook(endpoint_id))


@router.post(
    "/webhook-endpoints/{endpoint_id}/disable",
    summary="Stop sending to an endpoint (its deliveries wait)",
    responses=ERRORS,
)
def disable_endpoint(service: Service, endpoint_id: EndpointId, caller: Caller) -> EndpointAnswer:
    reason = f"disabled through the API by service key {caller}"
    return EndpointAnswer.of(service.disable_hook(endpoint_id, reason=reason))


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable", summary="Send to an endpoint again", responses=ERRORS
)
def enable_endpoint(service: Service, endpoint_id: EndpointId, _caller: Caller) -> EndpointAnswer:
    return EndpointAnswer.of(service.enable_hook(endpoint_id))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    summary="Delete an endpoint and its deliveries",
    responses=ERRORS,
)
def delete_endpoint(
    service: Service, endpoint_id: EndpointId, _caller: Caller
) -> RemovedEndpointAnswer:
    return RemovedEndpointAnswer.of(service.remove_hook(endpoint_id))


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret (shown only in this answer); the old one signs during the grace",
    responses=ERRORS,
)
def rotate_secret(
    service: Service, endpoint_id: EndpointId, _caller: Caller, body: RotateRequest | None = None
) -> EndpointSecretAnswer:
    grace = timedelta(seconds=(body or RotateRequest()).grace_seconds)
    return EndpointSecretAnswer.of(service.rotate_hook_secret(endpoint_id, grace=grace))


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    summary="An endpoint's deliveries, newest first",
    responses=ERRORS,
)
def list_deliveries(
    service: Service,
    endpoint_id: EndpointId,
    _caller: Caller,
    failed: Annotated[bool, Query(description="Only failed and dead deliveries.")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> DeliveryList:
    rows = service.hook_deliveries(endpoint_id=endpoint_id, failed_only=failed, limit=limit)
    return DeliveryList(data=[DeliveryAnswer.of(d) for d in rows])


@router.post(
    "/webhook-endpoints/{endpoint_id}/retry",
    summary="Send every failed or dead delivery of an endpoint again now",
    responses=ERRORS,
)
def retry_endpoint(service: Service, endpoint_id: EndpointId, _caller: Caller) -> RetriedAnswer:
    return RetriedAnswer.of(service.retry_hook_deliveries(endpoint_id))


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    summary="Send one delivery again now (the same webhook-id)",
    responses=ERRORS,
)
def retry_delivery(
    service: Service,
    delivery_id: Annotated[
        str, Path(description="A delivery (dlv_...), or an event (msg_...): all its deliveries.")
    ],
    _caller: Caller,
) -> RetriedAnswer:
    return RetriedAnswer.of(service.retry_delivery(delivery_id))
