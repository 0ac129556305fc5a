"""The spend API (``/api/v1``): balances, entries, debits and holds for the host application.

Server-to-server, authenticated with service keys only (``stripetopup keys create NAME``);
a user token here is 403. Every write needs an ``Idempotency-Key`` header: a retry with
the same key and body answers the first answer again (same status and body, plus
``Idempotent-Replayed: true``); the same key with another body, or with the other kind
of write (a debit's key for a hold, or the reverse), is 409. Keys are scoped per service
key name. Only translates: HTTP -> :class:`TopUpService` calls -> JSON.
May import fastapi, pydantic, stripetopup.core, stripetopup.errors, web.deps, web.body,
web.schemas and web.ratelimit (and config, for the link lifetime's bounds).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from stripetopup.config import MAX_LINK_TTL_SECONDS, MIN_LINK_TTL_SECONDS
from stripetopup.core.checkout.types import TopUpLinkAnswer
from stripetopup.core.ledger.types import BalanceAnswer, EntryAnswer
from stripetopup.core.spending.types import HoldAnswer, HoldChangeAnswer, SpentAnswer
from stripetopup.errors import UsageError
from stripetopup.models import MAX_INTEGER, MAX_REASON_LENGTH
from stripetopup.web.body import BoundedJsonRoute
from stripetopup.web.deps import Caller, Service, service_actor
from stripetopup.web.schemas import EntriesPage, ErrorDetail, ErrorResponse
from stripetopup.web.schemas import error as _error

__all__ = ["ErrorDetail", "ErrorResponse", "router"]  # the error shape's old home

PREFIX = "/api/v1"
MAX_PAGE = 100

READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid parameters (invalid_account_id, invalid_hold_id, invalid_request)."),
    401: _error("Missing, invalid or revoked service key."),
    403: _error("A user token: the spend API takes service keys only."),
    404: _error("Unknown account or hold."),
    429: _error("Too many failed authentications from this address; see Retry-After."),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    400: _error("Invalid body, or the Idempotency-Key header is missing."),
    409: _error(
        "The Idempotency-Key was used with a different request, or for a debit when placing "
        "a hold or the reverse (idempotency_conflict)."
    ),
}
FUNDS_ERROR: dict[int | str, dict[str, Any]] = {
    402: _error("Insufficient available funds (balance minus open holds); nothing was written."),
}
HOLD_STATE_ERROR: dict[int | str, dict[str, Any]] = {
    409: _error(
        "Idempotency-Key reused with another request, or the hold is captured, released "
        "or expired (hold_not_open)."
    ),
}


class DebitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: StrictInt = Field(gt=0, description="Cents to debit.", examples=[100])
    reason: str | None = Field(
        None, max_length=MAX_REASON_LENGTH, description="Shown in the ledger."
    )
    allow_negative: StrictBool = Field(
        False, description="Debit even when it takes the balance below what is available."
    )


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: StrictInt = Field(gt=0, description="Cents to reserve.", examples=[250])
    ttl_seconds: StrictInt | None = Field(
        None, ge=1, description="Expiry; default STRIPETOPUP_HOLD_TTL_SECONDS."
    )
    reason: str | None = Field(None, max_length=MAX_REASON_LENGTH)


class TopUpLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_seconds: StrictInt | None = Field(
        None,
        ge=MIN_LINK_TTL_SECONDS,
        le=MAX_LINK_TTL_SECONDS,
        description="The link's lifetime; default STRIPETOPUP_TOPUP_LINK_TTL.",
    )


class ThresholdRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold_cents: StrictInt | None = Field(
        ...,
        ge=0,
        le=MAX_INTEGER,
        description="Cents; null goes back to STRIPETOPUP_LOW_BALANCE_THRESHOLD_CENTS.",
        examples=[500],
    )


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: StrictInt | None = Field(
        None, gt=0, description="Cents to capture (at most the hold); default: all of it."
    )


# Checked by the core (stripetopup.ids), so an id no account can have is the same
# 400 invalid_account_id / invalid_hold_id on every door and both databases.
AccountId = Annotated[
    str,
    Path(
        description="The host application's account id: 1 to 128 ASCII letters, digits and "
        "`. _ : @ + -`, starting with a letter or digit (accounts opened by earlier releases "
        "keep their ids)."
    ),
]
HoldId = Annotated[
    str, Path(description="A hold id as returned: `hold_` and 24 lowercase hex digits.")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on every write: 1-200 characters, unique per operation.",
    ),
]


def require_key(idempotency_key: str | None) -> str:
    if not idempotency_key:
        raise UsageError("the Idempotency-Key header is required", param="Idempotency-Key")
    return idempotency_key


def mark_replayed(response: Response, created: bool) -> None:
    """``Idempotent-Replayed``: whether this answer repeats an earlier one of the same key."""
    response.headers["Idempotent-Replayed"] = "false" if created else "true"


router = APIRouter(prefix=PREFIX, tags=["spend API"], route_class=BoundedJsonRoute)


@router.get(
    "/accounts/{account_id}/balance",
    summary="An account's balance, open holds and available balance",
    responses=READ_ERRORS,
)
def get_balance(service: Service, account_id: AccountId, _caller: Caller) -> BalanceAnswer:
    return BalanceAnswer.of(service.balance(account_id))


@router.put(
    "/accounts/{account_id}/low-balance-threshold",
    summary="Set an account's low-balance threshold (null: the default again)",
    description="`balance.low` is emitted once when the available balance falls below the "
    "threshold and `balance.recovered` once when it is back at or above it. Setting it "
    "re-evaluates at once: an account already below its new threshold gets `balance.low` "
    "now. Answers the balance with the threshold that now applies. Putting the same "
    "threshold again changes nothing.",
    responses=WRITE_ERRORS,
)
def put_low_balance_threshold(
    service: Service,
    account_id: AccountId,
    body: ThresholdRequest,
    _caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> BalanceAnswer:
    require_key(idempotency_key)
    return BalanceAnswer.of(service.set_low_balance_threshold(account_id, body.threshold_cents))


@router.get(
    "/accounts/{account_id}/entries",
    summary="An account's ledger entries, newest first (cursor pagination)",
    description="Pass the last entry's `id` as `starting_after` for the next page while "
    "`has_more` is true.",
    responses=READ_ERRORS,
)
def list_entries(
    service: Service,
    account_id: AccountId,
    _caller: Caller,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10,
    starting_after: Annotated[
        int | None, Query(ge=1, le=MAX_INTEGER, description="An entry id.")
    ] = None,
) -> EntriesPage:
    rows = service.ledger(account_id, limit=limit + 1, before_id=starting_after)
    return EntriesPage(
        url=f"{PREFIX}/accounts/{account_id}/entries",
        has_more=len(rows) > limit,
        data=[EntryAnswer.of(row) for row in rows[:limit]],
    )


@router.post(
    "/accounts/{account_id}/debits",
    status_code=201,
    summary="Debit an account, refusing more than its available balance",
    responses={**WRITE_ERRORS, **FUNDS_ERROR},
)
def create_debit(
    service: Service,
    response: Response,
    account_id: AccountId,
    body: DebitRequest,
    service_name: Caller,
    idempotency_key: IdempotencyKey = None,
) -> SpentAnswer:
    spent = service.spend(
        account_id,
        body.amount_cents,
        idempotency_key=require_key(idempotency_key),
        reason=body.reason,
        allow_negative=body.allow_negative,
        actor=service_actor(service_name),
    )
    mark_replayed(response, spent.created)
    return SpentAnswer.of(spent)


@router.post(
    "/accounts/{account_id}/holds",
    status_code=201,
    summary="Reserve an amount until it is captured, released or expires",
    responses={**WRITE_ERRORS, **FUNDS_ERROR},
)
def create_hold(
    service: Service,
    response: Response,
    account_id: AccountId,
    body: HoldRequest,
    service_name: Caller,
    idempotency_key: IdempotencyKey = None,
) -> HoldChangeAnswer:
    change = service.place_hold(
        account_id,
        body.amount_cents,
        idempotency_key=require_key(idempotency_key),
        ttl_seconds=body.ttl_seconds,
        reason=body.reason,
        actor=service_actor(service_name),
    )
    mark_replayed(response, change.created)
    return HoldChangeAnswer.of(change)


@router.post(
    "/holds/{hold_id}/capture",
    summary="Debit part or all of an open hold and close it (the rest is released)",
    responses={**WRITE_ERRORS, **HOLD_STATE_ERROR},
)
def capture_hold(
    service: Service,
    response: Response,
    hold_id: HoldId,
    service_name: Caller,
    idempotency_key: IdempotencyKey = None,
    body: CaptureRequest | None = None,
) -> HoldChangeAnswer:
    change = service.capture_hold(
        hold_id,
        body.amount_cents if body is not None else None,
        idempotency_key=require_key(idempotency_key),
        actor=service_actor(service_name),
    )
    mark_replayed(response, change.created)
    return HoldChangeAnswer.of(change)


@router.post(
    "/holds/{hold_id}/release",
    summary="Release an open hold without debiting it",
    responses={**WRITE_ERRORS, **HOLD_STATE_ERROR},
)
def release_hold(
    service: Service,
    response: Response,
    hold_id: HoldId,
    _caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> HoldChangeAnswer:
    change = service.release_hold(hold_id, idempotency_key=require_key(idempotency_key))
    mark_replayed(response, change.created)
    return HoldChangeAnswer.of(change)


@router.get("/holds/{hold_id}", summary="A hold and its status", responses=READ_ERRORS)
def get_hold(service: Service, hold_id: HoldId, _caller: Caller) -> HoldAnswer:
    return HoldAnswer.of(service.get_hold(hold_id))


@router.post(
    "/accounts/{account_id}/topup-links",
    status_code=201,
    summary="A short-lived signed link to the hosted top-up page for an account",
    description="Redirect the user to `url`; it opens the page until `expires_at` (it may "
    "be opened again until then). Nothing is written, so no Idempotency-Key is needed: "
    "each call mints a fresh link. Needs STRIPETOPUP_TOPUP_PAGE on.",
    responses={
        **READ_ERRORS,
        400: _error("Invalid account id or body (ttl_seconds outside 60..3600)."),
        500: _error("The top-up page is off or not configured (configuration_error)."),
    },
)
def create_topup_link(
    service: Service,
    account_id: AccountId,
    _caller: Caller,
    body: TopUpLinkRequest | None = None,
) -> TopUpLinkAnswer:
    ttl = body.ttl_seconds if body is not None else None
    link = service.create_topup_link(
        account_id, timedelta(seconds=ttl) if ttl is not None else None
    )
    return TopUpLinkAnswer.of(link)
