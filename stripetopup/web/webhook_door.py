"""``POST /billing/webhook`` served as plain ASGI, in front of FastAPI's stack.

The webhook is the one route that runs at Stripe's rate, and what it does itself (verify,
parse, hand to the writer: web.webhook_writer) costs less than the layers around every
other route: the middleware chain, FastAPI's routing, its dependency solving and its
response model took more CPU per delivery than the signature, the parse and the pre-built
credit together (bench/webhook.py). So the door takes the webhook's requests before any
of them and does for itself exactly what they do for it, with the same helpers:

- the request id: chosen, bound for logging and stamped on the answer (web.request_ids);
- the body limit, ``STRIPETOPUP_WEBHOOK_MAX_BODY_BYTES``: declared or streamed, 413 in the
  error shape (web.limits);
- the client address behind trusted proxies, which the forged-signature limit counts
  (web.ratelimit);
- every error answered by the app's own translation (web.errors), and the receipt in its
  documented schema (web.schemas.WebhookReceipt).

web.app puts it in front of the app's whole middleware stack, FastAPI's own outermost
wrappers included (its server-error catch, its telemetry wrapper, its body-size guard):
only FastAPI's and Starlette's ``__call__`` run before it (FastAPI asks there whether
OpenTelemetry is on; Starlette sets ``scope["app"]``). CORS is left out on purpose:
Stripe calls server to server, and a browser cannot sign a delivery. The FastAPI route
(web.routes.billing) stays: it documents the webhook in ``/openapi.json`` and answers
the other methods (405).
Imports starlette's Request and the web room's request ids, limits, errors, rate limit
hook, schemas and writer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from stripetopup.logs import bind_request_id
from stripetopup.web import errors, limits, ratelimit
from stripetopup.web.request_ids import adopt_request_id, stamping
from stripetopup.web.schemas import WebhookReceipt
from stripetopup.web.webhook_writer import WebhookWriter, deliver

SIGNATURE_HEADER = b"stripe-signature"
_JSON = (b"content-type", b"application/json")


def takes(scope: Scope) -> bool:
    """True for a webhook delivery: an HTTP ``POST`` to the webhook's path."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):  # mounted under a prefix: routes match without it
        path = path[len(root) :]
    return path in limits.WEBHOOK_PATHS


class WebhookDoor:
    """A plain ASGI middleware in front of the app's stack: :func:`takes`'s requests are
    served here whole, every other request goes on to ``app`` (that stack)."""

    def __init__(self, app: ASGIApp, *, writer: WebhookWriter) -> None:
        self.app = app
        self.writer = writer
        settings = writer.service.settings
        self.max_body_bytes = settings.webhook_max_body_bytes
        self.serve = ratelimit.behind_trusted_proxies(self._serve, settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if takes(scope):
            await self.serve(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = adopt_request_id(scope)
        send = stamping(send, request_id)
        with bind_request_id(request_id):
            request = Request(scope, receive)
            try:
                payload = await limits.read_within(scope, receive, send, self.max_body_bytes)
                if payload is None:  # answered 413 already
                    return
                outcome = await deliver(request, self.writer, payload, _signature(scope))
            except Exception as exc:  # every failure in the app's one error shape
                answer = await errors.response_for(request, exc)
                await answer(scope, receive, send)
                return
            receipt = WebhookReceipt(result=outcome.result, event_id=outcome.event_id)
            body = receipt.model_dump_json().encode()
            headers = [_JSON, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def _signature(scope: Scope) -> str | None:
    """The first ``Stripe-Signature`` header, as FastAPI's ``Header()`` reads it."""
    for name, value in scope["headers"]:
        if name == SIGNATURE_HEADER:
            return str(value.decode("latin-1"))
    return None
