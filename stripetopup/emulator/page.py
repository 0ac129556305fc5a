"""The hosted checkout page at ``/c/pay/{cs_id}``: the customer's side of Stripe Checkout.

A plain HTML page showing the amount and product with three buttons (Pay, Pay with a delayed
method, Cancel) that POST back here and redirect (303) to the session's success or cancel URL.
Everything shown is HTML-escaped. Imports the stdlib and starlette.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripetopup.emulator import payments
from stripetopup.emulator.forms import parse_form
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import StripeError

# The buttons' labels, as the demo's banner names them.
PAY = "Pay"
PAY_DELAYED = "Pay with a delayed method"
PAY_DELAYED_HINT = (
    "A delayed method (like a bank debit) completes the checkout unpaid; the payment "
    "succeeds or fails later, through the control API's async_succeed / async_fail."
)
CANCEL = "Cancel"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    ".banner{background:#fff3cd;padding:.5rem;border-radius:4px;font-size:.9rem}"
    "button{display:block;width:100%;margin:.5rem 0;padding:.7rem;font-size:1rem}"
    ".hint{font-size:.85rem;color:#555;margin-top:-.3rem}"
)


def _money(minor: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{minor // 100}.{minor % 100:02d} {currency.upper()}"


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        "<p class='banner'>Offline Stripe emulator: no real payment is made.</p>"
        f"{body}</body></html>"
    )
    return HTMLResponse(page, status)


def _checkout_form(state: EmulatorState, session: Obj) -> str:
    items = state.line_items.get(session["id"], [])
    names = ", ".join(escape(str(item["description"])) for item in items)
    sid = escape(session["id"])
    action = f"/c/pay/{sid}"
    buttons = (
        f"<form method='post' action='{action}/pay'><input type='hidden' name='method' "
        f"value='card'><button type='submit'>{PAY}</button></form>"
        f"<form method='post' action='{action}/pay'><input type='hidden' name='method' "
        f"value='delayed'><button type='submit'>{PAY_DELAYED}</button></form>"
        f"<p class='hint'>{escape(PAY_DELAYED_HINT)}</p>"
        f"<form method='post' action='{action}/cancel'><button type='submit'>{CANCEL}</button>"
        "</form>"
    )
    email = session.get("customer_email")
    who = f"<p>Email: {escape(str(email))}</p>" if email else ""
    amount = escape(_money(session["amount_total"], session["currency"]))
    return f"<h1>{names}</h1><p class='amount'>{amount}</p>{who}{buttons}"


def routes(state: EmulatorState) -> list[Route]:
    def find(request: Request) -> Obj | None:
        return state.sessions.get(request.path_params["id"])

    async def show(request: Request) -> Response:
        with state.lock:
            session = find(request)
            if session is None:
                return _html("Not found", "<h1>This checkout page does not exist.</h1>", 404)
            if session["status"] == "open" and session["expires_at"] <= state.clock.now():
                payments.expire(state, session, payments.CONTROL)
            if session["status"] != "open":
                return _closed(session)
            return _html("Checkout", _checkout_form(state, session))

    async def pay(request: Request) -> Response:
        form = parse_form(await request.body())
        method = str(form.get("method", "card"))
        with state.lock:
            session = find(request)
            if session is None:
                return _html("Not found", "<h1>This checkout page does not exist.</h1>", 404)
            try:
                payments.pay(state, session, method)
            except StripeError:
                return _closed(session, 409)
            target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
        return RedirectResponse(target, 303)

    async def cancel(request: Request) -> Response:
        with state.lock:
            session = find(request)
            if session is None:
                return _html("Not found", "<h1>This checkout page does not exist.</h1>", 404)
            target = session.get("cancel_url")
        if not target:
            return _html("Cancelled", "<h1>Payment cancelled.</h1><p>You can close this page.</p>")
        return RedirectResponse(str(target), 303)

    return [
        Route("/c/pay/{id}", show, methods=["GET"]),
        Route("/c/pay/{id}/pay", pay, methods=["POST"]),
        Route("/c/pay/{id}/cancel", cancel, methods=["POST"]),
    ]


def _closed(session: Obj, status: int = 200) -> HTMLResponse:
    if session["status"] == "expired":
        return _html("Expired", "<h1>This checkout session has expired.</h1>", status)
    return _html("Complete", "<h1>This checkout session is already complete.</h1>", status)
