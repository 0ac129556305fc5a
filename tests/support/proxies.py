"""Tiny real reverse proxies for the doctor tests: one re-encodes JSON bodies, one redirects.

Starlette apps served with uvicorn on loopback (``serve_in_thread``), forwarding with httpx.
"""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

_HOP = {"host", "content-length", "connection", "transfer-encoding"}


async def _forward(upstream: str, request: Request, body: bytes) -> Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
    async with httpx.AsyncClient(base_url=upstream, timeout=30) as client:
        answer = await client.request(
            request.method, request.url.path, content=body, headers=headers
        )
    kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
    return Response(answer.content, answer.status_code, headers=kept)


def reencoding_proxy(upstream: str) -> Starlette:
    """Parses JSON request bodies and re-serialises them compactly, like a body-parser."""

    async def handle(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.dumps(json.loads(body), separators=(",", ":")).encode()
        return await _forward(upstream, request, body)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])


def slash_redirect_proxy(upstream: str) -> Starlette:
    """Redirects every path without a trailing slash to the same path with one (307)."""

    async def handle(request: Request) -> Response:
        if not request.url.path.endswith("/"):
            return RedirectResponse(str(request.url.replace(path=request.url.path + "/")), 307)
        return await _forward(upstream, request, await request.body())

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
