"""``GET /metrics`` for Prometheus, and the count of spend API answers.

Off the public surface by default: the route exists only when ``STRIPETOPUP_METRICS_TOKEN``
is set, and answers only ``Authorization: Bearer <that token>`` (401 otherwise; 404, like
any unknown path, when it is unset). The scrape reads the ledger totals from the database
and sums every ``serve`` worker's counters (stripetopup.metrics).
May import fastapi/starlette, stripetopup.core, stripetopup.errors, stripetopup.metrics and
web.deps.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import FastAPI, Header, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripetopup import metrics
from stripetopup.core import TopUpService
from stripetopup.errors import AuthError
from stripetopup.web.deps import Service

PATH = "/metrics"
SPEND_PREFIX = "/api/v1"
UNMATCHED = "unmatched"  # no route: one label value for every unknown path


def install(app: FastAPI, service: TopUpService) -> None:
    """Count spend API answers; serve ``/metrics`` when a metrics token is configured."""
    app.add_middleware(SpendAnswerCounter)
    if service.settings.metrics_token is not None:
        app.add_api_route(PATH, scrape, methods=["GET"], include_in_schema=False)


# A plain ``def``: the scrape reads the database, which blocks, so FastAPI runs it in a thread.
def scrape(service: Service, authorization: Annotated[str | None, Header()] = None) -> Response:
    token = service.settings.metrics_token
    assert token is not None  # the route exists only with a token
    expected = f"Bearer {token.get_secret_value()}".encode()
    if not hmac.compare_digest((authorization or "").encode(), expected):
        raise AuthError("the metrics token is missing or wrong (Authorization: Bearer ...)")

    body = metrics.exposition(service.metrics_snapshot())
    return Response(body, media_type=metrics.CONTENT_TYPE)


class SpendAnswerCounter:
    """Counts each ``/api/v1`` answer by method, route template (never the raw path) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(SPEND_PREFIX):
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", UNMATCHED)
                metrics.count_spend_answer(scope["method"], str(route), int(message["status"]))
            await send(message)

        await self.app(scope, receive, counting_send)
