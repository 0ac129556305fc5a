"""The emulator's in-memory store: objects by id, sorted indexes for listing, and the clock.

One ``EmulatorState`` holds everything one emulated Stripe account knows. Every read or write
happens under ``state.lock``; the routes keep their critical sections short. Events are appended
here and handed to a listener (the webhook delivery manager). Imports only the stdlib.
"""

from __future__ import annotations

import bisect
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
EVENT_WINDOW_SECONDS = 30 * 24 * 3600
_SAFE = str.maketrans({"-": "x", "_": "Z"})


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking id: ``new_id("pi")`` -> ``pi_3Pq...``."""
    raw = secrets.token_urlsafe(length)[:length]
    return f"{prefix}_" + raw.translate(_SAFE)


class Clock:
    """Real time plus an offset that the control API can set or move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)

    def set(self, now: float) -> int:
        self.offset = now - time.time()
        return self.now()

    def advance(self, seconds: float) -> int:
        self.offset += seconds
        return self.now()


class SortedIndex:
    """Ids ordered by ``(created, insertion seq)`` so that list pages are found by bisection."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, str]] = []
        self.keys: dict[str, tuple[int, int]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, object_id: str, created: int) -> None:
        self._seq += 1
        self.keys[object_id] = (created, self._seq)
        row = (created, self._seq, object_id)
        if not self.rows or self.rows[-1] < row:
            self.rows.append(row)
        else:
            bisect.insort(self.rows, row)

    def add_many(self, items: list[tuple[str, int]]) -> None:
        """Bulk insert (seeding): append then sort once."""
        for object_id, created in items:
            self._seq += 1
            self.keys[object_id] = (created, self._seq)
            self.rows.append((created, self._seq, object_id))
        self.rows.sort()

    def position(self, object_id: str) -> int | None:
        key = self.keys.get(object_id)
        if key is None:
            return None
        return bisect.bisect_left(self.rows, key)

    def bounds(self, gte: int | None, lt: int | None) -> tuple[int, int]:
        """Index range ``[lo, hi)`` of rows with ``gte <= created < lt``."""
        lo = 0 if gte is None else bisect.bisect_left(self.rows, (gte,))
        hi = len(self.rows) if lt is None else bisect.bisect_left(self.rows, (lt,))
        return lo, hi

    def ids_between(self, lo: int, hi: int, descending: bool) -> Iterator[str]:
        rng = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
        for i in rng:
            yield self.rows[i][2]


@dataclass
class Fault:
    """One injected failure: the next ``count`` matching /v1 requests get ``kind``."""

    path: str
    kind: str
    count: int
    method: str | None = None
    hang_seconds: float = 5.0


@dataclass
class IdempotentResult:
    method: str
    path: str
    fingerprint: tuple[tuple[str, str], ...]
    status: int
    body: bytes
    request_id: str
    created: int


@dataclass
class EmulatorState:
    """Everything the emulated account holds. Create one per emulator (tests may share one)."""

    clock: Clock = field(default_factory=Clock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    account_id: str = field(default_factory=lambda: new_id("acct", 16))
    sessions: dict[str, Obj] = field(default_factory=dict)
    line_items: dict[str, list[Obj]] = field(default_factory=dict)
    pi_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    payment_intents: dict[str, Obj] = field(default_factory=dict)
    charges: dict[str, Obj] = field(default_factory=dict)
    refunds: dict[str, Obj] = field(default_factory=dict)
    disputes: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, Obj] = field(default_factory=dict)
    endpoints: dict[str, Obj] = field(default_factory=dict)
    endpoint_secrets: dict[str, list[str]] = field(default_factory=dict)
    session_index: SortedIndex = field(default_factory=SortedIndex)
    event_index: SortedIndex = field(default_factory=SortedIndex)
    refund_index: SortedIndex = field(default_factory=SortedIndex)
    dispute_index: SortedIndex = field(default_factory=SortedIndex)
    session_by_pi: dict[str, str] = field(default_factory=dict)
    open_sessions: set[str] = field(default_factory=set)
    idempotency: dict[tuple[str, str], IdempotentResult] = field(default_factory=dict)
    restricted_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    # the buyer flow: tax, coupons and promotion codes, customers, invoices
    tax_rate_bps: int = 1000
    tax_behavior: str = "exclusive"
    session_bases: dict[str, str] = field(default_factory=dict)
    coupons: dict[str, Obj] = field(default_factory=dict)
    promotion_codes: dict[str, Obj] = field(default_factory=dict)
    promotion_code_index: SortedIndex = field(default_factory=SortedIndex)
    customers: dict[str, Obj] = field(default_factory=dict)
    customer_index: SortedIndex = field(default_factory=SortedIndex)
    invoices: dict[str, Obj] = field(default_factory=dict)
    # saved cards and off-session payments
    payment_methods: dict[str, Obj] = field(default_factory=dict)
    pm_index: SortedIndex = field(default_factory=SortedIndex)
    pm_behavior: dict[str, str | None] = field(default_factory=dict)
    setup_intents: dict[str, Obj] = field(default_factory=dict)
    pi_index: SortedIndex = field(default_factory=SortedIndex)
    session_future_usage: dict[str, str] = field(default_factory=dict)
    setup_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    event_listeners: list[Callable[[list[Obj]], None]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget every object, key, fault and endpoint; keep listeners; clock back to real time."""
        with self.lock:
            listeners = self.event_listeners
            fresh = EmulatorState()
            for name in self.__dataclass_fields__:
                if name not in ("lock", "event_listeners"):
                    setattr(self, name, getattr(fresh, name))
            self.event_listeners = listeners

    def lookup(self, object_id: str) -> Obj | None:
        """Find any object by its id prefix."""
        table = {
            "cs": self.sessions,
            "pi": self.payment_intents,
            "ch": self.charges,
            "py": self.charges,
            "re": self.refunds,
            "pyr": self.refunds,
            "du": self.disputes,
            "evt": self.events,
            "we": self.endpoints,
            "promo": self.promotion_codes,
            "cus": self.customers,
            "in": self.invoices,
            "pm": self.payment_methods,
            "seti": self.setup_intents,
        }.get(object_id.split("_", 1)[0])
        return None if table is None else table.get(object_id)

    def add_session(self, session: Obj) -> None:
        self.sessions[session["id"]] = session
        self.session_index.add(session["id"], session["created"])
        if session["status"] == "open":
            self.open_sessions.add(session["id"])

    def add_refund(self, refund: Obj) -> None:
        self.refunds[refund["id"]] = refund
        self.refund_index.add(refund["id"], refund["created"])

    def add_dispute(self, dispute: Obj) -> None:
        self.disputes[dispute["id"]] = dispute
        self.dispute_index.add(dispute["id"], dispute["created"])

    def link_payment(self, session: Obj, pi: Obj, charge: Obj | None) -> None:
        self.payment_intents[pi["id"]] = pi
        if charge is not None:
            self.charges[charge["id"]] = charge
        self.session_by_pi[pi["id"]] = session["id"]

    def publish(self, events: list[Obj]) -> None:
        """Store events (already built) and hand them to the listeners as one batch."""
        for event in events:
            self.events[event["id"]] = event
            self.event_index.add(event["id"], event["created"])
        for listener in self.event_listeners:
            listener(events)

    def visible_event_floor(self) -> int:
        """Events created before this are outside Stripe's 30-day window."""
        return self.clock.now() - EVENT_WINDOW_SECONDS

    def matching_endpoints(self, event_type: str) -> list[Obj]:
        return [
            ep
            for ep in self.endpoints.values()
            if ep["status"] == "enabled"
            and ("*" in ep["enabled_events"] or event_type in ep["enabled_events"])
        ]
