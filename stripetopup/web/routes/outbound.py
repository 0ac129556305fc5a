"""The pull feed of outbound events (``GET /api/v1/events``) for host applications that
cannot receive webhooks: the same events, oldest first, after a cursor.

Service keys only, like the spend API. Following ``next_after`` never misses an event or
repeats one, even while other transactions commit (see ``store/outbox``). Only translates:
HTTP -> :meth:`TopUpService.outbound_events` -> JSON.
May import fastapi, stripetopup.core, web.deps, web.body and web.schemas.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from stripetopup.core.outbound.types import EventPageAnswer
from stripetopup.web.body import BoundedJsonRoute
from stripetopup.web.deps import Caller, Service
from stripetopup.web.routes.spend import PREFIX, READ_ERRORS

router = APIRouter(prefix=PREFIX, tags=["outbound events"], route_class=BoundedJsonRoute)


@router.get(
    "/events",
    summary="Outbound events after a cursor, oldest first (the pull feed)",
    description="Pass `next_after` as `after` for the next page; poll with it when "
    "`has_more` is false. `type` filters by a type (`payment.failed`) or a family "
    "(`balance.*`); repeat it or separate types with commas.",
    responses=READ_ERRORS,
)
def list_events(
    service: Service,
    _caller: Caller,
    after: Annotated[str | None, Query(max_length=40, description="An event id (msg_...).")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    type_: Annotated[
        list[str] | None, Query(alias="type", max_length=400, description="Types or families.")
    ] = None,
    account_id: Annotated[
        str | None, Query(max_length=200, description="Only events about this account.")
    ] = None,
) -> EventPageAnswer:
    types = [t.strip() for value in type_ or [] for t in value.split(",") if t.strip()]
    page = service.outbound_events(after=after, limit=limit, types=types, account_id=account_id)
    return EventPageAnswer.of(page)
