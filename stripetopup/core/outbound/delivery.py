"""One attempt: POST a signed event to an endpoint, and what the answer means.

httpx, a timeout per attempt (``STRIPETOPUP_HOOKS_TIMEOUT_SECONDS``), redirects never
followed: a 2xx is delivered, anything else (a 3xx included) or a network error is a
failure to retry. The answer's body is never read (it could be anything, of any size) and
never kept; an error names the status or the kind of failure, never a secret or a URL's
query. Imports httpx, the room's signing and ``stripetopup.redact``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import version

import httpx

from stripetopup.core.outbound import signing
from stripetopup.redact import redact

MAX_ERROR_LENGTH = 200


@dataclass(frozen=True)
class Target:
    """Where an event goes and the secrets that sign it (two during a rotation's grace)."""

    pk: int
    endpoint_id: str
    url: str
    keys: Sequence[str]


@dataclass(frozen=True)
class Attempt:
    """What one POST got: the status (None for no answer), the error, how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def client(timeout_seconds: float) -> httpx.Client:
    """The client every attempt goes through: no redirects, no proxies from the environment."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        # The installed version (the package's __init__ would be an import back up).
        headers={"user-agent": f"stripetopup/{version('stripetopup')} (outbound webhooks)"},
    )


def send(
    http: httpx.Client, target: Target, event_id: str, body: str, sent_at: datetime
) -> Attempt:
    """POST ``body`` to the target, signed; what happened (never raises for the network)."""
    started = time.monotonic()
    attempt = _post(http, target, event_id, body, sent_at)
    return replace(attempt, duration_ms=int((time.monotonic() - started) * 1000))


def _post(
    http: httpx.Client, target: Target, event_id: str, body: str, sent_at: datetime
) -> Attempt:
    headers = signing.headers(event_id, sent_at, body, target.keys)
    headers["content-type"] = "application/json"
    try:
        with http.stream("POST", target.url, content=body.encode("utf-8"), headers=headers) as r:
            status = r.status_code
    except httpx.TimeoutException:
        return Attempt(None, "timed out (STRIPETOPUP_HOOKS_TIMEOUT_SECONDS)")
    except httpx.HTTPError as exc:
        return Attempt(None, _network_error(exc))
    if 200 <= status < 300:
        return Attempt(status, None)
    if 300 <= status < 400:
        return Attempt(status, f"answered {status}, a redirect (never followed)")
    return Attempt(status, f"answered {status}")


def _network_error(exc: httpx.HTTPError) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {detail}".rstrip(": "))[:MAX_ERROR_LENGTH]
