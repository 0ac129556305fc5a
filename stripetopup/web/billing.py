"""User-facing billing endpoints: checkout session, webhook, balance, presets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from stripetopup.core import TopUpService
from stripetopup.errors import UsageError
from stripetopup.money import check_cents, format_cents, parse_dollars
from stripetopup.web import ratelimit
from stripetopup.web.body import json_object, read_limited

router = APIRouter(prefix="/billing", tags=["billing"])
RECENT_ENTRIES = 10


def _service(request: Request) -> TopUpService:
    service: TopUpService = request.app.state.service
    return service


def amount_from_body(body: dict[str, Any]) -> int:
    """``amount_cents`` (integer cents) or ``amount`` (dollars, as a string or number)."""
    if "amount_cents" in body and "amount" in body:
        raise UsageError("send either amount_cents or amount, not both", param="amount_cents")
    if "amount_cents" in body:
        return check_cents(body["amount_cents"])
    if "amount" in body:
        value = body["amount"]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise UsageError('amount must be a dollar string such as "5.00"', param="amount")
        return parse_dollars(str(value), param="amount")
    raise UsageError("amount_cents is required", param="amount_cents")


@router.post(
    "/checkout-session",
    summary="Create a Stripe Checkout Session for the authenticated user",
    responses={400: {}, 401: {}, 403: {}, 429: {}, 502: {}},
)
async def create_checkout_session(
    request: Request,
    authorization: str | None = Header(default=None),
    origin: str | None = Header(default=None),
    idempotency_key: str | None = Header(default=None),
) -> dict[str, Any]:
    service = _service(request)
    if len(request.headers.getlist("origin")) > 1:  # which one would the URLs be built on?
        raise UsageError("send one Origin header, not several", param="Origin")
    account_id = await run_in_threadpool(
        ratelimit.authenticated, request, service.authenticate_user, authorization
    )
    amount_cents = amount_from_body(await json_object(request, service.settings.api_max_body_bytes))
    if origin is None:
        raise UsageError("the Origin header is required", param="Origin")
    await run_in_threadpool(ratelimit.count_checkout, request, account_id)
    link = await run_in_threadpool(
        service.create_checkout,
        account_id,
        amount_cents,
        origin=origin,
        request_key=idempotency_key,
    )
    return link.to_json()


async def _webhook(request: Request) -> dict[str, Any]:
    service = _service(request)
    payload = await read_limited(request, service.settings.webhook_max_body_bytes)
    signature = request.headers.get("stripe-signature")
    outcome = await run_in_threadpool(
        ratelimit.unless_forged, request, service.handle_webhook, payload, signature
    )
    return {"received": True, "result": outcome.result, "event_id": outcome.event_id}


router.add_api_route(
    "/webhook",
    _webhook,
    methods=["POST"],
    summary="Stripe webhook (signed with Stripe-Signature)",
    responses={400: {}, 413: {}, 429: {}, 500: {}},
)
router.add_api_route("/webhook/", _webhook, methods=["POST"], include_in_schema=False)


@router.get("/balance", summary="The authenticated user's balance and recent entries")
async def balance(
    request: Request, authorization: str | None = Header(default=None)
) -> dict[str, Any]:
    service = _service(request)
    account_id = await run_in_threadpool(
        ratelimit.authenticated, request, service.authenticate_user, authorization
    )

    def read() -> dict[str, Any]:
        body = service.balance(account_id).to_json()
        body["entries"] = [e.to_json() for e in service.ledger(account_id, limit=RECENT_ENTRIES)]
        return body

    return await run_in_threadpool(read)


@router.get("/presets", summary="Top-up amounts to offer, and the bounds")
async def presets(request: Request) -> dict[str, Any]:
    settings = _service(request).settings
    return {
        "currency": settings.stripe_currency,
        "min_amount_cents": settings.min_amount_cents,
        "max_amount_cents": settings.max_amount_cents,
        "presets": [
            {"amount_cents": cents, "amount": format_cents(cents)}
            for cents in settings.presets_cents
        ],
    }
