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

from stripetopup.emulator import checkout_options, payments, sessions
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


def _checkout_form(state: EmulatorState, session: Obj, notice: str = "") -> str:
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
    extras = _summary(session) + _code_form(session, notice)
    return f"<h1>{names}</h1><p class='amount'>{amount}</p>{who}{extras}{buttons}"


def _setup_form(session: Obj) -> str:
    """``mode=setup``: nothing to pay; the buyer saves a test card (Visa 4242)."""
    action = f"/c/pay/{escape(session['id'])}"
    return (
        "<h1>Save a card for later payments</h1>"
        "<p>Visa ending in 4242. Nothing is charged now.</p>"
        f"<form method='post' action='{action}/pay'><input type='hidden' name='method' "
        "value='card'><button type='submit'>Save card</button></form>"
        f"<form method='post' action='{action}/cancel'><button type='submit'>Cancel</button>"
        "</form>"
    )


def _summary(session: Obj) -> str:
    """Subtotal, discount and tax lines, shown only when a discount or tax applies."""
    totals = session["total_details"]
    if not session.get("discounts") and not session["automatic_tax"]["enabled"]:
        return ""
    currency = session["currency"]
    rows = [("Subtotal", session["amount_subtotal"])]
    if totals["amount_discount"]:
        rows.append(("Discount", -totals["amount_discount"]))
    if session["automatic_tax"]["status"] == "complete":
        rows.append(("Tax", totals["amount_tax"]))
    else:
        rows.append(("Tax", None))
    cells = "".join(
        f"<tr><th scope='row'>{label}</th><td>"
        + ("calculated at payment" if value is None else escape(_signed(value, currency)))
        + "</td></tr>"
        for label, value in rows
    )
    return f"<table class='summary'>{cells}</table>"


def _signed(minor: int, currency: str) -> str:
    return ("-" if minor < 0 else "") + _money(abs(minor), currency)


def _code_form(session: Obj, notice: str) -> str:
    if not session.get("allow_promotion_codes"):
        return ""
    message = f"<p class='notice' role='alert'>{escape(notice)}</p>" if notice else ""
    return (
        f"<form method='post' action='/c/pay/{escape(session['id'])}/promotion_code'>"
        "<label for='promotion_code'>Promotion code</label> "
        "<input id='promotion_code' name='promotion_code' autocomplete='off'> "
        f"<button type='submit' class='apply'>Apply</button></form>{message}"
    )


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
            if session["mode"] == "setup":
                return _html("Save a card", _setup_form(session))
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

    async def promotion_code(request: Request) -> Response:
        form = parse_form(await request.body())
        with state.lock:
            session = find(request)
            if session is None:
                return _html("Not found", "<h1>This checkout page does not exist.</h1>", 404)
            try:
                payments.require_open(state, session)
            except StripeError:
                return _closed(session, 409)
            try:
                code = str(form.get("promotion_code", ""))
                minimum = sessions.minimum_amount(session["currency"])
                checkout_options.apply_code(state, session, code, minimum)
            except StripeError as exc:
                return _html("Checkout", _checkout_form(state, session, exc.message), 400)
        return RedirectResponse(f"/c/pay/{session['id']}", 303)

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
        Route("/c/pay/{id}/promotion_code", promotion_code, methods=["POST"]),
    ]


def _closed(session: Obj, status: int = 200) -> HTMLResponse:
    if session["status"] == "expired":
        return _html("Expired", "<h1>This checkout session has expired.</h1>", status)
    return _html("Complete", "<h1>This checkout session is already complete.</h1>", status)
