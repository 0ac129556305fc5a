"""The two pages the offline demo returns to after the hosted checkout (success, cancel).

A real deployment's frontend owns these URLs; the demo has no frontend, so the app serves
plain stand-ins. Only mounted by ``serve --emulator``. The success page fulfils the session
as the hosted page's does (:meth:`TopUpService.landing`: a paid session is credited there and
then, through the webhook's exactly-once credit) and says only what is true right now:
credited (the amount the ledger credited, by the credit rule, never ``amount_total``),
crediting, pending, held for an operator, dismissed, not paid or unknown, for the session's
own account.
"""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from stripetopup.core.checkout.types import Landing, LandingState
from stripetopup.money import format_money
from stripetopup.web.deps import Service

router = APIRouter(prefix="/billing", include_in_schema=False)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{body}</p></body></html>"""

_TITLES = {
    LandingState.CREDITED: "Payment received",
    LandingState.CREDITING: "Payment received",
    LandingState.PENDING: "Payment pending",
    LandingState.NEEDS_OPERATOR: "Payment received, not credited yet",
    LandingState.DISMISSED: "Payment received, not credited",
    LandingState.NOT_PAID: "Not paid",
    LandingState.UNKNOWN: "Payment status unknown",
}


# A plain ``def``: answering may ask Stripe, which blocks, so FastAPI runs it in a thread.
@router.get("/success", response_class=HTMLResponse)
def success(service: Service, session_id: str = "") -> str:
    landing = service.landing(session_id)
    body = _describe(landing, emulator_url=service.settings.stripe_api_base)
    return _PAGE.format(title=_TITLES[landing.state], body=body)


@router.get("/cancel", response_class=HTMLResponse)
async def cancel() -> str:
    return _PAGE.format(title="Payment cancelled", body="Nothing was charged.")


def _describe(landing: Landing, *, emulator_url: str | None) -> str:
    session = f"<code>{html.escape(landing.checkout_session_id)}</code>"
    account = f"<code>{html.escape(landing.account_id or '(none)')}</code>"
    amount = format_money(landing.amount_cents, landing.currency, unknown="the amount")
    state = landing.state
    if state is LandingState.CREDITED:
        credited = format_money(landing.credited_cents, landing.currency, unknown="the amount")
        balance = format_money(landing.balance_cents, landing.currency, unknown="the amount")
        # With tax or a discount, what was paid is not what was credited: say both.
        paid = amount if landing.credited_cents != landing.amount_cents else None
        was = f"{paid} was paid; {credited} was" if paid else f"{credited} was paid and"
        return f"{was} credited to account {account}; its balance is {balance}."
    if state is LandingState.CREDITING:
        return (
            f"{amount} was paid. Crediting account {account} could not be done just now: the "
            "balance goes up when Stripe's signed webhook arrives. Reload to check."
        )
    if state is LandingState.PENDING:
        settle = ""
        if emulator_url:
            base = f"{emulator_url}/_emulator/checkout/sessions/{landing.checkout_session_id}"
            settle = (
                " In this demo, settle it with <code>curl -s -X POST "
                f"{html.escape(base)}/async_succeed</code> (or <code>async_fail</code>)."
            )
        return (
            f"The payment of {amount} for account {account} uses a delayed method (such as "
            "a bank debit) and is not paid yet. The account is credited when it succeeds, "
            f"and not at all if it fails.{settle}"
        )
    if state is LandingState.NEEDS_OPERATOR:
        return (
            f"{amount} was paid, but Checkout Session {session} is held for an operator "
            "and has not been credited (<code>stripetopup payments --attention</code>)."
        )
    if state is LandingState.DISMISSED:
        return f"{amount} was paid; an operator dismissed it, so nothing is credited for it."
    if state is LandingState.NOT_PAID:
        return f"Checkout Session {session} was not paid; nothing was credited."
    return (
        f"The state of Checkout Session {session} is not known here (not a session of this "
        "app, or Stripe could not be asked). Nothing on this page means it was paid."
    )
