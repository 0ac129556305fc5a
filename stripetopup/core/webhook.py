"""The webhook door's core half: verify the raw bytes, then apply the event."""

from __future__ import annotations

from stripetopup import signature
from stripetopup.core import events
from stripetopup.core.context import Context
from stripetopup.core.results import EventOutcome


def handle(ctx: Context, payload: bytes, signature_header: str | None) -> EventOutcome:
    """Verify ``payload`` against every configured secret, then apply it exactly once.

    SignatureError/PayloadError: refused, nothing written. ProcessingError: recorded as
    failed, to be retried by Stripe.
    """
    settings = ctx.settings
    matched = signature.verify(
        payload,
        signature_header,
        settings.require_webhook_secrets(),
        tolerance=settings.webhook_tolerance_seconds,
        now=ctx.clock().timestamp(),
    )
    event = events.parse_event(payload)
    return events.apply(
        ctx,
        event,
        actor="webhook",
        secret_label=matched.label,
        payload=payload.decode("utf-8"),
    )
