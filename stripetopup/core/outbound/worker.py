"""The delivery worker: fan out new events, then send what is due, endpoint by endpoint.

:func:`run_once` is one pass (``hooks deliver --once``); :class:`DeliveryWorker` runs passes
in a background thread (inside ``serve``, or ``hooks deliver``) until stopped. Endpoints are
served in parallel (``STRIPETOPUP_HOOKS_CONCURRENCY`` threads), each one's deliveries in
order, so a slow or dead endpoint holds one thread for at most its timeout and never holds
up the others, the Stripe webhook or the spend API (which only write the outbox).

A worker claims up to :data:`CLAIM` deliveries of an endpoint under a lease
(``STRIPETOPUP_HOOKS_LEASE_SECONDS``); it stops sending a claim before the lease could run
out, so two workers never send one delivery at the same time, and a worker that dies leaves
its claims to another once the lease has passed. The outcomes of a claim are written
together, in one transaction, when its sending ends (a worker that dies before that has
them sent again: delivery is at least once, ``webhook-id`` lets the host deduplicate).
Each outcome written also adds its row to ``webhook_attempts`` in that transaction, so
the history has an attempt exactly when the delivery's state counts it.
After a failure the rest of that endpoint's claim is given back for the next pass. Every
time edge (due, lease, schedule, auto-disable) is the context's clock;
``webhook-timestamp`` is the wall clock (``dates.utcnow``), because the receiver checks it
against its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound import delivery, fanout, schedule
from stripetopup.core.outbound.hook_types import DeliveryRun
from stripetopup.dates import utcnow
from stripetopup.db import run_in_transaction, transaction
from stripetopup.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from stripetopup.redact import redact
from stripetopup.store import deliveries, outbox, webhook_attempts
from stripetopup.store import webhook_endpoints as endpoints

log = logging.getLogger(__name__)
CLAIM = 50
MAX_FANOUT_BATCHES = 20


def worker_name() -> str:
    """Who holds a lease: host, process and a random tag (several workers per process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_once(
    ctx: Context,
    http: httpx.Client,
    *,
    owner: str,
    pool: ThreadPoolExecutor | None = None,
    stop: threading.Event | None = None,
) -> DeliveryRun:
    """Fan out what the outbox holds, then one claim per endpoint with deliveries due."""
    run = DeliveryRun()
    for _ in range(MAX_FANOUT_BATCHES):
        written, more = fanout.fan_out(ctx)
        run.queued += written
        if not more:
            break
    now = ctx.clock()
    with transaction(ctx.engine) as session:
        live = {e.id for e in endpoints.enabled(session)}
        due = sorted(deliveries.endpoints_with_due(session, now) & live) if live else []
    if pool is None or len(due) < 2:
        results = [_serve_endpoint(ctx, http, owner, pk, stop) for pk in due]
    else:
        results = list(pool.map(lambda pk: _serve_endpoint(ctx, http, owner, pk, stop), due))
    for result in results:
        run.add(result)
    return run


def _serve_endpoint(
    ctx: Context, http: httpx.Client, owner: str, pk: int, stop: threading.Event | None
) -> DeliveryRun:
    settings = ctx.settings
    started = time.monotonic()
    lease = settings.hooks_lease_seconds
    claimed = run_in_transaction(
        ctx.engine,
        lambda s: _claim(s, pk, owner, ctx.clock(), timedelta(seconds=lease)),
    )
    if claimed is None:
        return DeliveryRun()
    target, rows, bodies = claimed
    # Stop while a whole attempt still fits in the lease, with room to record them all.
    deadline = started + lease - 2 * settings.hooks_timeout_seconds
    sent: list[Tried] = []
    for row in rows:
        # The first always fits: the lease is fresh and at least three timeouts long.
        late = bool(sent) and time.monotonic() > deadline
        if late or (stop is not None and stop.is_set()):
            break
        body, at = bodies.get(row.event_seq), ctx.clock()
        attempt = (
            delivery.send(http, target, row.event_id, body, utcnow())
            if body is not None
            else delivery.Attempt(None, "the event is no longer in the outbox")
        )
        sent.append(Tried(row, attempt, at))
        if not attempt.ok:  # the rest waits for the next pass: no hammering a failing host
            break
    unsent = [row.id for row in rows[len(sent) :] if row.id is not None]
    return run_in_transaction(ctx.engine, lambda s: _record(ctx, s, target, sent, unsent, owner))


def _claim(
    session: Session, pk: int, owner: str, now: datetime, lease: timedelta
) -> tuple[delivery.Target, list[WebhookDelivery], dict[int, str]] | None:
    endpoint = session.get(WebhookEndpoint, pk)
    if endpoint is None or not endpoint.enabled:
        return None
    rows = deliveries.claim(session, pk, owner=owner, now=now, until=now + lease, limit=CLAIM)
    if not rows:
        return None
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and now < expires:
        keys.append(endpoint.previous_secret)
    target = delivery.Target(pk, endpoint.endpoint_id, endpoint.url, tuple(keys))
    bodies = outbox.payloads(session, [row.event_seq for row in rows])
    return target, rows, bodies


def _record(
    ctx: Context,
    session: Session,
    target: delivery.Target,
    sent: list[Tried],
    unsent: list[int],
    owner: str,
) -> DeliveryRun:
    """Every outcome of one claim in one transaction (one commit, and one statement per
    answer status, not per delivery), with an attempt row for each outcome written; the
    rows not tried are given back."""
    now = ctx.clock()
    run = DeliveryRun()
    by_status: dict[int, list[int]] = {}
    for tried in sent:
        row, attempt = tried.row, tried.attempt
        if attempt.ok and row.id is not None and attempt.status_code is not None:
            by_status.setdefault(attempt.status_code, []).append(row.id)
    recorded: set[int] = set()
    for status, pks in by_status.items():
        done = deliveries.finish_delivered(session, pks, owner, status_code=status, now=now)
        recorded.update(done)
        run.add(DeliveryRun(attempted=len(done), delivered=len(done)))
    if run.delivered:
        endpoints.mark_healthy(session, target.pk)
    if sent and not sent[-1].attempt.ok:  # sending stops at the first failure: it is the last
        failure = _failure(ctx, session, target, sent[-1].row, sent[-1].attempt, owner)
        if failure.attempted and sent[-1].row.id is not None:
            recorded.add(sent[-1].row.id)
        run.add(failure)
    webhook_attempts.add_many(session, [t.record() for t in sent if t.row.id in recorded])
    deliveries.release(session, unsent, owner)
    return run


@dataclass(frozen=True)
class Tried:
    """One delivery sent in a claim: its row (as claimed), the outcome, when it was sent."""

    row: WebhookDelivery
    attempt: delivery.Attempt
    at: datetime

    def record(self) -> webhook_attempts.NewAttempt:
        assert self.row.id is not None
        return webhook_attempts.NewAttempt(
            delivery_pk=self.row.id,
            attempt=self.row.attempts + 1,
            at=self.at,
            status_code=self.attempt.status_code,
            error=self.attempt.error,
            duration_ms=self.attempt.duration_ms,
        )


def _failure(
    ctx: Context,
    session: Session,
    target: delivery.Target,
    row: WebhookDelivery,
    attempt: delivery.Attempt,
    owner: str,
) -> DeliveryRun:
    now = ctx.clock()
    attempts = row.attempts + 1
    retry_at = schedule.next_attempt_at(attempts, ctx.settings.hooks_retry_schedule, now)
    values: dict[str, object] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "state": DeliveryState.FAILED if retry_at else DeliveryState.DEAD,
        "next_attempt_at": retry_at,
    }
    assert row.id is not None
    if not deliveries.finish(session, row.id, owner, values):
        return DeliveryRun()  # the lease passed to another worker: its outcome counts
    return _failed(ctx, session, target, row, attempt, retry_at is None)


def _failed(
    ctx: Context,
    session: Session,
    target: delivery.Target,
    row: WebhookDelivery,
    attempt: delivery.Attempt,
    dead: bool,
) -> DeliveryRun:
    now = ctx.clock()
    endpoints.mark_failing(session, target.pk, now)
    after = timedelta(seconds=ctx.settings.hooks_disable_after)
    reason = (
        f"every delivery failed for {_span(after)} (STRIPETOPUP_HOOKS_DISABLE_AFTER); "
        f"the last one {attempt.error}"
    )
    disabled = endpoints.disable_if_failing_since(session, target.pk, now - after, now, reason)
    if not dead:
        log.info(
            "webhook delivery %s of %s to %s failed (attempt %d): %s",
            row.delivery_id,
            row.event_id,
            target.endpoint_id,
            row.attempts + 1,
            attempt.error,
        )
    else:
        log.warning(
            "webhook delivery %s of %s to %s is dead after %d attempts: %s",
            row.delivery_id,
            row.event_id,
            target.endpoint_id,
            row.attempts + 1,
            attempt.error,
        )
    if disabled:
        log.warning("webhook endpoint %s disabled: %s", target.endpoint_id, reason)
    return DeliveryRun(
        attempted=1,
        failed=0 if dead else 1,
        dead=1 if dead else 0,
        disabled_endpoints=[target.endpoint_id] if disabled else [],
    )


def _span(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class DeliveryWorker:
    """Passes of :func:`run_once` in a daemon thread until :meth:`stop`; one per process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.owner = worker_name()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="stripetopup-hooks", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Pass after pass; right away while there is work, else every poll interval."""
        settings = self.ctx.settings
        with (
            delivery.client(settings.hooks_timeout_seconds) as http,
            ThreadPoolExecutor(settings.hooks_concurrency, "stripetopup-hook") as pool,
        ):
            while not self._stop.is_set():
                busy = self._pass(http, pool)
                if not busy:
                    self._stop.wait(settings.hooks_poll_seconds)

    def _pass(self, http: httpx.Client, pool: ThreadPoolExecutor) -> bool:
        try:
            run = run_once(self.ctx, http, owner=self.owner, pool=pool, stop=self._stop)
        except Exception as exc:  # a database outage must not end the worker: try again later
            log.warning(
                "webhook delivery pass failed: %s: %s", type(exc).__name__, redact(str(exc))
            )
            return False
        return bool(run.queued or run.delivered)

    def request_stop(self) -> None:
        """Ask the passes to end (safe from a signal handler); :meth:`run` then returns."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (an attempt under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
