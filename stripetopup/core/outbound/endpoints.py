"""Webhook endpoints: add, list, enable and disable, remove, rotate the signing secret.

An endpoint receives only the events written after it was added (its outbox cursor starts
at the newest event). Secrets are shown once, when made (``add``, ``rotate_secret``); no
listing carries them. During a rotation's grace both the new and the previous secret sign
every delivery, as Standard Webhooks allows, so the host can switch secrets at leisure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound import signing, urls
from stripetopup.core.outbound.hook_types import Endpoint, EndpointSecret, RemovedEndpoint
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import Conflict, UsageError
from stripetopup.models import WebhookEndpoint
from stripetopup.store import outbox
from stripetopup.store import webhook_endpoints as store

MAX_GRACE = timedelta(days=7)
_ENDPOINT_ID_LENGTH = len(store.ENDPOINT_PREFIX) + 24


def add(
    ctx: Context,
    url: str,
    *,
    events: Sequence[str] = ("*",),
    description: str | None = None,
    idempotency_key: str | None = None,
) -> EndpointSecret:
    """A new endpoint for ``url`` taking ``events``; its secret is in the answer, once.

    With ``idempotency_key`` (``"<actor>:<key>"``, the spend API's) the same key and input
    again answers the endpoint it made (``created=False``, its secret again: the caller
    that lost the first answer needs it); the same key with other input is a Conflict.
    """
    url = urls.check_url(url, allow_http=ctx.settings.hooks_allow_http)
    patterns = urls.check_patterns(events)
    description = urls.check_description(description)
    secret = signing.new_secret()
    fingerprint = _fingerprint(url, patterns, description)

    def work(session: Session) -> EndpointSecret:
        if idempotency_key is not None:
            earlier = store.by_idempotency_key(session, idempotency_key)
            if earlier is not None:
                return _replayed(earlier, fingerprint)
        row = WebhookEndpoint(
            endpoint_id=store.new_endpoint_id(),
            url=url,
            description=description,
            event_types=",".join(patterns),
            secret=secret,
            created_at=ctx.clock(),
            fanout_seq=outbox.last_seq(session),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint if idempotency_key else None,
        )
        return EndpointSecret(Endpoint.of(store.add(session, row)), secret)

    # A race on one key is a unique violation: run_in_transaction runs it again, and the
    # second run finds the first one's endpoint.
    return run_in_transaction(ctx.engine, work)


def _fingerprint(url: str, patterns: Sequence[str], description: str | None) -> str:
    request = json.dumps([url, list(patterns), description], separators=(",", ":"))
    return hashlib.sha256(request.encode("utf-8")).hexdigest()


def _replayed(earlier: WebhookEndpoint, fingerprint: str) -> EndpointSecret:
    if earlier.request_fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was used to add another endpoint; use a new key for a "
            "new endpoint"
        )
    return EndpointSecret(Endpoint.of(earlier), earlier.secret, created=False)


def list_endpoints(ctx: Context) -> list[Endpoint]:
    with transaction(ctx.engine) as session:
        return [Endpoint.of(row) for row in store.list_all(session)]


def get(ctx: Context, endpoint_id: str) -> Endpoint:
    endpoint_id = check_endpoint_id(endpoint_id)
    with transaction(ctx.engine) as session:
        return Endpoint.of(store.get(session, endpoint_id))


def set_enabled(ctx: Context, endpoint_id: str, enabled: bool, *, reason: str) -> Endpoint:
    """Enable (clearing the failure clock) or disable an endpoint, saying why."""
    endpoint_id = check_endpoint_id(endpoint_id)

    def work(session: Session) -> Endpoint:
        row = store.get(session, endpoint_id, lock=True)
        if row.enabled != enabled:
            row.enabled = enabled
            row.disabled_at = None if enabled else ctx.clock()
            row.disabled_reason = None if enabled else reason
            if enabled:
                row.failing_since = None
            session.add(row)
        return Endpoint.of(row)

    return run_in_transaction(ctx.engine, work)


def remove(ctx: Context, endpoint_id: str) -> RemovedEndpoint:
    """Delete an endpoint and its deliveries (nothing more is sent to it)."""
    endpoint_id = check_endpoint_id(endpoint_id)

    def work(session: Session) -> RemovedEndpoint:
        row = store.get(session, endpoint_id, lock=True)
        endpoint = Endpoint.of(row)
        return RemovedEndpoint(endpoint, store.remove(session, row))

    return run_in_transaction(ctx.engine, work)


def rotate_secret(ctx: Context, endpoint_id: str, *, grace: timedelta) -> EndpointSecret:
    """A new secret; the current one keeps signing beside it for ``grace`` (0: not at all)."""
    endpoint_id = check_endpoint_id(endpoint_id)
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise UsageError(f"the grace period is 0s to {MAX_GRACE.days}d", param="grace")
    secret = signing.new_secret()

    def work(session: Session) -> Endpoint:
        row = store.get(session, endpoint_id, lock=True)
        now = ctx.clock()
        row.previous_secret = row.secret if grace else None
        row.previous_secret_expires_at = now + grace if grace else None
        row.secret = secret
        session.add(row)
        return Endpoint.of(row)

    return EndpointSecret(run_in_transaction(ctx.engine, work), secret)


def check_endpoint_id(endpoint_id: object) -> str:
    if (
        not isinstance(endpoint_id, str)
        or len(endpoint_id) != _ENDPOINT_ID_LENGTH
        or not endpoint_id.startswith(store.ENDPOINT_PREFIX)
        or not endpoint_id[len(store.ENDPOINT_PREFIX) :].isalnum()
        or not endpoint_id.isascii()
    ):
        raise UsageError(
            f"invalid endpoint id {str(endpoint_id)[:40]!r}: endpoint ids are ep_ and 24 "
            "hex digits (see `stripetopup hooks list`)",
            param="endpoint_id",
        )
    return endpoint_id
