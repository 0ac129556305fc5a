"""The spend API's auto-recharge rule (``/api/v1/accounts/{account_id}/auto-recharge``).

``PUT`` sets (or replaces) the account's rule, only for an account with a saved card whose
buyer consented (409 ``no_saved_card`` otherwise); ``GET`` shows it with its state and
card; ``DELETE`` turns it off. Service keys only. Only translates: HTTP ->
:class:`TopUpService` calls -> JSON.
May import fastapi, pydantic, stripetopup.core, stripetopup.models, web.deps, web.body,
web.schemas and the spend routes' shared parameters.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from stripetopup.core.recharge.rules import DEFAULT_COOLDOWN_SECONDS, MAX_MONTHLY_COUNT
from stripetopup.core.recharge.types import RuleAnswer, RuleOffAnswer, RuleTerms
from stripetopup.models import MAX_INTEGER
from stripetopup.web.body import BoundedJsonRoute
from stripetopup.web.deps import Caller, Service
from stripetopup.web.routes.spend import (
    PREFIX,
    READ_ERRORS,
    WRITE_ERRORS,
    AccountId,
    IdempotencyKey,
    require_key,
)
from stripetopup.web.schemas import error

THIRTY_DAYS = 30 * 24 * 3600


class RuleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    below_cents: StrictInt = Field(ge=1, le=MAX_INTEGER, description="Recharge below this.")
    amount_cents: StrictInt | None = Field(
        None, ge=1, le=MAX_INTEGER, description="A fixed amount per charge (or up_to_cents)."
    )
    up_to_cents: StrictInt | None = Field(
        None, ge=1, le=MAX_INTEGER, description="Charge up to this available balance."
    )
    monthly_cap_cents: StrictInt = Field(ge=1, le=MAX_INTEGER, description="Per calendar month.")
    monthly_count: StrictInt | None = Field(None, ge=1, le=MAX_MONTHLY_COUNT)
    cooldown_seconds: StrictInt = Field(DEFAULT_COOLDOWN_SECONDS, ge=0, le=THIRTY_DAYS)

    def terms(self) -> RuleTerms:
        return RuleTerms(**self.model_dump())


router = APIRouter(prefix=PREFIX, tags=["spend API"], route_class=BoundedJsonRoute)
PATH = "/accounts/{account_id}/auto-recharge"


@router.put(
    PATH,
    summary="Set an account's auto-recharge rule (it needs a consented saved card)",
    description="Below `below_cents` available, the account's newest saved card is charged "
    "`amount_cents` (or up to `up_to_cents`), at most `monthly_cap_cents` and "
    "`monthly_count` charges a calendar month, `cooldown_seconds` apart. Putting it again "
    "replaces the terms and makes the rule active.",
    responses={
        **WRITE_ERRORS,
        409: error("The account has no saved card with consent (no_saved_card)."),
    },
)
def put_rule(
    service: Service,
    account_id: AccountId,
    body: RuleRequest,
    _caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> RuleAnswer:
    require_key(idempotency_key)
    return RuleAnswer.of(service.set_auto_recharge(account_id, body.terms()))


@router.get(
    PATH, summary="An account's auto-recharge rule, its state and card", responses=READ_ERRORS
)
def get_rule(service: Service, account_id: AccountId, _caller: Caller) -> RuleAnswer:
    return RuleAnswer.of(service.auto_recharge(account_id))


@router.delete(PATH, summary="Turn an account's auto-recharge off", responses=READ_ERRORS)
def delete_rule(service: Service, account_id: AccountId, _caller: Caller) -> RuleOffAnswer:
    return RuleOffAnswer.of(service.auto_recharge_off(account_id))
