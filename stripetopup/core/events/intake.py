"""The webhook door's core half: verify the raw bytes, then apply the event.

Every delivery is counted (stripetopup.metrics) by event type and outcome, with its time.
"""

from __future__ import annotations

import time

from stripetopup import metrics, signature
from stripetopup.core.context import Context
from stripetopup.core.events import process as events
from stripetopup.core.events.types import EventOutcome
from stripetopup.errors import PayloadError, ProcessingError, WebhookError
from stripetopup.store.events import FAILED


def handle(ctx: Context, payload: bytes, signature_header: str | None) -> EventOutcome:
    """Verify ``payload`` against every configured secret, then apply it exactly once.

    SignatureError: refused, nothing written. PayloadError (signed, but not an event we
    can parse or store): refused and kept as a failed record. ProcessingError: recorded
    as failed, to be retried by Stripe.
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
        try:
            event = events.parse_event(payload)
        except PayloadError as exc:
            events.record_refused(ctx, payload, exc, secret_label=matched.label)
            raise
    except WebhookError:
        elapsed = time.perf_counter() - started
        metrics.count_webhook(metrics.UNVERIFIED, metrics.REFUSED, elapsed)
        raise
    event_type = str(event["type"])  # signed by Stripe and checked by parse_event: bounded
    try:
        outcome = events.apply(
            ctx,
            event,
            actor="webhook",
            secret_label=matched.label,
            payload=payload.decode("utf-8"),
        )
    except ProcessingError:
        metrics.count_webhook(event_type, FAILED, time.perf_counter() - started)
        raise
    metrics.count_webhook(event_type, outcome.result, time.perf_counter() - started)
    return outcome
