"""The ``/v1`` routes: Stripe's wire format for the calls stripetopup makes.

Each route is a small handler over ``EmulatorState``; ``endpoint()`` wraps it with what every
Stripe request gets: injected faults, API-key checks, restricted-key permissions, form parsing,
idempotency replay and Stripe's error shape. Imports the stdlib and starlette.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stripetopup.emulator import buyer_routes, payments
from stripetopup.emulator.auth import api_key, check_permission
from stripetopup.emulator.calls import Call, Handler
from stripetopup.emulator.calls import only as _only
from stripetopup.emulator.faults import LostAnswer, apply_faults
from stripetopup.emulator.forms import parse_form
from stripetopup.emulator.idempotency import lookup as idempotent_lookup
from stripetopup.emulator.idempotency import remember as idempotent_remember
from stripetopup.emulator.listing import expand, expand_params, page, parse_int
from stripetopup.emulator.sessions import create_session
from stripetopup.emulator.setup_mode import create_setup_session
from stripetopup.emulator.state import EmulatorState, Obj, SortedIndex
from stripetopup.emulator.stripe_errors import StripeError, no_such, unrecognized_url

_LIST = {"limit", "starting_after", "ending_before", "created", "expand"}


# -- checkout sessions ------------------------------------------------------------------
def create_checkout_session(call: Call) -> Obj:
    if call.params.get("mode") == "setup":
        session = create_setup_session(call.state, call.params, call.base_url)
    else:
        session = create_session(call.state, call.params, call.base_url)
    return expand(call.state, session, expand_params(call.params))


def retrieve_checkout_session(call: Call) -> Obj:
    _only(call.params, {"expand"})
    session = payments.session_or_404(call.state, call.path["id"])
    return expand(call.state, session, expand_params(call.params))


def list_checkout_sessions(call: Call) -> Obj:
    params = call.params
    _only(params, _LIST | {"status", "payment_intent", "customer", "customer_details"})
    state = call.state
    keep: Callable[[Obj], bool] | None = None
    status = params.get("status")
    if status and status not in ("open", "complete", "expired"):
        raise StripeError(
            400,
            f"Invalid status: must be one of open, complete, or expired ({status})",
            param="status",
        )
    if params.get("payment_intent"):
        wanted = state.session_by_pi.get(str(params["payment_intent"]))
        keep = lambda s: s["id"] == wanted  # noqa: E731
        if status:
            keep = lambda s: s["id"] == wanted and s["status"] == status  # noqa: E731
    elif status:
        keep = lambda s: s["status"] == status  # noqa: E731
    return page(
        state,
        state.session_index,
        state.sessions,
        params,
        url="/v1/checkout/sessions",
        object_name="checkout.session",
        keep=keep,
    )


def expire_checkout_session(call: Call) -> Obj:
    _only(call.params, {"expand"})
    session = payments.session_or_404(call.state, call.path["id"])
    payments.expire(call.state, session, call.origin)
    return expand(call.state, session, expand_params(call.params))


def list_line_items(call: Call) -> Obj:
    _only(call.params, _LIST - {"created"})
    session = payments.session_or_404(call.state, call.path["id"])
    items = call.state.line_items.get(session["id"], [])
    index = SortedIndex()
    index.add_many([(item["id"], -i) for i, item in enumerate(items)])
    table = {item["id"]: item for item in items}
    url = f"/v1/checkout/sessions/{session['id']}/line_items"
    return page(call.state, index, table, call.params, url=url, object_name="item")


# -- payments ---------------------------------------------------------------------------
def _retriever(table: str, object_name: str) -> Handler:
    def handler(call: Call) -> Obj:
        _only(call.params, {"expand"})
        obj: Obj | None = getattr(call.state, table).get(call.path["id"])
        if obj is None:
            raise no_such(object_name, call.path["id"])
        return expand(call.state, obj, expand_params(call.params))

    return handler


def create_refund(call: Call) -> Obj:
    params = call.params
    _only(
        params,
        {
            "payment_intent",
            "charge",
            "amount",
            "reason",
            "metadata",
            "expand",
            "instructions_email",
        },
    )
    state = call.state
    ch = payments.charge_for(
        state, payment_intent=params.get("payment_intent"), charge=params.get("charge")
    )
    amount = parse_int(params, "amount", params["amount"]) if "amount" in params else None
    reason = params.get("reason") or None
    if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
        raise StripeError(
            400,
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    re = payments.refund(state, ch, amount, reason, call.origin)
    if isinstance(params.get("metadata"), dict):
        re["metadata"] = dict(params["metadata"])
    return expand(state, re, expand_params(params))


def _by_payment(table: str, index: str, url: str, object_name: str) -> Handler:
    def handler(call: Call) -> Obj:
        params = call.params
        _only(params, _LIST | {"payment_intent", "charge"})
        pi, ch = params.get("payment_intent"), params.get("charge")

        def keep(obj: Obj) -> bool:
            return (not pi or obj["payment_intent"] == pi) and (not ch or obj["charge"] == ch)

        state = call.state
        return page(
            state,
            getattr(state, index),
            getattr(state, table),
            params,
            url=url,
            object_name=object_name,
            keep=keep if (pi or ch) else None,
        )

    return handler


# -- events and endpoints ---------------------------------------------------------------
def retrieve_event(call: Call) -> Obj:
    _only(call.params, {"expand"})
    event = call.state.events.get(call.path["id"])
    if event is None or event["created"] < call.state.visible_event_floor():
        raise no_such("event", call.path["id"])
    return event


def list_events(call: Call) -> Obj:
    params = call.params
    _only(params, _LIST | {"type", "types", "delivery_success"})
    if params.get("type") and params.get("types"):
        raise StripeError(400, "You may only specify one of these parameters: type, types.")
    keep: Callable[[Obj], bool] | None = None
    if params.get("type"):
        wanted = str(params["type"])
        if wanted.endswith("*"):
            prefix = wanted[:-1]
            keep = lambda e: e["type"].startswith(prefix)  # noqa: E731
        else:
            keep = lambda e: e["type"] == wanted  # noqa: E731
    elif params.get("types"):
        raw = params["types"]
        types = set(raw.values() if isinstance(raw, dict) else raw)
        keep = lambda e: e["type"] in types  # noqa: E731
    state = call.state
    return page(
        state,
        state.event_index,
        state.events,
        params,
        url="/v1/events",
        object_name="event",
        keep=keep,
        floor=state.visible_event_floor(),
    )


def list_webhook_endpoints(call: Call) -> Obj:
    _only(call.params, _LIST - {"created"})
    state = call.state
    index = SortedIndex()
    index.add_many([(ep["id"], ep["created"]) for ep in state.endpoints.values()])
    return page(
        state,
        index,
        state.endpoints,
        call.params,
        url="/v1/webhook_endpoints",
        object_name="webhook_endpoint",
    )


ROUTES: list[tuple[str, str, str, str, Handler]] = [
    ("POST", "/v1/checkout/sessions", "checkout_sessions", "write", create_checkout_session),
    ("GET", "/v1/checkout/sessions", "checkout_sessions", "read", list_checkout_sessions),
    ("GET", "/v1/checkout/sessions/{id}", "checkout_sessions", "read", retrieve_checkout_session),
    (
        "POST",
        "/v1/checkout/sessions/{id}/expire",
        "checkout_sessions",
        "write",
        expire_checkout_session,
    ),
    ("GET", "/v1/checkout/sessions/{id}/line_items", "checkout_sessions", "read", list_line_items),
    (
        "GET",
        "/v1/payment_intents/{id}",
        "payment_intents",
        "read",
        _retriever("payment_intents", "payment_intent"),
    ),
    ("GET", "/v1/charges/{id}", "charges", "read", _retriever("charges", "charge")),
    ("POST", "/v1/refunds", "refunds", "write", create_refund),
    (
        "GET",
        "/v1/refunds",
        "refunds",
        "read",
        _by_payment("refunds", "refund_index", "/v1/refunds", "refund"),
    ),
    ("GET", "/v1/refunds/{id}", "refunds", "read", _retriever("refunds", "refund")),
    (
        "GET",
        "/v1/disputes",
        "disputes",
        "read",
        _by_payment("disputes", "dispute_index", "/v1/disputes", "dispute"),
    ),
    ("GET", "/v1/disputes/{id}", "disputes", "read", _retriever("disputes", "dispute")),
    ("GET", "/v1/events", "events", "read", list_events),
    ("GET", "/v1/events/{id}", "events", "read", retrieve_event),
    ("GET", "/v1/webhook_endpoints", "webhook_endpoints", "read", list_webhook_endpoints),
    (
        "GET",
        "/v1/webhook_endpoints/{id}",
        "webhook_endpoints",
        "read",
        _retriever("endpoints", "webhook_endpoint"),
    ),
]


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _headers(request_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Request-Id": request_id, "Stripe-Version": "2026-10-28.endive", **(extra or {})}


def stripe_response(
    body: bytes, status: int, request_id: str, extra: dict[str, str] | None = None
) -> Response:
    headers = _headers(request_id, extra)
    return Response(body, status, headers=headers, media_type="application/json")


def error_response(exc: StripeError, request_id: str) -> Response:
    return stripe_response(dumps(exc.body()), exc.status, request_id, exc.headers)


def endpoint(state: EmulatorState, resource: str, level: str, handler: Handler) -> Any:
    """Wrap ``handler`` with faults, auth, permissions, parsing and idempotency."""

    async def run(request: Request) -> Response:
        request_id: str = request.scope["emulator.request_id"]
        try:
            lose_answer = await apply_faults(state, request)
            key = api_key(request.headers.get("authorization"))
            with state.lock:
                check_permission(state, key, resource, level)
            body = await request.body() if request.method == "POST" else b""
            params = parse_form(request.url.query)
            params.update(parse_form(body))
            idem = request.headers.get("idempotency-key") if request.method == "POST" else None
            base_url = str(request.base_url).rstrip("/")
            call = Call(
                state,
                params,
                dict(request.path_params),
                payments.Origin(request_id, idem),
                base_url,
            )
            with state.lock:
                if idem:
                    cached = idempotent_lookup(
                        state, key, idem, request.method, request.url.path, body
                    )
                    if cached is not None:
                        return stripe_response(
                            cached.body,
                            cached.status,
                            cached.request_id,
                            {"Idempotent-Replayed": "true"},
                        )
                try:
                    payload = dumps(handler(call))
                except StripeError as exc:
                    if idem and exc.idempotent:
                        _remember_error(state, key, idem, request, body, exc, request_id)
                    raise
                if idem:
                    idempotent_remember(
                        state,
                        key,
                        idem,
                        request.method,
                        request.url.path,
                        body,
                        payload,
                        request_id,
                    )
            if lose_answer:
                return LostAnswer(payload, 200, _headers(request_id), "application/json")
            return stripe_response(payload, 200, request_id)
        except StripeError as exc:
            return error_response(exc, request_id)

    return run


def _remember_error(
    state: EmulatorState,
    key: str,
    idem: str,
    request: Request,
    body: bytes,
    exc: StripeError,
    request_id: str,
) -> None:
    """A request that was carried out and then declined replays its error, as on Stripe."""
    payload = dumps(exc.body())
    path = request.url.path
    idempotent_remember(
        state, key, idem, request.method, path, body, payload, request_id, exc.status
    )


def unknown_route(state: EmulatorState) -> Any:
    async def run(request: Request) -> Response:
        request_id: str = request.scope["emulator.request_id"]
        try:
            await apply_faults(state, request)
            api_key(request.headers.get("authorization"))
            raise unrecognized_url(request.method, request.url.path)
        except StripeError as exc:
            return error_response(exc, request_id)

    return run


def routes(state: EmulatorState) -> list[Route]:
    out = [
        Route(path, endpoint(state, resource, level, handler), methods=[method])
        for method, path, resource, level, handler in ROUTES + buyer_routes.ROUTES
    ]
    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    out.append(Route("/v1/{rest:path}", unknown_route(state), methods=methods))
    return out
