"""The spend API's credit grants (``/api/v1/accounts/{account_id}/grants``).

``POST`` credits an account as a grant with its terms (category, priority, effective and
expiry times), under an ``Idempotency-Key`` like every spend API write (a retry answers
the first answer again, with ``Idempotent-Replayed: true``; the key with another body is
409). ``GET`` lists the account's grants in burn-down order. Service keys only. Only
translates: HTTP -> :class:`TopUpService` calls -> JSON.
May import fastapi, pydantic, stripetopup.core, stripetopup.models, web.deps, web.body,
web.schemas and the spend routes' shared parameters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from stripetopup.core.grants.types import GrantedAnswer, GrantListAnswer
from stripetopup.models import MAX_REASON_LENGTH
from stripetopup.web.body import BoundedJsonRoute
from stripetopup.web.deps import Caller, Service, service_actor
from stripetopup.web.routes.spend import (
    PREFIX,
    READ_ERRORS,
    WRITE_ERRORS,
    AccountId,
    IdempotencyKey,
    mark_replayed,
    require_key,
)


class GrantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: StrictInt = Field(gt=0, description="Cents to grant.", examples=[500])
    category: Literal["paid", "promotional"] = Field(
        "paid", description="What kind of credit: paid (bought) or promotional (given)."
    )
    priority: StrictInt = Field(50, ge=0, le=100, description="0-100; lower is spent first.")
    effective_at: datetime | None = Field(
        None, description="When it may first be spent (ISO 8601 with an offset); default now."
    )
    expires_at: datetime | None = Field(
        None,
        description="When what is left of it expires (ISO 8601 with an offset); default never.",
    )
    reason: str | None = Field(
        None, max_length=MAX_REASON_LENGTH, description="Shown in the ledger."
    )


router = APIRouter(prefix=PREFIX, tags=["spend API"], route_class=BoundedJsonRoute)


@router.post(
    "/accounts/{account_id}/grants",
    status_code=201,
    summary="Credit an account as a grant (paid or promotional, priority, expiry)",
    responses=WRITE_ERRORS,
)
def create_grant(
    service: Service,
    response: Response,
    account_id: AccountId,
    body: GrantRequest,
    service_name: Caller,
    idempotency_key: IdempotencyKey = None,
) -> GrantedAnswer:
    granted = service.grant(
        account_id,
        body.amount_cents,
        idempotency_key=require_key(idempotency_key),
        reason=body.reason,
        category=body.category,
        priority=body.priority,
        expires_at=body.expires_at,
        effective_at=body.effective_at,
        actor=service_actor(service_name),
    )
    mark_replayed(response, granted.created)
    return GrantedAnswer.of(granted)


@router.get(
    "/accounts/{account_id}/grants",
    summary="An account's credit grants in burn-down order",
    responses=READ_ERRORS,
)
def list_grants(
    service: Service,
    account_id: AccountId,
    _caller: Caller,
    include_closed: Annotated[
        bool, Query(alias="all", description="Also the spent and expired grants.")
    ] = False,
) -> GrantListAnswer:
    return GrantListAnswer.of(service.grants(account_id, include_closed=include_closed))
