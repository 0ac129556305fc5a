"""The outbound webhook benchmark's receiver: answers 204 at once and counts webhook-ids
(``GET /count``). Served by bench/hooks_delivery.py in a process of its own."""

from __future__ import annotations

from typing import Any

seen: set[str] = set()
posts = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global posts
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "GET":
        body = f'{{"posts": {posts}, "ids": {len(seen)}}}'.encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    posts += 1
    headers = dict(scope["headers"])
    seen.add(headers.get(b"webhook-id", b"").decode() + scope["path"])
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
