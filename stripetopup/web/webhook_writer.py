"""The process's one webhook writer: group commit for verified deliveries.

Requests hand their prepared event to :meth:`WebhookWriter.submit` and await its future;
one thread takes whatever is queued (up to ``MAX_BATCH``, never waiting to fill a batch),
applies it as one transaction (core.events.batch: a savepoint per event) and resolves
each future only after the COMMIT returned, so a 200 always follows a durable credit.
While a batch commits the next one queues, which is what makes the commits group: under
load one fsync answers many deliveries, idle a delivery waits for nobody.

:func:`deliver` is the route's whole path: verification, parsing and shape checks on the
event loop (microseconds), the writes a refusal needs and the Stripe calls a few event
types need first in a worker thread, then the writer. A re-delivery of an event applied
already never reaches the writer: :meth:`WebhookWriter.known` answers it from what this
process keeps (before the event is typed), else :meth:`WebhookWriter.settled` from a read
(core.events.redeliveries); either tallies its attempt, which the writer thread counts a
moment later, between batches. Started with the first delivery (or by the lifespan) and
stopped by the app's lifespan, after the queue is drained and the tally counted.
Imports asyncio, anyio, threading, the core's intake, batch and re-deliveries, the
service and web.ratelimit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

import anyio.to_thread
from fastapi import Request

from stripetopup.core import TopUpService
from stripetopup.core.events import batch, intake, redeliveries
from stripetopup.core.events.types import EventOutcome
from stripetopup.errors import DatabaseError, SignatureError
from stripetopup.web import ratelimit

log = logging.getLogger("stripetopup.web.webhook_writer")

MAX_BATCH = 64


async def deliver(
    request: Request, writer: WebhookWriter, payload: bytes, signature: str | None
) -> EventOutcome:
    """Verify, parse and apply one delivery through ``writer``; the route's answer or error.

    SignatureError (400) counted against the address, RateLimited (429) over its limit;
    PayloadError (400) kept as a failed record; ProcessingError (500) recorded for retry.
    """
    ctx = writer.service.ctx
    try:
        verified = intake.verify(ctx, payload, signature)
    except SignatureError:
        await anyio.to_thread.run_sync(ratelimit.count_forgery, request)
        raise
    if verified.refusal is not None:
        await anyio.to_thread.run_sync(intake.refuse, ctx, verified)
    known = writer.known(verified)
    if known is not None:  # a re-delivery this process answered or credited before
        return intake.finish_known(verified, known)
    item = intake.ready(verified)
    settled = await writer.settled(item)
    if settled is not None:  # a re-delivery of an applied event: answered from a read
        return intake.finish(verified, item, settled)
    if batch.asks_stripe(item):  # Stripe calls: never on the event loop
        item = await anyio.to_thread.run_sync(batch.gather, ctx, item)
    else:
        item = batch.gather(ctx, item)
    result = await writer.submit(item)
    writer.remember(item, result)
    return intake.finish(verified, item, result)


_TALLIED = "tallied"


@dataclass(frozen=True)
class _Waiting:
    item: batch.Prepared
    future: asyncio.Future[batch.ItemResult]
    loop: asyncio.AbstractEventLoop


class WebhookWriter:
    """A queue, one thread applying it in batches, and the futures it resolves."""

    def __init__(self, service: TopUpService, *, max_batch: int = MAX_BATCH) -> None:
        self.service = service
        self.max_batch = max_batch
        # A delivery to apply, _TALLIED (attempts to count soon) or None (stop).
        self._queue: queue.SimpleQueue[_Waiting | str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._applying = 0
        self._reads = redeliveries.reads_for(service.ctx)
        self._answers = redeliveries.Answers()
        self._tally = redeliveries.Tally()

    def queued(self) -> int:
        """Deliveries waiting for the next batch (approximately: the queue moves)."""
        return self._queue.qsize()

    def applying(self) -> int:
        """How many deliveries the batch under way holds (0 when idle)."""
        return self._applying

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="stripetopup-webhook-writer", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Apply what is queued, then end the thread (within ``timeout`` seconds)."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._thread = None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
        if self._reads is not None:
            self._reads.close()

    def known(self, verified: intake.Verified) -> EventOutcome | None:
        """The kept answer to a re-delivery of an event this process answered or credited
        before (its attempt tallied, as :meth:`settled`'s); None for anything else."""
        assert verified.event is not None
        if self._stopping:
            return None
        outcome = self._answers.of(verified.event)
        if outcome is not None:
            self._tallied(outcome.event_id, verified.secret_label)
        return outcome

    async def settled(self, item: batch.Prepared) -> batch.ItemResult | None:
        """The answer to a re-delivery of an event applied already, read without the
        writer (its attempt tallied, counted by the writer thread a moment later); None
        for anything else, which goes to :meth:`submit`."""
        if self._reads is None or self._stopping:
            return None
        ctx = self.service.ctx
        result = await redeliveries.answered(ctx, self._reads, self._answers, item)
        if result is not None:
            self._tallied(item.typed.id, item.secret_label)
        return result

    def remember(self, item: batch.Prepared, result: batch.ItemResult) -> None:
        """After :meth:`submit`: keep the answer to the re-deliveries of a credit this
        process committed, for :meth:`known`."""
        redeliveries.remember(self.service.ctx, self._answers, item, result)

    def _tallied(self, event_id: str, secret_label: str | None) -> None:
        if self._tally.add(event_id, secret_label):
            self.start()
            self._queue.put(_TALLIED)  # the writer may be idle: it counts in a moment

    async def submit(self, item: batch.Prepared) -> batch.ItemResult:
        """Queue ``item`` and wait for its result, which comes after its batch committed."""
        if self._stopping:  # shutting down: Stripe retries what we do not take
            return batch.ItemResult(error=DatabaseError("the server is shutting down"))
        self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[batch.ItemResult] = loop.create_future()
        self._queue.put(_Waiting(item, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._tally.due_in())
            except queue.Empty:  # nothing queued, and tallied attempts are due
                first = _TALLIED
            stop = first is None
            waiting = [first] if isinstance(first, _Waiting) else []
            while not stop and len(waiting) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                elif isinstance(more, _Waiting):
                    waiting.append(more)
            if waiting:
                self._apply(waiting)
            if stop or self._tally.due_in() == 0:
                self._count_attempts()
            if stop:
                return

    def _count_attempts(self) -> None:
        taken = self._tally.take()
        if not taken:
            return
        try:
            redeliveries.count(self.service.ctx, taken)
        except Exception as exc:  # the database is away: count them with the next ones
            log.warning(
                "webhook writer: %d re-delivered events' attempts not counted yet: %s",
                len(taken),
                type(exc).__name__,
            )
            self._tally.give_back(taken, retry_after=redeliveries.RETRY_COUNT_AFTER_SECONDS)

    def _apply(self, waiting: list[_Waiting]) -> None:
        self._applying = len(waiting)
        try:
            results = batch.apply_batch(self.service.ctx, [w.item for w in waiting])
        except Exception as exc:  # a bug, not a refusal: every request answers 5xx
            log.error("webhook writer: a batch failed unexpectedly: %s", type(exc).__name__)
            failure = batch.ItemResult(error=DatabaseError("the webhook batch failed"))
            results = [failure] * len(waiting)
        finally:
            self._applying = 0
        # One wake-up per event loop for the whole batch (each call_soon_threadsafe writes
        # to the loop's self-pipe): serve has one loop, in-process callers may have several.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Answer]] = {}
        for entry, result in zip(waiting, results, strict=True):
            by_loop.setdefault(entry.loop, []).append((entry.future, result))
        for loop, answers in by_loop.items():
            # RuntimeError: that loop has closed, so nobody is waiting for these.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, answers)


_Answer = tuple[asyncio.Future[batch.ItemResult], batch.ItemResult]


def _resolve(answers: list[_Answer]) -> None:
    for future, result in answers:
        if not future.done():  # the request may have been cancelled (the client went away)
            future.set_result(result)
