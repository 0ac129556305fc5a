"""Assemble the emulator's ASGI app: /v1 (Stripe), /_emulator (control), /c/pay (hosted page)
and /i (receipts).

Imports the stdlib and starlette.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripetopup.emulator import api, control, invoice_page, page
from stripetopup.emulator.delivery import DeliveryManager
from stripetopup.emulator.state import EmulatorState, new_id


class RequestIdMiddleware:
    """Give every request an id (``req_...``) and every response a ``Request-Id`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req", 14)
        scope["emulator.request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"request-id" for k, _ in headers):
                    headers.append((b"request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_app(state: EmulatorState | None = None) -> Starlette:
    """A new emulator app over ``state`` (a fresh one if None).

    ``app.state.emulator`` is the state and ``app.state.delivery`` the webhook delivery manager
    (call ``app.state.delivery.close()`` when done; ``EmulatorServer`` does).
    """
    state = state or EmulatorState()
    delivery = DeliveryManager(state)

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "emulator": "stripetopup offline Stripe emulator (not Stripe)",
                "api": "/v1",
                "control": "/_emulator",
                "checkout_page": "/c/pay/{cs_id}",
                "invoice_page": "/i/{in_id}",
            }
        )

    app = Starlette(
        routes=[
            Route("/", index),
            *api.routes(state),
            *control.routes(state, delivery),
            *page.routes(state),
            *invoice_page.routes(state),
        ]
    )
    app.add_middleware(RequestIdMiddleware)
    app.state.emulator = state
    app.state.delivery = delivery
    return app
