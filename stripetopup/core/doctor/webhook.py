"""``doctor``'s webhook self-test: a signed test event POSTed through the real HTTP stack.

The event (type ``stripetopup.doctor.ping``, a fresh ``evt_`` id) is serialised the way
Stripe sends events (indented JSON), signed with every configured secret and POSTed without
following redirects. The server records it as ignored. Each way the path can break (a
redirect, a body altered on the way, other secrets, nothing listening) gets its own message.
Imports httpx and the signature module; no secret ever reaches a message.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from stripetopup import signature
from stripetopup.config import Settings
from stripetopup.core.doctor.types import Check, fail, ok, warn
from stripetopup.core.events.log import PING_TYPE
from stripetopup.redact import redact

NAME = "webhook self-test"
DEFAULT_URL = "http://127.0.0.1:8000/billing/webhook"
TIMEOUT_SECONDS = 15.0
JSON_TYPE = "application/json; charset=utf-8"
RAW_FIX = (
    "make everything in front of the app pass this path's body through byte for byte "
    "(no JSON parsing and re-encoding, decompression or charset conversion)"
)


def ping_event(livemode: bool) -> dict[str, Any]:
    """A harmless event no handler acts on, with a unique id."""
    event_id = "evt_doctor_" + uuid.uuid4().hex[:24]
    return {
        "id": event_id,
        "object": "event",
        "type": PING_TYPE,
        "created": int(time.time()),
        "livemode": livemode,
        "api_version": None,
        "data": {"object": {"object": "stripetopup.doctor.ping", "id": event_id}},
    }


def self_test(settings: Settings, url: str | None) -> Check:
    """POST a signed ping to ``url`` (default: the local server) and judge the answer."""
    target = url or DEFAULT_URL
    secrets = [secret.secret.get_secret_value() for secret in settings.webhook_secrets]
    if not secrets:
        return fail(NAME, "not run: no webhook secret to sign with", "set STRIPE_WEBHOOK_SECRET")
    event = ping_event(settings.livemode)
    payload = json.dumps(event, indent=2).encode("utf-8")
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as http:
            response = _post(http, target, payload, secrets, JSON_TYPE)
            if _signature_mismatch(response):
                # Body parsers act on JSON bodies: the same bytes as text/plain tell a proxy
                # that re-encodes JSON apart from a server with other secrets.
                raw = _post(http, target, payload, secrets, "text/plain")
                return _signature_refused(target, raw.status_code == 200)
    except httpx.ConnectError:
        return _not_listening(target, explicit=url is not None)
    except httpx.TimeoutException:
        return fail(NAME, f"{target} did not answer within {TIMEOUT_SECONDS:.0f} s", _serve_fix())
    except httpx.HTTPError as exc:
        return fail(NAME, f"POST {target} failed: {type(exc).__name__}", _serve_fix())
    return judge(target, response, str(event["id"]))


def _post(
    http: httpx.Client, url: str, payload: bytes, secrets: list[str], content_type: str
) -> httpx.Response:
    headers = {
        "Stripe-Signature": signature.sign_header(secrets, payload),
        "Content-Type": content_type,
        "User-Agent": "stripetopup-doctor",
    }
    return http.post(url, content=payload, headers=headers)


def judge(url: str, response: httpx.Response, event_id: str) -> Check:
    """What the server's answer to the ping says about the webhook path."""
    status = response.status_code
    if 300 <= status < 400:
        location = redact(response.headers.get("location", "(no Location header)"))
        return fail(
            NAME,
            f"{url} answered {status} redirecting to {location}: "
            "Stripe does not follow redirects, so every delivery fails",
            "register the final URL in Stripe (and pass it with --url), "
            "or stop the redirect for this path (trailing slash, http to https, host)",
        )
    if status == 200:
        return _answered_200(url, response, event_id)
    if status == 400:
        return _refused_400(url, response)
    return _other_status(url, status)


def _answered_200(url: str, response: httpx.Response, event_id: str) -> Check:
    body = _json(response)
    if body.get("received") is not True or body.get("event_id") != event_id:
        return fail(
            NAME,
            f"{url} answered 200 but not with stripetopup's reply: another app or a proxy "
            "answered instead",
            "point --url (and the Stripe endpoint) at the stripetopup server's /billing/webhook",
        )
    return ok(NAME, f"signed test event {event_id} reached {url} and was recorded as ignored")


def _refused_400(url: str, response: httpx.Response) -> Check:
    message = str(_json(response).get("error", {}).get("message", ""))
    if "timestamp" in message:
        return fail(
            NAME,
            f"{url} refused the signature's timestamp: the server's clock is off",
            "synchronise the server's clock (NTP)",
        )
    return fail(
        NAME,
        f"{url} answered 400 to the signed test event: {redact(message) or 'no reason given'}",
        "check that the URL is stripetopup's webhook and that nothing alters the body; " + RAW_FIX,
    )


def _signature_refused(url: str, plain_text_passed: bool) -> Check:
    if plain_text_passed:
        return fail(
            NAME,
            f"the signature no longer verifies at {url} when the body is sent as JSON: "
            "something in front of the app (proxy, middleware) re-encodes JSON bodies",
            RAW_FIX,
        )
    return fail(
        NAME,
        f"the signature no longer verifies at {url}: the server has other webhook secrets "
        "than these settings, or something in front of it alters the body",
        "give the server and this command the same STRIPE_WEBHOOK_SECRET (the endpoint's "
        "whsec_ in the Stripe dashboard); if they match, " + RAW_FIX,
    )


def _other_status(url: str, status: int) -> Check:
    reasons = {
        404: "there is no webhook route at this URL",
        405: "this URL does not accept POST",
        413: "the server refused the body as too large",
        500: "the server failed while processing the test event",
    }
    reason = reasons.get(status) or (
        "a proxy could not reach the app" if status in (502, 503, 504) else "unexpected answer"
    )
    fix = (
        "see the server log and `stripetopup events --failed`"
        if status == 500
        else "point --url (and the Stripe endpoint) at the server's POST /billing/webhook"
    )
    return fail(NAME, f"{url} answered {status}: {reason}", fix)


def _not_listening(url: str, *, explicit: bool) -> Check:
    message = f"nothing is listening at {url} (connection refused)"
    if explicit:
        return fail(NAME, message, _serve_fix())
    return warn(NAME, message, "start `stripetopup serve`, or pass the public URL with --url")


def _serve_fix() -> str:
    return "start the server (`stripetopup serve`) and check the URL, firewall and proxy"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _signature_mismatch(response: httpx.Response) -> bool:
    """A 400 saying no signature matched (not one about the timestamp)."""
    error = _json(response).get("error") if response.status_code == 400 else None
    if not isinstance(error, dict) or error.get("code") != "invalid_signature":
        return False
    return "timestamp" not in str(error.get("message", ""))
