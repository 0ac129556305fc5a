"""Webhook signatures exactly as Stripe makes them and stripe-python's ``WebhookSignature`` checks.

``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{payload}">`` with one ``v1`` per
active secret, keyed by the whole ``whsec_...`` string. Imports only the stdlib.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(16)


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secrets_: list[str], timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` value; ``timestamp`` defaults to real wall-clock time."""
    t = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={t}", *(f"v1={compute_signature(payload, s, t)}" for s in secrets_)]
    return ",".join(parts)
