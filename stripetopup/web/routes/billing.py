"""User-facing billing endpoints: checkout session, webhook, balance, presets.

Plain ``def`` routes (FastAPI runs them in its threadpool, as the core blocks), but the
webhook, which is ``async`` and hands its event to the process's writer
(web.webhook_writer); the bodies are read by async dependencies within their size and
JSON bounds (web.body). May import fastapi, stripetopup.core, stripetopup.errors, money
and web's deps, body, ratelimit, schemas and webhook_writer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from stripetopup.core.checkout.types import CheckoutLinkAnswer
from stripetopup.core.ledger.types import BalanceAnswer, EntryAnswer
from stripetopup.core.recharge.types import ConsentDoor
from stripetopup.errors import UsageError
from stripetopup.money import format_cents
from stripetopup.web import ratelimit
from stripetopup.web.body import json_object, read_limited
from stripetopup.web.deps import Service, User, get_service
from stripetopup.web.schemas import (
    CheckoutRequest,
    Preset,
    Presets,
    UserBalance,
    WebhookReceipt,
    error,
)
from stripetopup.web.webhook_writer import WebhookWriter, deliver

router = APIRouter(prefix="/billing", tags=["billing"])
RECENT_ENTRIES = 10


def single_origin(request: Request) -> str | None:
    """The Origin header; several are refused first: which one would the URLs be built on?"""
    if len(request.headers.getlist("origin")) > 1:
        raise UsageError("send one Origin header, not several", param="Origin")
    return request.headers.get("origin")


async def checkout_body(request: Request) -> CheckoutRequest:
    service = get_service(request)
    body = await json_object(request, service.settings.api_max_body_bytes)
    return CheckoutRequest.model_validate(body)


async def raw_body(request: Request) -> bytes:
    """The webhook's bytes as sent: the signature is over them, so nothing parses them first."""
    return await read_limited(request, get_service(request).settings.webhook_max_body_bytes)


@router.post(
    "/checkout-session",
    summary="Create a Stripe Checkout Session for the authenticated user",
    responses={
        400: error("Invalid amount or body, or a missing or repeated Origin header."),
        401: error("Missing, invalid or revoked user credential."),
        403: error("A service key, or an Origin not in ALLOWED_FRONTEND_ORIGINS."),
        413: error("The body is larger than STRIPETOPUP_API_MAX_BODY_BYTES."),
        429: error("Too many checkouts or failed authentications; see Retry-After."),
        502: error("Stripe could not be reached or refused the session."),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CheckoutRequest.model_json_schema()}},
        }
    },
)
def create_checkout_session(
    request: Request,
    service: Service,
    origin: Annotated[str | None, Depends(single_origin)],
    account_id: User,
    body: Annotated[CheckoutRequest, Depends(checkout_body)],
    idempotency_key: Annotated[str | None, Header()] = None,
) -> CheckoutLinkAnswer:
    amount_cents = body.cents()
    door = ConsentDoor.API if body.saves_card() else None
    if origin is None:
        raise UsageError("the Origin header is required", param="Origin")
    ratelimit.count_checkout(request, account_id)
    link = service.create_checkout(
        account_id, amount_cents, origin=origin, request_key=idempotency_key, save_card=door
    )
    return CheckoutLinkAnswer.of(link)


async def _webhook(
    request: Request,
    payload: Annotated[bytes, Depends(raw_body)],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookReceipt:
    # create_app serves every POST here by web.webhook_door, ahead of FastAPI; this route
    # documents it in /openapi.json, gives other methods their 405, and serves the webhook
    # wherever the router is used without the door, through the same deliver().
    writer: WebhookWriter = request.app.state.webhook_writer
    outcome = await deliver(request, writer, payload, stripe_signature)
    return WebhookReceipt(result=outcome.result, event_id=outcome.event_id)


router.add_api_route(
    "/webhook",
    _webhook,
    methods=["POST"],
    summary="Stripe webhook (signed with Stripe-Signature)",
    responses={
        400: error("Missing or invalid Stripe-Signature, or a stale timestamp: nothing applied."),
        413: error("The body is larger than STRIPETOPUP_WEBHOOK_MAX_BODY_BYTES."),
        429: error("Too many forged signatures from this address; see Retry-After."),
        500: error("Processing failed; the failure is recorded and Stripe retries."),
    },
)
router.add_api_route("/webhook/", _webhook, methods=["POST"], include_in_schema=False)


@router.get(
    "/balance",
    summary="The authenticated user's balance and recent entries",
    responses={
        401: error("Missing, invalid or revoked user credential."),
        403: error("A service key: this endpoint takes user credentials."),
        429: error("Too many failed authentications from this address; see Retry-After."),
    },
)
def balance(service: Service, account_id: User) -> UserBalance:
    balance = BalanceAnswer.of(service.balance(account_id)).model_dump()
    entries = service.ledger(account_id, limit=RECENT_ENTRIES)
    return UserBalance(**balance, entries=[EntryAnswer.of(entry) for entry in entries])


@router.get("/presets", summary="Top-up amounts to offer, and the bounds")
def presets(service: Service) -> Presets:
    settings = service.settings
    return Presets(
        currency=settings.stripe_currency,
        min_amount_cents=settings.min_amount_cents,
        max_amount_cents=settings.max_amount_cents,
        presets=[
            Preset(amount_cents=cents, amount=format_cents(cents))
            for cents in settings.presets_cents
        ],
    )
