"""Stripe webhook signature verification over the raw request bytes.

The algorithm is stripe-python's ``WebhookSignature.verify_header`` (HMAC-SHA256 of
``"{t}.{payload}"``, constant-time comparison), reimplemented here for three reasons the
SDK does not cover: several secrets at once (rolling), reporting *which* secret matched,
and refusing timestamps too far in the future as well as in the past. It imports only
the stdlib, so the webhook path does not pay for importing the SDK.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from hashlib import sha256

from stripetopup.config import WebhookSecret
from stripetopup.errors import SignatureError

SCHEME = "v1"
MAX_HEADER_LENGTH = 4096
MAX_TIMESTAMP_DIGITS = 12  # seconds until the year 33658; longer ones overflow a float


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, sha256).hexdigest()


def sign_header(secrets: Sequence[str], payload: bytes, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` value with one ``v1`` per secret (used by the doctor's self-test)."""
    ts = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={ts}"] + [f"{SCHEME}={compute_signature(s, ts, payload)}" for s in secrets]
    return ",".join(parts)


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[WebhookSecret],
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> WebhookSecret:
    """Return the secret that signed ``payload``; raise SignatureError otherwise."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    if len(header) > MAX_HEADER_LENGTH or not header.isascii():
        raise SignatureError("malformed Stripe-Signature header")
    timestamp, signatures = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("Stripe-Signature timestamp is outside the tolerance window")
    for secret in secrets:
        expected = compute_signature(secret.secret.get_secret_value(), timestamp, payload)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return secret
    raise SignatureError("no signature matches any configured webhook secret")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS:
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("Stripe-Signature has no timestamp")
    if not signatures:
        raise SignatureError(f"Stripe-Signature has no {SCHEME} signature")
    return timestamp, signatures
