"""Signing and building Stripe events the way Stripe does, for tests.

``sign`` is written from Stripe's documented scheme (like ``generate_header`` in
stripe-python's tests), not from our verifier, so the two check each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event(
    event_type: str, obj: dict[str, Any], *, livemode: bool = False, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or "evt_test_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def checkout_session(
    account_id: str | None,
    amount: int = 500,
    *,
    currency: str = "usd",
    payment_status: str = "paid",
    status: str = "complete",
    livemode: bool = False,
    session_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": session_id or "cs_test_" + secrets.token_hex(12),
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": account_id,
        "created": int(time.time()),
        "currency": currency,
        "livemode": livemode,
        "metadata": {"account_id": account_id} if account_id else {},
        "mode": "payment",
        "payment_intent": "pi_test_" + secrets.token_hex(12),
        "payment_status": payment_status,
        "status": status,
    }


def body(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt).encode()
