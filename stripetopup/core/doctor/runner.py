"""``doctor``: every check in order, as one :class:`DoctorReport`.

Settings first (a refused one is a failed check, never a reason to stop); then Stripe (key
permissions, registered endpoints) when a key is set and nothing it needs was refused; the
database, what the event log says (failure streak, secret rotation) and the outbound
webhook endpoints failing or disabled, when it is reachable and migrated; and the webhook
self-test through the running server. Nothing here moves money: the probes create nothing
in Stripe and the test event is recorded as ignored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from stripetopup.core.context import Context
from stripetopup.core.doctor import hooks as doctor_hooks
from stripetopup.core.doctor import local as doctor_checks
from stripetopup.core.doctor import recharge as doctor_recharge
from stripetopup.core.doctor import stripe_account as doctor_stripe
from stripetopup.core.doctor import webhook as doctor_webhook
from stripetopup.core.doctor.types import Check, DoctorReport
from stripetopup.core.events.registry import HANDLERS
from stripetopup.errors import UsageError


def run(ctx: Context, *, url: str | None = None) -> DoctorReport:
    """Run every check; ``url`` is the public webhook URL (default: the local server).

    UsageError when ``url`` is not an http(s) URL.
    """
    if url is not None:
        check_url(url)
    checks = doctor_checks.settings_checks(ctx.settings)
    checks += stripe_checks(ctx, url)
    database, log_readable = doctor_checks.database_checks(ctx)
    checks += database
    checks.append(doctor_webhook.self_test(ctx.settings, url))
    if log_readable:
        checks.append(doctor_checks.failure_streak(ctx))
        checks += doctor_checks.secret_rotation(ctx)
        checks += doctor_hooks.endpoint_health(ctx)
        checks += doctor_recharge.paused_rules(ctx)
    return DoctorReport(tuple(checks))


# With one of these refused, a Stripe call could go to the wrong place with the wrong key.
_STRIPE_SETTINGS = ("STRIPE_SECRET_KEY", "STRIPE_API_BASE")


def stripe_checks(ctx: Context, url: str | None) -> list[Check]:
    if ctx.settings.stripe_secret_key is None:
        return []
    if any(variable in ctx.settings.problems for variable in _STRIPE_SETTINGS):
        return []
    permissions, can_read_endpoints = doctor_stripe.permissions(ctx)
    if not can_read_endpoints:
        return [permissions]
    return [permissions, doctor_stripe.endpoints(ctx.stripe, url, sorted(HANDLERS))]


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            "--url must be an http(s) URL, like https://example.com/billing/webhook", param="url"
        )
