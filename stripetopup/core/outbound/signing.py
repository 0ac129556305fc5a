"""Signing outbound deliveries the Standard Webhooks way, and the endpoints' secrets.

Every delivery carries ``webhook-id`` (the event's id, the same on every retry),
``webhook-timestamp`` (unix seconds when it is sent) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per live secret, separated by
spaces (two during a rotation's grace). The HMAC is the ``standardwebhooks`` library's own,
so what we sign is what the host's ``standardwebhooks`` or ``svix`` library verifies.
Secrets are ``whsec_`` and the base64 of 32 random bytes. Imports stdlib and
``standardwebhooks`` only.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def is_secret(value: str) -> bool:
    """True for ``whsec_`` followed by the base64 of at least 24 bytes."""
    if not value.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(key) >= 24


def headers(event_id: str, sent_at: datetime, body: str, keys: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, signed with every secret in ``keys``."""
    timestamp = int(sent_at.astimezone(UTC).timestamp())
    at = datetime.fromtimestamp(timestamp, UTC)
    signatures = " ".join(Webhook(key).sign(event_id, at, body) for key in keys)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
