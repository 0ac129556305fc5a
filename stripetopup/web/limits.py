"""The request-size limit: every route, before the body is read and before authentication.

A pure ASGI middleware, outside the routes, so it runs before any dependency (and so before
the credential is looked up). A declared ``Content-Length`` over the limit is answered 413
at once, without calling the app; a streamed (chunked) body is counted as it arrives and the
read that crosses the limit raises :class:`BodyTooLarge`, which the app's handler answers
413 in the one error shape. Nothing past the limit is ever buffered: uvicorn stops reading
the socket while the app is not asking for more.

Before a 413 is answered, the rest of the body is read and thrown away, for at most
``DRAIN_SECONDS``: a server that closes its socket with unread bytes in it makes the kernel
reset the connection, and the reset can destroy the 413 before the client has read it.
Memory stays flat (nothing is kept); a client that keeps sending past the drain time loses
its answer, and deserves to. A client that sent ``Expect: 100-continue`` has sent no body
yet, so its declared size is answered at once.

Starlette's own ``RequestBodyLimitMiddleware`` is not used because it calls the app (and so
authenticates) before refusing a declared size, and answers in plain text.
The webhook gets ``STRIPETOPUP_WEBHOOK_MAX_BODY_BYTES`` (Stripe's events can be large);
every other route ``STRIPETOPUP_API_MAX_BODY_BYTES``. May import starlette and web.errors.
"""

from __future__ import annotations

import json

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripetopup.web.errors import error_body

WEBHOOK_PATHS = frozenset({"/billing/webhook", "/billing/webhook/"})
DRAIN_SECONDS = 30.0  # as nginx's lingering_time: long enough for any honest upload


class BodyTooLarge(HTTPException):
    """Raised by the limited ``receive`` when a streamed body crosses the limit."""

    def __init__(self, limit: int) -> None:
        # Close the connection: the rest of the body is not worth reading.
        super().__init__(413, too_large_message(limit), headers={"Connection": "close"})


def too_large_message(limit: int) -> str:
    return f"request body is larger than {limit} bytes"


class BodyLimitMiddleware:
    """Refuse request bodies over ``api_limit`` (``webhook_limit`` for the webhook) with 413."""

    def __init__(self, app: ASGIApp, *, api_limit: int, webhook_limit: int) -> None:
        self.app = app
        self.api_limit = api_limit
        self.webhook_limit = webhook_limit

    def limit_for(self, path: str) -> int:
        return self.webhook_limit if path in WEBHOOK_PATHS else self.api_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if await refused_as_declared(scope, receive, send, limit):
            return
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if message.get("more_body", False):
                        await drain(receive)
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:  # the app answered already; nothing more can be said
                raise
            await send_too_large(scope, send, limit)


async def refused_as_declared(scope: Scope, receive: Receive, send: Send, limit: int) -> bool:
    """True, having answered 413, when the declared ``Content-Length`` is over ``limit``."""
    headers = Headers(scope=scope)
    declared = headers.get("content-length")
    if declared is None or fits(declared, limit):
        return False
    if headers.get("expect", "").lower() != "100-continue":
        await drain(receive)
    await send_too_large(scope, send, limit)
    return True


async def read_within(scope: Scope, receive: Receive, send: Send, limit: int) -> bytes | None:
    """The whole body, for a door with no middleware around it (web.webhook_door); None
    when it has answered 413 instead (as :class:`BodyLimitMiddleware` would).
    ClientDisconnect when the client went away before the body was whole."""
    if await refused_as_declared(scope, receive, send, limit):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if more:
                await drain(receive)
            await send_too_large(scope, send, limit)
            return None
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)  # one chunk: that very object, no copy


async def drain(receive: Receive) -> None:
    """Read and drop the rest of the request body, for at most ``DRAIN_SECONDS``."""
    with anyio.move_on_after(DRAIN_SECONDS):
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return


def fits(declared: str, limit: int) -> bool:
    """Whether a Content-Length value is a size within ``limit`` (long digit runs are not)."""
    return declared.isdigit() and len(declared) <= len(str(limit)) and int(declared) <= limit


async def send_too_large(scope: Scope, send: Send, limit: int) -> None:
    # The request id middleware sits outside us and has put the id in the scope's state.
    request_id = scope.get("state", {}).get("request_id")
    message = too_large_message(limit)
    body = json.dumps(error_body("payload_too_large", message, request_id=request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
