"""The ``/_emulator`` control routes: move the clock, pay, refund, dispute, seed, tune delivery.

Plain JSON in and out (not Stripe's shapes); errors are ``{"error": message}`` with 400/404.
This is what tests and the offline demo use to play the customer's and Stripe's part.
Imports the stdlib and starlette.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripetopup.emulator import checkout_options, objects, payment_methods, payments, sessions
from stripetopup.emulator.auth import validate_permissions
from stripetopup.emulator.delivery import DeliveryManager
from stripetopup.emulator.faults import KINDS
from stripetopup.emulator.seed import seed
from stripetopup.emulator.signing import new_secret
from stripetopup.emulator.state import EmulatorState, Fault, Obj, new_id
from stripetopup.emulator.stripe_errors import StripeError

Body = dict[str, Any]
Action = Callable[[Request, Body], Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Control:
    """The control actions bound to one state and its delivery manager."""

    def __init__(self, state: EmulatorState, delivery: DeliveryManager) -> None:
        self.state = state
        self.delivery = delivery

    # -- helpers --------------------------------------------------------------------------
    def _session(self, request: Request) -> Obj:
        return payments.session_or_404(self.state, request.path_params["id"])

    def _get(self, table: str, object_id: str) -> Obj:
        obj: Obj | None = getattr(self.state, table).get(object_id)
        if obj is None:
            raise ControlError(404, f"No such object: {object_id!r}")
        return obj

    # -- actions --------------------------------------------------------------------------
    def reset(self, request: Request, body: Body) -> Any:
        self.delivery.reset()
        self.state.reset()
        return {"ok": True}

    def clock(self, request: Request, body: Body) -> Any:
        if request.method == "POST":
            if "now" in body:
                self.state.clock.set(float(body["now"]))
            elif "advance" in body:
                self.state.clock.advance(float(body["advance"]))
            else:
                raise ControlError(400, "give 'now' (unix seconds) or 'advance' (seconds)")
            expired = payments.sweep_expired(self.state)
            return {"now": self.state.clock.now(), "expired_sessions": expired}
        return {"now": self.state.clock.now()}

    def pay(self, request: Request, body: Body) -> Any:
        session = self._session(request)
        code = body.get("promotion_code")
        if code:
            payments.require_open(self.state, session)
            checkout_options.apply_code(
                self.state, session, str(code), sessions.minimum_amount(session["currency"])
            )
        card = body.get("card")
        method = str(body.get("method", "card"))
        return payments.pay(self.state, session, method, card=None if card is None else str(card))

    def card_decline(self, request: Request, body: Body) -> Any:
        decline = body.get("decline")
        pm_id = request.path_params["id"]
        return payment_methods.set_behavior(
            self.state, pm_id, None if decline is None else str(decline)
        )

    def tax(self, request: Request, body: Body) -> Any:
        if request.method == "POST":
            rate = body.get("rate_bps", self.state.tax_rate_bps)
            behavior = body.get("tax_behavior", self.state.tax_behavior)
            if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= 10_000:
                raise ControlError(400, "'rate_bps' must be an integer from 0 to 10000")
            if behavior not in ("exclusive", "inclusive"):
                raise ControlError(400, "'tax_behavior' must be 'exclusive' or 'inclusive'")
            self.state.tax_rate_bps, self.state.tax_behavior = rate, behavior
        return {"rate_bps": self.state.tax_rate_bps, "tax_behavior": self.state.tax_behavior}

    def async_succeed(self, request: Request, body: Body) -> Any:
        return payments.async_succeed(self.state, self._session(request))

    def async_fail(self, request: Request, body: Body) -> Any:
        return payments.async_fail(self.state, self._session(request))

    def expire(self, request: Request, body: Body) -> Any:
        return payments.expire(self.state, self._session(request), payments.CONTROL)

    def cancel(self, request: Request, body: Body) -> Any:
        session = self._session(request)
        return {"session": session, "redirect": session["cancel_url"]}

    def refund(self, request: Request, body: Body) -> Any:
        target = request.path_params["id"]
        ch = payments.charge_for(self.state, payment_intent=target, charge=None)
        amount = body.get("amount")
        return payments.refund(
            self.state,
            ch,
            None if amount is None else int(amount),
            body.get("reason", "requested_by_customer"),
            payments.CONTROL,
        )

    def refund_status(self, request: Request, body: Body) -> Any:
        re = self._get("refunds", request.path_params["id"])
        return payments.set_refund_status(self.state, re, str(body.get("status")))

    def dispute(self, request: Request, body: Body) -> Any:
        target = request.path_params["id"]
        ch = payments.charge_for(self.state, payment_intent=target, charge=None)
        amount = body.get("amount")
        return payments.dispute(
            self.state,
            ch,
            None if amount is None else int(amount),
            str(body.get("reason", "fraudulent")),
            bool(body.get("withdraw", True)),
        )

    def close_dispute(self, request: Request, body: Body) -> Any:
        du = self._get("disputes", request.path_params["id"])
        return payments.close_dispute(self.state, du, str(body.get("outcome", "")))

    def endpoints(self, request: Request, body: Body) -> Any:
        if request.method == "GET":
            return {"data": [self._endpoint_view(ep) for ep in self.state.endpoints.values()]}
        if not body.get("url"):
            raise ControlError(400, "'url' is required")
        endpoint = objects.webhook_endpoint(
            created=self.state.clock.now(),
            url=str(body["url"]),
            enabled_events=list(body.get("enabled_events") or ["*"]),
        )
        self.state.endpoints[endpoint["id"]] = endpoint
        self.state.endpoint_secrets[endpoint["id"]] = list(body.get("secrets") or [new_secret()])
        return self._endpoint_view(endpoint)

    def endpoint(self, request: Request, body: Body) -> Any:
        endpoint = self._get("endpoints", request.path_params["id"])
        if request.method == "DELETE":
            del self.state.endpoints[endpoint["id"]]
            self.state.endpoint_secrets.pop(endpoint["id"], None)
            return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
        if request.method in ("POST", "PATCH"):
            if body.get("secrets"):
                self.state.endpoint_secrets[endpoint["id"]] = [str(s) for s in body["secrets"]]
            if body.get("enabled_events"):
                endpoint["enabled_events"] = list(body["enabled_events"])
            if body.get("url"):
                endpoint["url"] = str(body["url"])
            if "disabled" in body:
                endpoint["status"] = "disabled" if body["disabled"] else "enabled"
        return self._endpoint_view(endpoint)

    def _endpoint_view(self, endpoint: Obj) -> Obj:
        return {**endpoint, "secrets": list(self.state.endpoint_secrets[endpoint["id"]])}

    def deliveries(self, request: Request, body: Body) -> Any:
        q = request.query_params
        rows = self.delivery.deliveries(
            event_id=q.get("event_id"), endpoint_id=q.get("endpoint_id"), event_type=q.get("type")
        )
        return {"data": rows}

    def resend(self, request: Request, body: Body) -> Any:
        event = self._get("events", request.path_params["id"])
        wanted = body.get("endpoint_id")
        if wanted:
            self._get("endpoints", str(wanted))
            targets = [str(wanted)]
        else:
            targets = [ep["id"] for ep in self.state.matching_endpoints(event["type"])]
        pairs = [(event["id"], endpoint_id) for endpoint_id in targets]
        return {"queued": self.delivery.enqueue(pairs, duplicates=False)}

    def delivery_settings(self, request: Request, body: Body) -> Any:
        if request.method == "POST":
            try:
                self.delivery.settings.update(body)
            except (TypeError, ValueError) as exc:
                raise ControlError(400, str(exc)) from None
        return self.delivery.settings_dict()

    def faults(self, request: Request, body: Body) -> Any:
        if request.method == "DELETE":
            self.state.faults = []
        elif request.method == "POST":
            kind = str(body.get("kind", ""))
            if kind not in KINDS or not str(body.get("path", "")).startswith("/"):
                raise ControlError(400, f"need 'path' (/v1/...) and 'kind' in {list(KINDS)}")
            self.state.faults.append(
                Fault(
                    path=str(body["path"]),
                    kind=kind,
                    count=int(body.get("count", 1)),
                    method=body.get("method"),
                    hang_seconds=float(body.get("hang_seconds", 5.0)),
                )
            )
        return {"faults": [vars(f) for f in self.state.faults]}

    def restricted_key(self, request: Request, body: Body) -> Any:
        try:
            permissions = validate_permissions(body.get("permissions"))
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        key = new_id("rk_test", 32)
        self.state.restricted_keys[key] = permissions
        return {"key": key, "permissions": permissions}

    def seed(self, request: Request, body: Body) -> Any:
        try:
            return seed(self.state, body, str(request.base_url).rstrip("/"))
        except (TypeError, ValueError, KeyError) as exc:
            raise ControlError(400, f"bad seed request: {exc}") from None


def _wrap(control: Control, action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ControlError(400, "the body must be a JSON object")
            with control.state.lock:
                result = action(request, body)
            return JSONResponse(result)
        except json.JSONDecodeError:
            return JSONResponse({"error": "the body must be JSON"}, 400)
        except ControlError as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        except StripeError as exc:
            return JSONResponse({"error": exc.message}, exc.status)

    return run


def _wait(control: Control) -> Callable[[Request], Awaitable[Response]]:
    """``wait`` blocks, so it runs in a thread and outside the state lock."""

    async def run(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        raw = await request.body()
        body = json.loads(raw) if raw.strip() else {}
        timeout = float(body.get("timeout", request.query_params.get("timeout", 10)))
        return JSONResponse(await run_in_threadpool(control.delivery.wait_idle, timeout))

    return run


def routes(state: EmulatorState, delivery: DeliveryManager) -> list[Route]:
    c = Control(state, delivery)
    p = "/_emulator"
    cs = f"{p}/checkout/sessions/{{id}}"
    table: list[tuple[str, Action, list[str]]] = [
        (f"{p}/reset", c.reset, ["POST"]),
        (f"{p}/clock", c.clock, ["GET", "POST"]),
        (f"{cs}/pay", c.pay, ["POST"]),
        (f"{cs}/async_succeed", c.async_succeed, ["POST"]),
        (f"{cs}/async_fail", c.async_fail, ["POST"]),
        (f"{cs}/expire", c.expire, ["POST"]),
        (f"{cs}/cancel", c.cancel, ["POST"]),
        (f"{cs}/refund", c.refund, ["POST"]),
        (f"{cs}/dispute", c.dispute, ["POST"]),
        (f"{p}/payment_intents/{{id}}/refund", c.refund, ["POST"]),
        (f"{p}/payment_intents/{{id}}/dispute", c.dispute, ["POST"]),
        (f"{p}/refunds/{{id}}/status", c.refund_status, ["POST"]),
        (f"{p}/disputes/{{id}}/close", c.close_dispute, ["POST"]),
        (f"{p}/webhook_endpoints", c.endpoints, ["GET", "POST"]),
        (f"{p}/webhook_endpoints/{{id}}", c.endpoint, ["GET", "POST", "PATCH", "DELETE"]),
        (f"{p}/deliveries", c.deliveries, ["GET"]),
        (f"{p}/events/{{id}}/resend", c.resend, ["POST"]),
        (f"{p}/delivery", c.delivery_settings, ["GET", "POST"]),
        (f"{p}/faults", c.faults, ["GET", "POST", "DELETE"]),
        (f"{p}/restricted_keys", c.restricted_key, ["POST"]),
        (f"{p}/seed", c.seed, ["POST"]),
        (f"{p}/tax", c.tax, ["GET", "POST"]),
        (f"{p}/payment_methods/{{id}}/decline", c.card_decline, ["POST"]),
    ]
    out = [Route(path, _wrap(c, action), methods=methods) for path, action, methods in table]
    out.append(Route(f"{p}/wait", _wait(c), methods=["GET", "POST"]))
    return out
