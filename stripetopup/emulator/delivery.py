"""Webhook delivery: real, signed HTTP POSTs from background threads, with Stripe-like retries.

The ``DeliveryManager`` listens to published events, queues one job per (event, endpoint),
and sends them from worker threads with httpx so that API calls return at once. Knobs
(duplicates, concurrent duplicates, delay, reverse order, retry schedule, max attempts) make
the nastier parts of Stripe's delivery reproducible, and every attempt is recorded.
Imports only the stdlib and httpx.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import httpx

from stripetopup.emulator.signing import signature_header
from stripetopup.emulator.state import EmulatorState, Obj, new_id

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
BODY_LIMIT = 1000


@dataclass
class DeliverySettings:
    """The delivery knobs, changed through ``POST /_emulator/delivery``."""

    duplicates: int = 0
    concurrent_duplicates: bool = False
    delay: float = 0.0
    reverse_order: bool = False
    retry_schedule: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2, 0.4])
    max_attempts: int = 5
    workers: int = 1
    timeout: float = 10.0

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown delivery setting: {name}")
            current = getattr(self, name)
            if isinstance(current, bool):
                value = bool(value)
            elif isinstance(current, list):
                value = [float(v) for v in value]
            elif isinstance(current, int):
                value = int(value)
            else:
                value = float(value)
            setattr(self, name, value)
        self.workers = max(1, self.workers)
        self.max_attempts = max(1, self.max_attempts)


@dataclass(order=True)
class Job:
    due: float
    seq: int
    event_id: str = field(compare=False)
    endpoint_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    copies: int = field(compare=False, default=1)
    generation: int = field(compare=False, default=0)


class DeliveryManager:
    """Queues, sends, retries and records webhook deliveries for one ``EmulatorState``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.settings = DeliverySettings()
        self.records: list[Obj] = []
        self._heap: list[Job] = []
        self._seq = 0
        self._generation = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._client: httpx.Client | None = None
        state.event_listeners.append(self.on_events)

    # -- queueing -------------------------------------------------------------------------
    def on_events(self, events: list[Obj]) -> None:
        """Listener for ``state.publish``: queue every (event, endpoint) pair."""
        batch = list(reversed(events)) if self.settings.reverse_order else events
        pairs = [
            (event["id"], endpoint["id"])
            for event in batch
            for endpoint in self.state.matching_endpoints(event["type"])
        ]
        self.enqueue(pairs)

    def enqueue(self, pairs: list[tuple[str, str]], *, duplicates: bool = True) -> int:
        s = self.settings
        extra = s.duplicates if duplicates else 0
        due = time.monotonic() + s.delay
        jobs = 0
        with self._cond:
            for event_id, endpoint_id in pairs:
                if s.concurrent_duplicates and extra:
                    self._push(Job(due, 0, event_id, endpoint_id, copies=1 + extra))
                else:
                    for _ in range(1 + extra):
                        self._push(Job(due, 0, event_id, endpoint_id))
                jobs += 1 + extra
            self._ensure_workers()
            self._cond.notify_all()
        return jobs

    def _push(self, job: Job) -> None:
        self._seq += 1
        job.seq = self._seq
        job.generation = self._generation
        heapq.heappush(self._heap, job)

    def _ensure_workers(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.settings.workers and not self._stopping:
            thread = threading.Thread(
                target=self._work, name=f"emulator-webhooks-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    # -- workers --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._next_job()
                if job is None:
                    return
                self._in_flight += 1
            try:
                self._perform(job)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _next_job(self) -> Job | None:
        while True:
            if self._stopping:
                return None
            if self._heap:
                wait = self._heap[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)
                self._cond.wait(wait)
            else:
                self._cond.wait()

    def _perform(self, job: Job) -> None:
        with self.state.lock:
            event = self.state.events.get(job.event_id)
            endpoint = self.state.endpoints.get(job.endpoint_id)
            secrets = list(self.state.endpoint_secrets.get(job.endpoint_id, []))
            if event is None or endpoint is None:
                return
            payload = json.dumps(event, indent=2).encode("utf-8")
            url = endpoint["url"]
        if job.copies == 1:
            self._attempt(job, event, url, payload, secrets, None)
            return
        barrier = threading.Barrier(job.copies)
        threads = [
            threading.Thread(
                target=self._attempt, args=(job, event, url, payload, secrets, barrier)
            )
            for _ in range(job.copies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _attempt(
        self,
        job: Job,
        event: Obj,
        url: str,
        payload: bytes,
        secrets: list[str],
        barrier: threading.Barrier | None,
    ) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(payload, secrets),
        }
        if barrier is not None:
            barrier.wait(timeout=5)
        started = time.time()
        status: int | None = None
        error: str | None = None
        body = ""
        try:
            response = self._http().post(url, content=payload, headers=headers)
            status = response.status_code
            body = response.text[:BODY_LIMIT]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        record = {
            "id": new_id("dlv", 16),
            "event_id": event["id"],
            "event_type": event["type"],
            "endpoint_id": job.endpoint_id,
            "url": url,
            "attempt": job.attempt,
            "status_code": status,
            "error": error,
            "response_body": body,
            "started_at": started,
            "duration_ms": round((time.time() - started) * 1000, 3),
        }
        ok = status is not None and 200 <= status < 300
        with self._cond:
            if job.generation != self._generation:
                return  # the emulator was reset while this attempt was in flight
            self.records.append(record)
            if not ok and job.attempt < self.settings.max_attempts:
                schedule = self.settings.retry_schedule or [0.0]
                pause = schedule[min(job.attempt - 1, len(schedule) - 1)]
                retry = Job(time.monotonic() + pause, 0, job.event_id, job.endpoint_id)
                retry.attempt = job.attempt + 1
                self._push(retry)
                self._cond.notify_all()
        if ok:
            self._mark_delivered(event["id"])

    def _mark_delivered(self, event_id: str) -> None:
        with self.state.lock:
            stored = self.state.events.get(event_id)
            if stored is not None and stored["pending_webhooks"] > 0:
                stored["pending_webhooks"] -= 1

    def _http(self) -> httpx.Client:
        with self._cond:
            if self._client is None:
                self._client = httpx.Client(timeout=self.settings.timeout)
            return self._client

    # -- control --------------------------------------------------------------------------
    def deliveries(self, **filters: str | None) -> list[Obj]:
        with self._cond:
            rows = list(self.records)
        for key, value in filters.items():
            if value:
                rows = [r for r in rows if r[key] == value]
        return rows

    def counts(self) -> dict[str, int]:
        return {
            "pending": len(self._heap),
            "in_flight": self._in_flight,
            "attempts": len(self.records),
        }

    def wait_idle(self, timeout: float) -> dict[str, Any]:
        with self._cond:
            idle = self._cond.wait_for(lambda: not self._heap and not self._in_flight, timeout)
            return {"idle": idle, **self.counts()}

    def settings_dict(self) -> dict[str, Any]:
        return asdict(self.settings)

    def reset(self) -> None:
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self.records.clear()
            self.settings = DeliverySettings()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        if self._client is not None:
            self._client.close()
            self._client = None
