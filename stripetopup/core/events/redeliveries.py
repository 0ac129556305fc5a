"""A re-delivery of an event already applied, answered from a read; its attempt tallied.

The writer's batch (core.events.batch) answers a re-delivery too, but with a transaction
and a commit for what is only a counter. The web door asks first, on the event loop:
:func:`recognised` (is it the kind of event the pre-built credit handles, so that "applied"
has one meaning?), then ``store.settled_reads.SettledReads`` (did it credit, and is its
payment credited still?), and answers with :func:`answer`, exactly what the batch would
have answered (``already_applied``, the first credit's entry and amount). Anything else,
or any doubt, goes to the writer, which decides everything again. An event Stripe created
a moment ago (:func:`fresh`) is not read for: it is a first delivery.

Such an answer never changes, so :class:`Answers` keeps the recent ones by event id, with
those of the credits this process committed itself (:func:`remember`): a re-delivery of
one of them is answered from its verified JSON alone (:meth:`Answers.of`), before the event
is even typed.

Each such answer adds to a :class:`Tally`, which the writer thread writes in one
statement a moment later (:func:`count`): the event's record counts every delivery, but
that count is not money and need not be on disk before Stripe has its 200.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from stripetopup.core.context import Context
from stripetopup.core.events import batch, fast_credit
from stripetopup.core.events.types import EventOutcome
from stripetopup.dates import utcnow
from stripetopup.db import run_in_transaction
from stripetopup.errors import StripeTopupError
from stripetopup.store import settled_reads
from stripetopup.store.credit_statements import DONE, Duplicate
from stripetopup.store.settled_reads import Attempts, SettledReads
from stripetopup.stripe_objects import CheckoutSession, Event

# How long a tallied attempt may wait for its count: long enough that a burst of
# re-deliveries is one statement, short enough that `events show` is right a moment later.
COUNT_AFTER_SECONDS = 0.25
# After a count failed (the database away): when to try again, and not log more often.
RETRY_COUNT_AFTER_SECONDS = 5.0
# An event this young is nearly always on its first delivery: Stripe re-delivers what it
# did not see answered, on a schedule of minutes to days. Such an event is looked up only
# in what the process knows, never read: the read would miss for nearly every one. On
# PostgreSQL it is a round trip, about 0.1 ms of the event loop's CPU per new credit. On
# SQLite it is microseconds of a local file, yet not reading cut the server's CPU per new
# credit by about 6%, most of it the writer thread's kernel time: the driver lets go of
# the GIL for each read, and under load the writer takes it, to hand it back. The rare fresh
# re-delivery (two endpoints on one URL, a resend at once, another worker's credit) goes
# the writer's way, whose duplicate check answers it the same.
FRESH_SECONDS = 60.0
# Answers a process keeps (under 1 KB each): Stripe's retries of one event come minutes to
# hours apart, so the recent ones are the ones asked again.
KNOWN_EVENTS = 20_000


def reads_for(ctx: Context) -> SettledReads | None:
    """The settled-event reads for the service's database; None where a second connection
    would not see it (an in-memory SQLite database)."""
    return SettledReads(ctx.engine) if SettledReads.usable(ctx.engine) else None


async def answered(
    ctx: Context, reads: SettledReads, answers: Answers, item: batch.Prepared
) -> batch.ItemResult | None:
    """The batch's answer to ``item`` when it is a re-delivery of an applied event, read
    on ``reads`` and kept in ``answers`` (nothing written, nothing tallied); None for
    anything else. A :func:`fresh` event is not read for."""
    checkout = recognised(ctx, item)
    if checkout is None or fresh(ctx, item.typed):
        return None
    found = await reads.settled(item.typed.id, checkout.id)
    return None if found is None else _kept(answers, item, checkout, found)


def fresh(ctx: Context, event: Event) -> bool:
    """True for an event Stripe created under :data:`FRESH_SECONDS` ago (or, by the
    clocks, in the future); False when its ``created`` is not a number of seconds."""
    created = (event.model_extra or {}).get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        return False
    return ctx.clock().timestamp() - created < FRESH_SECONDS


def remember(
    ctx: Context, answers: Answers, item: batch.Prepared, result: batch.ItemResult
) -> None:
    """Keep the answer to ``item``'s re-deliveries when the writer's committed ``result``
    credited it (or found its payment credited): they are then answered without a read."""
    outcome = result.outcome
    if outcome is None or outcome.result.value not in DONE:
        return
    checkout = recognised(ctx, item)
    if checkout is not None:  # what the read would find: the record's outcome, the payment's
        found = Duplicate(outcome.result.value, outcome.entry_id, checkout.amount_total)
        _kept(answers, item, checkout, found)


def _kept(
    answers: Answers, item: batch.Prepared, checkout: CheckoutSession, found: Duplicate
) -> batch.ItemResult:
    """:func:`answer`, kept in ``answers`` for the event's next re-delivery."""
    result = answer(item, checkout, found)
    assert result.outcome is not None
    answers.add(checkout.id, result.outcome)
    return result


def recognised(ctx: Context, item: batch.Prepared) -> CheckoutSession | None:
    """The session of a delivery the pre-built credit handles, or None. Never raises: an
    event it cannot read is the writer's to record as failed."""
    if item.replay or item.failure is not None:
        return None
    try:
        return fast_credit.eligible(ctx, item.typed)
    except StripeTopupError:
        return None


def answer(item: batch.Prepared, checkout: CheckoutSession, found: Duplicate) -> batch.ItemResult:
    """What the batch answers for a re-delivery of an applied event (fast_credit)."""
    return batch.ItemResult(outcome=fast_credit.duplicate_outcome(item.typed, checkout, found))


class Answers:
    """The answers to re-deliveries of events settled lately, by event id, the oldest
    forgotten first; safe across threads.

    An answer stays true: a credited payment is final (no event moves it out of
    ``credited``, ``models.FINAL_PAYMENT_STATES``) and its entry is never replaced. An event
    id names one body (Stripe signs it, and never changes an event), so the answer is the
    one its typed parse would lead to; the session and type are compared all the same, so
    that only that body is ever answered from here.
    """

    def __init__(self, most: int = KNOWN_EVENTS) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._by_event: dict[str, tuple[str, EventOutcome]] = {}

    def of(self, event: Mapping[str, Any]) -> EventOutcome | None:
        """The kept answer to ``event`` (a parsed, shape-checked event: process.parse_event),
        or None. A dict read: atomic, it needs no lock."""
        kept = self._by_event.get(event["id"])
        if kept is None:
            return None
        checkout_session_id, outcome = kept
        if event["type"] != outcome.event_type:
            return None
        return outcome if event["data"]["object"].get("id") == checkout_session_id else None

    def add(self, checkout_session_id: str, outcome: EventOutcome) -> None:
        with self._lock:
            event_id = outcome.event_id
            if event_id not in self._by_event and len(self._by_event) >= self.most:
                del self._by_event[next(iter(self._by_event))]  # dicts keep insertion order
            self._by_event[event_id] = (checkout_session_id, outcome)


class Tally:
    """Re-deliveries answered and not counted yet, by event; safe across threads."""

    def __init__(self, *, count_after: float = COUNT_AFTER_SECONDS) -> None:
        self.count_after = count_after
        self._lock = threading.Lock()
        self._pending: dict[str, Attempts] = {}
        self._since = 0.0  # time.monotonic() of the oldest pending attempt

    def add(self, event_id: str, secret_label: str | None) -> bool:
        """Tally one delivery of ``event_id``; True when the tally was empty before."""
        one = Attempts(1, utcnow(), secret_label)
        with self._lock:
            first = not self._pending
            if first:
                self._since = time.monotonic()
            self._pending[event_id] = _merged(self._pending.get(event_id), one)
            return first

    def due_in(self) -> float | None:
        """Seconds until the oldest pending attempt should be counted; None: none pending."""
        with self._lock:
            if not self._pending:
                return None
            return max(0.0, self._since + self.count_after - time.monotonic())

    def take(self) -> dict[str, Attempts]:
        """Everything pending, emptying the tally."""
        with self._lock:
            taken, self._pending = self._pending, {}
            return taken

    def give_back(self, taken: Mapping[str, Attempts], *, retry_after: float) -> None:
        """Put back what :meth:`take` took and could not count: the whole tally is due in
        ``retry_after``, attempts tallied meanwhile included (so a database that stays away
        is tried, and logged, that often, not at every new re-delivery)."""
        retry_since = time.monotonic() + retry_after - self.count_after
        with self._lock:
            self._since = retry_since if not self._pending else max(self._since, retry_since)
            for event_id, attempts in taken.items():  # older than any tallied meanwhile
                later = self._pending.get(event_id)
                self._pending[event_id] = attempts if later is None else _merged(attempts, later)


def _merged(earlier: Attempts | None, later: Attempts) -> Attempts:
    """Two tallies of one event as one: their counts added, the later one's time, and the
    last secret that verified one of them."""
    if earlier is None:
        return later
    label = later.secret_label if later.secret_label is not None else earlier.secret_label
    return Attempts(earlier.count + later.count, later.last_at, label)


def count(ctx: Context, taken: Mapping[str, Attempts]) -> None:
    """Write ``taken`` to the events' records, in one transaction (in event id order, so two
    processes counting the same events never wait for each other in a cycle)."""
    ordered = dict(sorted(taken.items()))
    run_in_transaction(
        ctx.engine, lambda session: settled_reads.count_attempts(session.connection(), ordered)
    )
