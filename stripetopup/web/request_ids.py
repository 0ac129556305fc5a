"""A request id on every HTTP answer: the ``Request-Id`` header, echoed in error bodies.

A caller's ``X-Request-Id`` is kept when it is sane (1-128 letters, digits and ``._:-``), so a
proxy's or host application's id follows the request through our logs; anything else is
replaced by a fresh ``req_...``. The id is bound for logging (stripetopup.logs) while the
request is served. A plain ASGI middleware, so it sees every answer, streamed or not.
May import starlette and stripetopup.logs.
"""

from __future__ import annotations

import random
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripetopup.logs import bind_request_id

HEADER = "Request-Id"
INCOMING_HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def new_request_id() -> str:
    # 128 random bits in a uuid4's hex shape. Not os.urandom: an id needs to be unique, not
    # secret, and its syscall lets go of the GIL, which the event loop then waits to get
    # back while the webhook writer's thread holds it (random reseeds itself after fork).
    return f"req_{random.getrandbits(128):032x}"


def choose_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` when sane (the first one), else a new id."""
    for name, value in scope.get("headers", ()):
        if name == INCOMING_HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else new_request_id()
    return new_request_id()


def request_id_of(request: Request) -> str | None:
    """The id this request is answered under (None outside the middleware)."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


class RequestIdMiddleware:
    """Choose the request's id, bind it for logging, and stamp it on the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = adopt_request_id(scope)
        with bind_request_id(request_id):
            await self.app(scope, receive, stamping(send, request_id))


def adopt_request_id(scope: Scope) -> str:
    """Choose the request's id and keep it in the scope's state: the same dict
    Request.state reads, so error handlers outside the middleware see it too."""
    request_id = choose_request_id(scope)
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


_HEADER_NAME = HEADER.lower().encode()


def stamping(send: Send, request_id: str) -> Send:
    """``send`` that adds the ``Request-Id`` header to the answer (unless already there)."""
    header = (_HEADER_NAME, request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == _HEADER_NAME for name, _ in headers):
                headers.append(header)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_id
