"""The hosted top-up page (``/billing/topup``) and the session status endpoint.

Server-rendered HTML (Jinja2, autoescaped, no script, one stylesheet served from here),
mounted when ``STRIPETOPUP_TOPUP_PAGE`` is on. Every page is opened by a signed link
(core.checkout.topup_links), verified before anything else (its length first, so an
oversized link gets the same refusal page as any other) and counted under the
failed-authentication limit when refused; the form's POST carries the page link, which is
its CSRF protection (a forger cannot sign one). The form body is read within
``STRIPETOPUP_API_MAX_BODY_BYTES`` and parsed as ``application/x-www-form-urlencoded``
with a bounded number of fields, each bounded in length. The status endpoint
(``GET /billing/checkout-sessions/{id}``, JSON) takes a landing link or a user credential
and is always mounted. Plain ``def`` routes: the core blocks. May import fastapi, jinja2,
stripetopup.core, config, errors, money, redact and web's deps, body, errors, ratelimit and schemas.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from stripetopup.config import Settings
from stripetopup.core.checkout.types import Landing, LandingAnswer, LandingState, TopUpPage
from stripetopup.core.recharge import consent
from stripetopup.errors import (
    AuthError,
    LinkExpired,
    LinkRefused,
    LinkTampered,
    LinkWrongAccount,
    NotFound,
    RateLimited,
    StripeTopupError,
    UsageError,
)
from stripetopup.money import format_cents, format_money, parse_dollars
from stripetopup.redact import redact
from stripetopup.web import ratelimit
from stripetopup.web.body import read_limited
from stripetopup.web.deps import Service, get_service, user_credential
from stripetopup.web.errors import status_for
from stripetopup.web.schemas import error

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parents[1]
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 8
FIELD_LIMITS = {"t": 600, "amount": 16, "custom_amount": 32, "save_card": 3}
SAVE_CARD_TICKED = "yes"  # the consent checkbox's value; unticked, the field is absent
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"

router = APIRouter(prefix="/billing/topup", include_in_schema=False)
status_router = APIRouter(prefix="/billing", tags=["billing"])


@functools.cache
def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def security_headers(service_settings: Settings) -> dict[str, str]:
    """No external source at all; the form may post here and be redirected to Checkout
    (Chrome applies form-action to the redirect after the POST)."""
    base = service_settings.stripe_api_base
    checkout = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}" if base else None
    return {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action 'self' {checkout or STRIPE_CHECKOUT_ORIGIN}"
        ),
        # The links carry signed tokens: never hand them to another site, never cache them.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def render(service: Service, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    page = templates().get_template(template)
    html = page.render(product_name=service.settings.product_name, **values)
    return HTMLResponse(html, status_code=status, headers=security_headers(service.settings))


_REFUSED_HEADINGS: tuple[tuple[type[StripeTopupError], str], ...] = (
    (LinkExpired, "This link has expired"),
    (LinkWrongAccount, "This link is for another account"),
    (LinkRefused, "This link is not valid"),
    (AuthError, "This link is not valid"),
    (UsageError, "This request is not valid"),
    (StripeTopupError, "Something went wrong"),
)


def refused(service: Service, exc: StripeTopupError) -> HTMLResponse:
    """A page saying plainly why, with the status the JSON door would answer (our side's
    failures logged as that door logs them, and never shown to the buyer)."""
    heading = next(text for cls, text in _REFUSED_HEADINGS if isinstance(exc, cls))
    status = status_for(exc)
    reason = exc.message
    if status >= 500:
        log.warning("%d on the top-up page (%s): %s", status, exc.code, redact(exc.message))
        reason = "this page could not be served just now; please try again in a moment"
    page = render(service, "refused.html", status, heading=heading, reason=sentence(reason))
    if isinstance(exc, RateLimited):
        page.headers["Retry-After"] = str(exc.retry_after_seconds)
    return page


def sentence(message: str) -> str:
    """A message as a sentence for the buyer: a capital first, a full stop last."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


@functools.cache
def _stylesheet() -> str:
    return (HERE / "static" / "topup.css").read_text(encoding="utf-8")


@router.get("/static/topup.css")
def stylesheet() -> Response:
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_stylesheet(), media_type="text/css", headers=headers)


@dataclass(frozen=True)
class TopUpForm:
    t: str | None
    amount: str | None
    custom_amount: str
    problem: UsageError | None = None  # a form we cannot read: answered with a page
    save_card: bool = False  # the buyer ticked the consent to save the card


async def topup_form(request: Request) -> TopUpForm:
    """The form's fields within bounds, or what is wrong with it (413 stays the limit's)."""
    try:
        return await _read_form(request)
    except UsageError as exc:
        return TopUpForm(None, None, "", problem=exc)


async def _read_form(request: Request) -> TopUpForm:
    service = get_service(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise UsageError(f"the form must be sent as {FORM_TYPE}", param="Content-Type")
    raw = await read_limited(request, service.settings.api_max_body_bytes)
    try:
        fields = parse_qs(
            raw.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise UsageError("the form is not valid") from None
    for name, values in fields.items():
        limit = FIELD_LIMITS.get(name)
        if limit is None or len(values) != 1 or len(values[0]) > limit:
            raise UsageError("the form is not valid", param=name[:32])
    first = {name: values[0] for name, values in fields.items()}
    save = first.get("save_card")
    if save not in (None, SAVE_CARD_TICKED):
        raise UsageError("the form is not valid", param="save_card")
    return TopUpForm(
        first.get("t"),
        first.get("amount"),
        first.get("custom_amount", ""),
        save_card=save == SAVE_CARD_TICKED,
    )


def _show(service: Service, page: TopUpPage, status: int = 200, **values: Any) -> HTMLResponse:
    presets = [
        {"value": format_cents(cents), "label": format_money(cents, page.currency)}
        for cents in page.presets_cents
    ]
    return render(
        service,
        "topup.html",
        status,
        balance=format_money(page.balance_cents, page.currency),
        currency=page.currency.upper(),
        presets=presets,
        minimum=format_cents(page.min_amount_cents),
        maximum=format_cents(page.max_amount_cents),
        token=page.token,
        chosen=values.pop("chosen", None),
        custom_amount=values.pop("custom_amount", ""),
        save_card=values.pop("save_card", False),
        consent_text=consent.CONSENT_TEXT,
        **values,
    )


@router.get("", response_class=HTMLResponse)
def topup_page(request: Request, service: Service, t: str | None = None) -> HTMLResponse:
    try:
        page = ratelimit.authenticated(request, service.topup_page, t)
    except StripeTopupError as exc:
        return refused(service, exc)
    return _show(service, page)


@router.post("", response_class=HTMLResponse)
def start_topup(
    request: Request, service: Service, form: Annotated[TopUpForm, Depends(topup_form)]
) -> Response:
    if form.problem is not None:
        return refused(service, form.problem)
    try:
        page = ratelimit.authenticated(request, service.topup_page, form.t)
    except StripeTopupError as exc:
        return refused(service, exc)
    again = {
        "chosen": form.amount,
        "custom_amount": form.custom_amount,
        "save_card": form.save_card,
    }
    try:
        cents = _amount(form)
        ratelimit.count_checkout(request, page.account_id)
        link = service.checkout_from_page(page.token, cents, save_card=form.save_card)
    except UsageError as exc:  # a bad amount: the same page, saying what is wrong
        return _show(service, page, 400, error=sentence(exc.message), **again)
    except StripeTopupError as exc:
        return refused(service, exc)
    return RedirectResponse(link.url, status_code=303, headers=security_headers(service.settings))


def _amount(form: TopUpForm) -> int:
    typed = form.custom_amount.strip()
    if not form.amount and not typed:
        raise UsageError("choose an amount to top up", param="amount")
    # An amount typed with no choice made (no script to select "Other amount") is meant.
    if form.amount == "custom" or not form.amount:
        if not typed:
            raise UsageError("enter the other amount, e.g. 12.50", param="custom_amount")
        return parse_dollars(typed, param="custom_amount")
    return parse_dollars(form.amount, param="amount")


_HEADINGS = {
    LandingState.CREDITED: "Payment received",
    LandingState.CREDITING: "Payment received",
    LandingState.PENDING: "Payment pending",
    LandingState.NEEDS_OPERATOR: "Payment received, not credited yet",
    LandingState.DISMISSED: "Payment received, not credited",
    LandingState.NOT_PAID: "Not paid",
    LandingState.UNKNOWN: "Payment status unknown",
}


def describe(landing: Landing) -> str:
    """One plain sentence for the buyer about where the payment stands."""
    amount = format_money(landing.amount_cents, landing.currency, unknown="the amount")
    credited = format_money(landing.credited_cents, landing.currency, unknown="it")
    messages = {
        LandingState.CREDITED: f"Thank you: {credited} was added to your balance.",
        LandingState.CREDITING: f"{amount} was paid. Your balance goes up in a moment; "
        "check again shortly.",
        LandingState.PENDING: f"Your payment of {amount} is not paid yet: it uses a delayed "
        "method (such as a bank debit). Your balance will go up when it succeeds, and "
        "nothing is added if it fails.",
        LandingState.NEEDS_OPERATOR: f"{amount} was paid, but it needs a check by our team "
        "before it is added to your balance.",
        LandingState.DISMISSED: f"{amount} was paid, but nothing was added to your balance. "
        "Please contact support.",
        LandingState.NOT_PAID: "This checkout was not paid; nothing was charged.",
        LandingState.UNKNOWN: "We cannot tell the state of this payment right now. Nothing "
        "on this page means it was paid; check again shortly.",
    }
    return messages[landing.state]


@router.get("/success", response_class=HTMLResponse)
def success(
    request: Request,
    service: Service,
    session_id: str = "",
    t: str | None = None,
) -> HTMLResponse:
    try:
        link = ratelimit.authenticated(request, service.verify_landing, t)
        landing = service.landing(session_id, account_id=link.account_id)
    except NotFound:  # not a session of the link's account (or not one at all)
        wrong = LinkWrongAccount("this link belongs to another account than that payment")
        return refused(service, wrong)
    except StripeTopupError as exc:
        return refused(service, exc)
    credited = landing.state is LandingState.CREDITED
    return render(
        service,
        "success.html",
        heading=_HEADINGS[landing.state],
        state=landing.state.value,
        message=describe(landing),
        credited=format_money(landing.credited_cents, landing.currency) if credited else None,
        balance=(
            format_money(landing.balance_cents, landing.currency)
            if landing.balance_cents is not None
            else None
        ),
        receipt_url=landing.receipt_url,
        reload=landing.state
        in (LandingState.CREDITING, LandingState.PENDING, LandingState.UNKNOWN),
    )


@router.get("/cancel", response_class=HTMLResponse)
def cancel(request: Request, service: Service, t: str | None = None) -> HTMLResponse:
    try:
        link = ratelimit.authenticated(request, service.verify_landing, t)
    except StripeTopupError as exc:
        return refused(service, exc)
    return render(service, "cancel.html", try_again=link.try_again_url)


@status_router.get(
    "/checkout-sessions/{checkout_session_id}",
    summary="A Checkout Session's state, fulfilling it first if Stripe says it is paid",
    description="Authorised by the landing link (`?t=`, from the hosted page's return "
    "URLs) or a user credential; a session of another account is 404. A paid session is "
    "credited here through the same exactly-once path as the webhook.",
    responses={
        401: error("No landing link and no valid user credential."),
        403: error("An invalid landing link, or a service key."),
        404: error("No such session for this account."),
        410: error("The landing link has expired."),
        429: error("Too many failed authentications from this address; see Retry-After."),
    },
)
def checkout_session_status(
    request: Request,
    service: Service,
    authorization: Annotated[str | None, Depends(user_credential)],
    checkout_session_id: Annotated[str, PathParam(max_length=255)],
    t: Annotated[str | None, Query(max_length=600, description="A landing link.")] = None,
) -> LandingAnswer:
    if t is not None:
        if not service.settings.topup_page:
            raise LinkTampered("landing links are not in use on this server")
        account_id = ratelimit.authenticated(request, service.verify_landing, t).account_id
    else:
        account_id = ratelimit.authenticated(request, service.authenticate_user, authorization)
    return LandingAnswer.of(service.landing(checkout_session_id, account_id=account_id))
