"""A webhook receiver on loopback for the outbound webhook tests: a tiny ASGI app.

Each path answers from its own script (``receiver.script("/a", 500, 200)``: a 500, then
200 for ever; ``"hang"`` sleeps past any timeout; ``"redirect"`` is a 302 to ``/landed``,
which answers 200 and is counted, so a followed redirect would show; ``"slow"`` answers
200 after :data:`SLOW_SECONDS`; ``"hold"`` answers 200 only once :meth:`release` is
called, or after :data:`HOLD_SECONDS`). Every request is kept whole (path, headers, body);
one whose sender went away before its body ended (a worker killed mid-send) never arrived
and is not kept. The tests verify them with the ``standardwebhooks`` library, never with
code of ours.
``overlaps`` counts requests that arrived while another with the same webhook-id was still
being answered: two workers sending one delivery at the same time.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SLOW_SECONDS = 0.02
HANG_SECONDS = 3
HOLD_SECONDS = 60  # past the tests' 0.5 s timeout, short enough not to slow shutdown


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int | str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: Counter[str] = field(default_factory=Counter)
    overlaps: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def script(self, path: str, *answers: int | str) -> None:
        self.scripts[path] = list(answers)

    def release(self) -> None:
        self.released.set()

    def holding(self) -> int:
        """How many requests are being answered right now."""
        with self.lock:
            return sum(self.in_flight.values())

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def ids_at(self, path: str) -> Counter[str]:
        return Counter(r.webhook_id for r in self.at(path))

    def _next(self, path: str) -> int | str:
        with self.lock:
            answers = self.scripts.get(path) or [200]
            return answers.pop(0) if len(answers) > 1 else answers[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender went away mid-body (a killed worker): nothing arrived
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        key = scope["path"] + " " + headers.get("webhook-id", "")
        with self.lock:
            self.received.append(Received(scope["path"], headers, body))
            self.overlaps += 1 if self.in_flight[key] else 0
            self.in_flight[key] += 1
        try:
            await self._answer(scope["path"], send)
        finally:
            with self.lock:
                self.in_flight[key] -= 1

    async def _answer(self, path: str, send: Any) -> None:
        answer = self._next(path)
        if answer == "hold":
            for _ in range(int(HOLD_SECONDS / 0.02)):
                if self.released.is_set():
                    break
                await asyncio.sleep(0.02)
            answer = 200
        if answer in ("hang", "slow"):
            await asyncio.sleep(HANG_SECONDS if answer == "hang" else SLOW_SECONDS)
            answer = 200
        extra: list[tuple[bytes, bytes]] = []
        if answer == "redirect":
            answer, extra = 302, [(b"location", b"/landed")]
        await send({"type": "http.response.start", "status": answer, "headers": extra})
        await send({"type": "http.response.body", "body": b"ok"})
