"""Reading request bodies safely: a size cap enforced while streaming, and JSON objects."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from stripetopup.errors import UsageError


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


async def json_object(request: Request, limit: int = 64 * 1024) -> dict[str, Any]:
    """The body as a JSON object, or a UsageError saying what is wrong with it."""
    raw = await read_limited(request, limit)
    try:
        value = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError("request body must be a JSON object") from None
    if not isinstance(value, dict):
        raise UsageError("request body must be a JSON object")
    return value
