"""Reading request bodies safely: a size cap enforced while streaming, and bounded JSON.

:class:`BoundedJsonRoute` gives FastAPI's own body parsing (the spend API's models) the
same bounds as :func:`json_object`: the body is checked with :mod:`stripetopup.json_input`
before FastAPI parses it, so depth, integer size and unstorable strings are a 400 with a
message saying what is wrong, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from stripetopup import json_input
from stripetopup.errors import UsageError

# Our bodies are flat objects; deeper nesting is never a real request.
MAX_DEPTH = 8


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed ``limit`` (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, or a UsageError saying what is wrong with it."""
    value = bounded_json(await read_limited(request, limit) or b"{}")
    if not isinstance(value, dict):
        raise UsageError("request body must be a JSON object")
    return value


def bounded_json(raw: bytes) -> Any:
    """``raw`` parsed within :data:`MAX_DEPTH`, int64 and storable strings; else UsageError."""
    try:
        return json_input.loads(raw, max_depth=MAX_DEPTH)
    except json_input.UnsafeJson as exc:
        raise UsageError(f"request body: {exc}", param=exc.param) from None


class BoundedJsonRoute(APIRoute):
    """An APIRoute whose JSON body is checked within bounds before FastAPI parses it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            raw = await request.body()  # cached: FastAPI's own read gets the same bytes
            if raw:
                bounded_json(raw)
            return await handler(request)

        return bounded
