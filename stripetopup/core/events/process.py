"""Applying Stripe events: the single handler behind the webhook, replay and reconcile.

The body is checked (:func:`check_shape`, with the refusals an operator reads) and then
held as a typed :class:`~stripetopup.stripe_objects.Event`, which is what the handlers in
:mod:`stripetopup.core.events.registry` receive. Flow for one event (dj-stripe's shape): record
the delivery, run the handler and mark the outcome in one transaction (a savepoint of a
batch's, :mod:`stripetopup.core.events.batch`); if anything fails, roll the event back,
record the delivery and its failure and raise ProcessingError so the webhook answers 500
and Stripe retries. Handlers are safe to run
any number of times: money moves only through :func:`stripetopup.store.ledger.post`,
keyed by a unique source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from sqlmodel import Session

from stripetopup import json_input
from stripetopup.core.context import Context
from stripetopup.core.events import batch
from stripetopup.core.events.registry import GATHERERS
from stripetopup.core.events.types import EventOutcome
from stripetopup.db import run_in_transaction
from stripetopup.errors import PayloadError
from stripetopup.store import events as event_log
from stripetopup.store.events import FAILED
from stripetopup.stripe_objects import Event

log = logging.getLogger("stripetopup.core.events")  # the name log filters already use

# Stripe's events nest a dozen levels at most (expanded objects included).
MAX_EVENT_DEPTH = 64
# What the event log's columns hold: ids and types are stored as they are, so they must fit.
_EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,251}")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
REFUSED_TYPE = "(refused)"


def parse_event(payload: bytes) -> dict[str, Any]:
    """The verified body as a Stripe event dict; PayloadError if it is not one.

    Bounded (depth, 64-bit integers, strings a database can store), so an odd but signed
    body is a refusal, never a crash.
    """
    try:
        event = json_input.loads(payload.decode("utf-8"), max_depth=MAX_EVENT_DEPTH)
    except UnicodeDecodeError:  # json.loads would guess UTF-16 or 32; Stripe sends UTF-8
        raise PayloadError("body is not UTF-8 JSON") from None
    except json_input.UnsafeJson as exc:
        raise PayloadError(str(exc)) from None
    check_shape(event)
    return event  # type: ignore[no-any-return]


def check_shape(event: Any) -> None:
    if not isinstance(event, dict) or event.get("object") != "event":
        raise PayloadError("body is not a Stripe event object")
    if not isinstance(event.get("id"), str) or not _EVENT_ID.fullmatch(event["id"]):
        raise PayloadError("event has no evt_ id (letters, digits and _, at most 255)")
    if not isinstance(event.get("type"), str) or not _EVENT_TYPE.fullmatch(event["type"]):
        raise PayloadError("event has no type (letters, digits, _ . -, at most 100)")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise PayloadError("event has no data.object")


def apply(
    ctx: Context,
    event: dict[str, Any],
    *,
    actor: str,
    secret_label: str | None = None,
    payload: str | None = None,
    replay: bool = False,
) -> EventOutcome:
    """Record ``event`` and apply it exactly once; ProcessingError if applying failed.

    A batch of one (core.events.batch), the webhook writer's own step. ``replay`` counts
    this run as a replay in the event log, not as a delivery attempt.
    """
    check_shape(event)
    raw = payload if payload is not None else json.dumps(event, separators=(",", ":"))
    item = batch.prepare(
        ctx, event, actor=actor, payload=raw, secret_label=secret_label, replay=replay
    )
    (result,) = batch.apply_batch(ctx, [item])
    return answer(item, result)


def answer(item: batch.Prepared, result: batch.ItemResult) -> EventOutcome:
    """The item's audit line, then its outcome, or its error raised (ProcessingError:
    recorded, Stripe retries)."""
    batch.log_result(item, result)
    if result.outcome is None:
        assert result.error is not None
        raise result.error
    return result.outcome


def record_refused(
    ctx: Context, payload: bytes, reason: PayloadError, *, secret_label: str | None
) -> str:
    """Keep a signed body we refuse as a failed event, whatever it holds; returns its id.

    Nothing in it is trusted: the id is derived from the bytes (so Stripe's retries of
    one body count attempts on one record), and the text is made storable (invalid UTF-8
    and NUL become U+FFFD). An operator finds it with ``events --failed``.
    """
    event_id = "refused_" + hashlib.sha256(payload).hexdigest()
    text = payload.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    error = f"PayloadError: {reason.message}"

    def record(session: Session) -> None:
        event_log.record(
            session,
            event_id=event_id,
            event_type=REFUSED_TYPE,
            livemode=False,
            payload=text,
            secret_label=secret_label,
            outcome=FAILED,
            error=error,
        )

    run_in_transaction(ctx.engine, record)
    log.warning("refused a signed webhook body (%s): %s", event_id, reason.message)
    return event_id


def preview(ctx: Context, event: dict[str, Any], *, actor: str) -> EventOutcome:
    """What :func:`apply` would do, computed in a transaction that is rolled back."""
    check_shape(event)
    typed = Event.parse(event)
    facts = gather(ctx, typed)
    with Session(ctx.engine) as session:
        try:
            outcome = dispatch(session, ctx, typed, actor, facts)
        finally:
            session.rollback()
    return EventOutcome(**{**outcome.__dict__, "dry_run": True})


def gather(ctx: Context, event: Event) -> Any:
    """What the event's handler needs from Stripe (None for most types)."""
    gatherer = GATHERERS.get(event.type)
    return gatherer(ctx, event) if gatherer is not None else None


dispatch = batch.dispatch  # the handler's table lookup, shared with the batch
