"""The ``doctor`` check of outbound webhook endpoints: failing for more than a day, or off.

Fed by one store query (``store.webhook_endpoints.unhealthy``); nothing is sent anywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.doctor.types import Check, fail, ok, warn
from stripetopup.models import WebhookEndpoint
from stripetopup.store import webhook_endpoints

FAILING_FOR = timedelta(days=1)
NAME = "webhook endpoints"


def endpoint_health(ctx: Context, now: datetime | None = None) -> list[Check]:
    """One line per endpoint disabled or failing for over a day; one ok line otherwise."""
    now = now or ctx.clock()
    with Session(ctx.engine) as session:
        total = webhook_endpoints.count(session)
        unhealthy = webhook_endpoints.unhealthy(session, now - FAILING_FOR)
    if not total:
        return []
    if not unhealthy:
        return [ok(NAME, f"{total} endpoint(s), none failing for more than a day")]
    return [_check(endpoint) for endpoint in unhealthy]


def _check(endpoint: WebhookEndpoint) -> Check:
    name = f"webhook endpoint {endpoint.endpoint_id}"
    if not endpoint.enabled:
        when = f"{endpoint.disabled_at:%Y-%m-%d %H:%M} UTC" if endpoint.disabled_at else "?"
        return warn(
            name,
            f"disabled since {when}: {endpoint.disabled_reason}; nothing is sent to {endpoint.url}",
            f"fix the receiver, then `stripetopup hooks enable {endpoint.endpoint_id}` "
            f"(and `stripetopup hooks retry --endpoint {endpoint.endpoint_id}` for dead ones)",
        )
    assert endpoint.failing_since is not None
    return fail(
        name,
        f"every delivery to {endpoint.url} has failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC",
        f"see `stripetopup hooks deliveries {endpoint.endpoint_id} --failed` for the errors; "
        "it is disabled after STRIPETOPUP_HOOKS_DISABLE_AFTER",
    )
