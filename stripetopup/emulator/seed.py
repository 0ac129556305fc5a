"""Bulk seeding: thousands of sessions (with their payments) in one call, for demos and benchmarks.

Builds the same objects the normal flow builds, backdated by ``created_start``/``created_step``,
and inserts them into the sorted index in one sort. Events are emitted only when asked.
Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

from stripetopup.emulator import objects, payments
from stripetopup.emulator.state import EmulatorState, Obj

STATES = ("paid", "open", "expired", "unpaid", "async_failed")
_KNOWN = {
    "count",
    "sessions",
    "state",
    "amount",
    "currency",
    "client_reference_id",
    "client_reference_ids",
    "metadata",
    "payment_intent_metadata",
    "livemode",
    "created_start",
    "created_step",
    "created",
    "emit_events",
    "customer_email",
    "success_url",
    "cancel_url",
    "product_name",
}


def seed(state: EmulatorState, body: dict[str, Any], url_base: str) -> dict[str, Any]:
    """Create sessions described by ``body`` (see docs/emulator.md); caller holds the lock."""
    unknown = set(body) - _KNOWN
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    overrides: list[dict[str, Any]] = list(body.get("sessions") or [])
    count = len(overrides) if overrides else int(body.get("count", 1))
    refs = list(body.get("client_reference_ids") or [])
    now = state.clock.now()
    start = int(body.get("created_start", now))
    step = int(body.get("created_step", 0))
    created_ids: list[tuple[str, int]] = []
    for i in range(count):
        spec = {**body, **(overrides[i] if overrides else {})}
        unknown = set(spec) - _KNOWN
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        if refs and "client_reference_id" not in (overrides[i] if overrides else {}):
            spec["client_reference_id"] = refs[i % len(refs)]
        created = int(spec.get("created", start + i * step))
        session = _one(state, spec, created, url_base)
        created_ids.append((session["id"], created))
    state.session_index.add_many(created_ids)
    result: dict[str, Any] = {
        "count": count,
        "first_id": created_ids[0][0] if created_ids else None,
        "last_id": created_ids[-1][0] if created_ids else None,
    }
    if count <= 1000:
        result["ids"] = [sid for sid, _ in created_ids]
    return result


def _one(state: EmulatorState, spec: dict[str, Any], created: int, url_base: str) -> Obj:
    kind = str(spec.get("state", "paid"))
    if kind not in STATES:
        raise ValueError(f"state must be one of {STATES}")
    amount = int(spec.get("amount", 500))
    currency = str(spec.get("currency", "usd")).lower()
    params = {
        "success_url": spec.get("success_url", "http://127.0.0.1/success"),
        "cancel_url": spec.get("cancel_url", "http://127.0.0.1/cancel"),
        "client_reference_id": spec.get("client_reference_id"),
        "metadata": spec.get("metadata") or {},
        "customer_email": spec.get("customer_email"),
    }
    session = objects.checkout_session(
        created=created,
        amount=amount,
        currency=currency,
        params=params,
        expires_at=created + 24 * 3600,
        livemode=bool(spec.get("livemode", False)),
        url_base=url_base,
    )
    state.sessions[session["id"]] = session
    state.line_items[session["id"]] = [
        objects.line_item(
            created=created,
            currency=currency,
            unit_amount=amount,
            quantity=1,
            name=str(spec.get("product_name", "Account credit")),
            livemode=session["livemode"],
        )
    ]
    state.pi_metadata[session["id"]] = dict(spec.get("payment_intent_metadata") or {})
    emit = bool(spec.get("emit_events", False))
    if kind == "open":
        state.open_sessions.add(session["id"])
    elif kind == "expired":
        state.open_sessions.add(session["id"])
        if emit:
            at = min(created + 24 * 3600, state.clock.now())
            payments.expire(state, session, payments.CONTROL, at)
        else:
            session.update(status="expired", url=None)
            state.open_sessions.discard(session["id"])
    else:
        method = "card" if kind == "paid" else "delayed"
        payments.pay(state, session, method, emit_events=emit, at=created)
        if kind == "async_failed":
            payments.async_fail(state, session, emit_events=emit, at=created)
    return session
