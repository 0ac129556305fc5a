"""The webhook door's core half: verify the raw bytes, then apply the event.

In steps, so the web door runs each where it belongs: :func:`verify` (signature, JSON and
shape: microseconds, on the event loop), :func:`refuse` for a signed body we cannot use
(a database write, so off the loop), :func:`ready` and ``batch.gather`` (off the loop
when it calls Stripe, ``batch.asks_stripe``), then the writer's batch (core.events.batch)
and :func:`finish`; or, for a re-delivery answered from what the process keeps
(core.events.redeliveries), :func:`finish_known` straight after :func:`verify`.
:func:`handle` is all of it in one call, a batch of one, for in-process callers.

Every delivery is counted (stripetopup.metrics) by event type and outcome, with its time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from stripetopup import metrics, signature
from stripetopup.core.context import Context
from stripetopup.core.events import batch
from stripetopup.core.events import process as events
from stripetopup.core.events.types import EventOutcome
from stripetopup.errors import PayloadError, WebhookError
from stripetopup.store.events import FAILED

ACTOR = "webhook"  # the door deliveries come through, as the audit trail names it


@dataclass(frozen=True)
class Verified:
    """A delivery whose signature matched: its event, or why its body is refused."""

    payload: bytes
    secret_label: str | None
    started: float  # perf_counter() when it arrived, for the latency metric
    event: dict[str, Any] | None = None
    refusal: PayloadError | None = None

    @property
    def event_type(self) -> str:
        # Signed by Stripe and checked by parse_event: bounded.
        return str(self.event["type"]) if self.event is not None else metrics.UNVERIFIED


def verify(ctx: Context, payload: bytes, signature_header: str | None) -> Verified:
    """Check ``payload`` against every configured secret, then parse it. Writes nothing.

    SignatureError: refused (counted). A signed body that is not an event we can parse
    comes back with its ``refusal``, for :func:`refuse`.
    """
    settings = ctx.settings
    started = time.perf_counter()
    try:
        matched = signature.verify(
            payload,
            signature_header,
            settings.require_webhook_secrets(),
            tolerance=settings.webhook_tolerance_seconds,
            now=ctx.clock().timestamp(),
        )
    except WebhookError:
        metrics.count_webhook(metrics.UNVERIFIED, metrics.REFUSED, time.perf_counter() - started)
        raise
    try:
        event = events.parse_event(payload)
    except PayloadError as exc:
        return Verified(payload, matched.label, started, refusal=exc)
    return Verified(payload, matched.label, started, event=event)


def refuse(ctx: Context, verified: Verified) -> None:
    """Keep a refused signed body as a failed event, count it, and raise its PayloadError."""
    assert verified.refusal is not None
    try:
        events.record_refused(
            ctx, verified.payload, verified.refusal, secret_label=verified.secret_label
        )
    finally:
        elapsed = time.perf_counter() - verified.started
        metrics.count_webhook(metrics.UNVERIFIED, metrics.REFUSED, elapsed)
    raise verified.refusal


def ready(verified: Verified) -> batch.Prepared:
    """The delivery typed for the writer, its facts not gathered yet (``batch.gather``)."""
    assert verified.event is not None
    return batch.typed(
        verified.event,
        actor=ACTOR,
        secret_label=verified.secret_label,
        payload=verified.payload.decode("utf-8"),
    )


def finish(verified: Verified, item: batch.Prepared, result: batch.ItemResult) -> EventOutcome:
    """Count the delivery, then its outcome, or its error raised (500: Stripe retries)."""
    outcome = result.outcome.result if result.outcome is not None else FAILED
    metrics.count_webhook(verified.event_type, outcome, time.perf_counter() - verified.started)
    return events.answer(item, result)


def finish_known(verified: Verified, outcome: EventOutcome) -> EventOutcome:
    """Count a re-delivery answered from what the process keeps, log it as the batch's
    answer is logged, and return that answer."""
    assert verified.event is not None
    metrics.count_webhook(
        verified.event_type, outcome.result, time.perf_counter() - verified.started
    )
    batch.log_outcome(verified.event, outcome, ACTOR)
    return outcome


def handle(ctx: Context, payload: bytes, signature_header: str | None) -> EventOutcome:
    """Verify ``payload`` against every configured secret, then apply it exactly once.

    SignatureError: refused, nothing written. PayloadError (signed, but not an event we
    can parse or store): refused and kept as a failed record. ProcessingError: recorded
    as failed, to be retried by Stripe.
    """
    verified = verify(ctx, payload, signature_header)
    if verified.refusal is not None:
        refuse(ctx, verified)
    item = batch.gather(ctx, ready(verified))
    (result,) = batch.apply_batch(ctx, [item])
    return finish(verified, item, result)
