"""Apply a batch of verified, parsed events in one transaction: group commit.

One connection, one transaction, a SAVEPOINT per event. An event whose handler fails
rolls back alone and is recorded as failed in the same transaction, while the others
commit with it; :func:`apply_batch` answers one :class:`ItemResult` per item, in order,
only after the COMMIT returned, so no caller answers Stripe before its credit is on
disk (the caller logs its audit line, :func:`log_result`, with its request's id).
When the transaction itself fails (the COMMIT, or the connection under it), nothing of
the batch is applied and every item fails; the failures are then recorded in a fresh
transaction where the database lets us.

The webhook's writer (web.webhook_writer), ``replay`` and ``TopUpService.apply_event``
all come here (the last two as a batch of one), so they share one per-event step,
:func:`_apply_one`. On PostgreSQL a batch takes its row locks in one order (sorted by
the account an event names, then the event), and a deadlock or serialization failure
retries the whole batch, answering nobody until it commits.

Imports sqlalchemy, sqlmodel's Session, the database helpers, the event log store and
the events room's dispatch and its pre-built credit (fast_credit).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.events import audit, fast_credit
from stripetopup.core.events.registry import ASKS_STRIPE, GATHERERS, HANDLERS
from stripetopup.core.events.types import EventOutcome
from stripetopup.db import MAX_ATTEMPTS, is_retryable, run_in_transaction, unavailable, write_lock
from stripetopup.errors import DatabaseError, ProcessingError, StripeTopupError
from stripetopup.models import EventResult
from stripetopup.redact import redact
from stripetopup.store import events as event_log
from stripetopup.store.credit_statements import pipelined
from stripetopup.store.events import FAILED
from stripetopup.store.savepoints import Savepoint
from stripetopup.stripe_objects import Event

log = logging.getLogger("stripetopup.core.events")  # the name log filters already use

# A unique-key race inside one event (another process credited the same source between
# our read and our insert) is retried in a fresh savepoint, which sees the winner's row.
ITEM_ATTEMPTS = 3


@dataclass(frozen=True)
class Prepared:
    """One event ready to apply: checked, typed, and what Stripe said about it (``facts``).

    ``failure`` is set when gathering those facts failed: the event is then only
    recorded as failed (the handler never runs without its facts).
    """

    typed: Event
    actor: str
    payload: str
    secret_label: str | None
    replay: bool = False
    event: dict[str, Any] = field(default_factory=dict)  # as parsed: for the audit line
    facts: Any = None
    failure: str | None = None
    cause: StripeTopupError | None = None

    @property
    def lock_order(self) -> tuple[str, str]:
        """The account the event names (if it says), then its id: the order of its locks."""
        obj = self.typed.data.object
        metadata = obj.get("metadata")
        account = obj.get("client_reference_id") or (
            metadata.get("account_id") if isinstance(metadata, dict) else None
        )
        return (str(account) if account else "", self.typed.id)


@dataclass(frozen=True)
class ItemResult:
    """What one item of a batch came to: its outcome, or the error its caller raises
    (and ``reason``, what the event log and the server log say of it)."""

    outcome: EventOutcome | None = None
    error: StripeTopupError | None = None
    reason: str = ""


def typed(
    event: dict[str, Any],
    *,
    actor: str,
    payload: str,
    secret_label: str | None,
    replay: bool = False,
) -> Prepared:
    """``event`` (already shape-checked) typed, its facts not gathered yet (:func:`gather`)."""
    return Prepared(Event.parse(event), actor, payload, secret_label, replay, event=event)


def asks_stripe(item: Prepared) -> bool:
    """True when gathering ``item``'s facts calls Stripe (then do it off the event loop)."""
    if item.typed.type not in GATHERERS:
        return False
    says = ASKS_STRIPE.get(item.typed.type)
    if says is None:
        return True
    try:
        return says(item.typed)
    except StripeTopupError:
        # An object its handler cannot read (a mistyped field): gathering fails at once on
        # the same parse, asks nothing, and the failure is recorded with the batch (500).
        return False


def gather(ctx: Context, item: Prepared) -> Prepared:
    """``item`` with what its handler needs from Stripe (most types: nothing to ask).

    Stripe is asked here, before any transaction opens, never under a lock. A failing
    call is kept in ``failure``, to be recorded with the batch.
    """
    gatherer = GATHERERS.get(item.typed.type)
    if gatherer is None:
        return item
    try:
        facts = gatherer(ctx, item.typed)
    except Exception as exc:
        cause = exc if isinstance(exc, StripeTopupError) else None
        return replace(item, failure=_describe(exc), cause=cause)
    return replace(item, facts=facts)


def prepare(
    ctx: Context,
    event: dict[str, Any],
    *,
    actor: str,
    payload: str,
    secret_label: str | None,
    replay: bool = False,
) -> Prepared:
    """:func:`typed`, then :func:`gather`: ready for :func:`apply_batch`."""
    item = typed(event, actor=actor, payload=payload, secret_label=secret_label, replay=replay)
    return gather(ctx, item)


def apply_batch(ctx: Context, items: Sequence[Prepared], *, fast: bool = True) -> list[ItemResult]:
    """Apply ``items`` in one transaction (a savepoint each); one result per item, in order.

    Never raises for an item's failure: it is in its result. The batch's own failure
    (the commit, the connection) fails every item, with nothing applied. ``fast=False``
    takes every item through its handler (the ORM), never the fast credit's pre-built
    statements: the reference those are held to, row for row (tests/test_fast_credit.py).
    """
    if not items:
        return []
    order = sorted(range(len(items)), key=lambda i: items[i].lock_order)
    engine = ctx.batch_engine
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            results: dict[int, ItemResult] = {}
            with write_lock(engine), engine.begin() as connection:
                for index in order:
                    results[index] = _apply_one(connection, ctx, items[index], fast=fast)
            # The COMMIT returned: only now is any of it an answer.
            return [results[i] for i in range(len(items))]
        except DBAPIError as exc:
            # A connection found dead (the batch pool does not ping) is retried on a fresh
            # one. Even one lost during the COMMIT: whatever did commit, the retry finds
            # applied and answers as a re-delivery, never crediting twice.
            if attempt < MAX_ATTEMPTS and (is_retryable(exc) or exc.connection_invalidated):
                log.info("retrying a batch of %d after %s", len(items), type(exc.orig).__name__)
                time.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
                continue
            failure: StripeTopupError = (
                unavailable(exc)
                if isinstance(exc, OperationalError | InterfaceError)
                else DatabaseError(f"database refused the batch: {type(exc.orig).__name__}")
            )
            return _failed_batch(ctx, items, failure)
        except StripeTopupError as exc:  # raised outside an item (the lock, the connect)
            return _failed_batch(ctx, items, exc)
    raise AssertionError("unreachable")


def _apply_one(
    connection: sa.Connection, ctx: Context, item: Prepared, *, fast: bool = True
) -> ItemResult:
    """One event in its own savepoint: applied and recorded, or rolled back and recorded
    as failed. A failure of the connection itself is raised: it ends the batch."""
    if item.failure is not None:
        return _record_failure(connection, item, item.failure, item.cause)
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        savepoint = Savepoint(connection)
        try:
            # On PostgreSQL one pipeline for the fast path: the SAVEPOINT travels with its
            # first round trip, its last writes and the RELEASE with the pipeline's end.
            with pipelined(connection):
                savepoint.begin()
                outcome = _apply_fast(connection, ctx, item) if fast else None
                if outcome is not None:
                    savepoint.send_release()
            if outcome is None:
                outcome = _apply_general(connection, ctx, item)
                savepoint.send_release()
            savepoint.released()  # the pipeline ended without an error: the RELEASE ran
            return ItemResult(outcome=outcome)
        except (OperationalError, InterfaceError):
            raise  # the connection or the transaction is gone: the whole batch fails
        except DBAPIError as exc:
            orig_sqlstate = getattr(exc.orig, "sqlstate", None)
            if orig_sqlstate in {"40001", "40P01"}:
                raise  # the whole transaction is suspect: retry the batch
            savepoint.rollback()
            if isinstance(exc, IntegrityError) and is_retryable(exc) and attempt < ITEM_ATTEMPTS:
                continue  # another writer got there first; the next try sees its row
            return _record_failure(connection, item, _describe(exc))
        except Exception as exc:
            savepoint.rollback()
            return _record_failure(connection, item, _describe(exc), exc)
    raise AssertionError("unreachable")


def _apply_fast(connection: sa.Connection, ctx: Context, item: Prepared) -> EventOutcome | None:
    """The per-event step's first try, inside the item's savepoint: the pre-built
    statements of the common credit and of a re-delivery (:func:`fast_credit.apply`, which
    writes nothing when it answers None)."""
    return fast_credit.apply(
        connection,
        ctx,
        item.typed,
        actor=item.actor,
        payload=item.payload,
        secret_label=item.secret_label,
        replay=item.replay,
    )


def _apply_general(connection: sa.Connection, ctx: Context, item: Prepared) -> EventOutcome:
    """The per-event step for everything else, inside the item's savepoint: the event's
    handler through the ORM, then the event log's row with its outcome, in a Session that
    makes its own savepoint inside the item's (which SQLAlchemy does not know of:
    store.savepoints) and commits only that. Never inside a pipeline: the ORM reads
    every answer as it goes."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        outcome = dispatch(session, ctx, item.typed, item.actor, item.facts)
        _record(session, item, outcome.result)
        session.commit()  # releases the Session's savepoint; the item's is the caller's
    return outcome


def dispatch(
    session: Session, ctx: Context, event: Event, actor: str, facts: Any = None
) -> EventOutcome:
    """Run the event's handler in ``session``; ``facts`` is what its gatherer returned."""
    handler = HANDLERS.get(event.type)
    if handler is None:
        detail = "event type is not handled"
        return EventOutcome(event.id, event.type, EventResult.IGNORED, detail)
    return handler(session, ctx, event, actor, facts)


def _record(session: Session, item: Prepared, outcome: str, error: str | None = None) -> None:
    event_log.record(
        session,
        event_id=item.typed.id,
        event_type=item.typed.type,
        livemode=bool(item.event.get("livemode")),
        payload=item.payload,
        secret_label=item.secret_label,
        outcome=outcome,
        error=error,
        replay=item.replay,
    )


def _record_failure(
    connection: sa.Connection, item: Prepared, error: str, exc: BaseException | None = None
) -> ItemResult:
    """Record ``item`` as failed in its own savepoint of the batch; its failed result."""
    savepoint = connection.begin_nested()
    try:
        with Session(bind=connection, join_transaction_mode="rollback_only") as session:
            _record(session, item, FAILED, error)
            session.commit()
        savepoint.commit()
    except (OperationalError, InterfaceError):
        raise
    except DBAPIError as exc2:  # the record itself refused: the failure still answers 500
        _rollback(savepoint)
        log.error("event %s: its failure could not be recorded (%s)", item.typed.id, exc2)
    return ItemResult(error=_processing_error(item, exc), reason=error)


def _failed_batch(
    ctx: Context, items: Sequence[Prepared], failure: StripeTopupError
) -> list[ItemResult]:
    """Every item failed with the batch: record each as failed, afresh, where we can."""
    log.error("a batch of %d events failed, none applied: %s", len(items), failure.message)
    error = redact(f"{type(failure).__name__}: {failure.message}")[:500]
    results = []
    for item in items:
        # Where the database is gone this fails too; Stripe retries the delivery all the same.
        with contextlib.suppress(StripeTopupError, DBAPIError):
            run_in_transaction(ctx.engine, functools.partial(_record_failed, item, error))
        results.append(ItemResult(error=failure, reason=error))
    return results


def _record_failed(item: Prepared, error: str, session: Session) -> None:
    _record(session, item, FAILED, error)


def _processing_error(item: Prepared, exc: BaseException | None) -> ProcessingError:
    if isinstance(exc, StripeTopupError):
        return ProcessingError(f"event {item.typed.id} failed: {exc.message}")
    return ProcessingError(f"event {item.typed.id} failed; recorded for retry")


def _describe(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")[:500]


def _rollback(savepoint: sa.NestedTransaction) -> None:
    if savepoint.is_active:
        savepoint.rollback()


def log_outcome(event: dict[str, Any], outcome: EventOutcome, actor: str) -> None:
    """An applied event's line of the audit trail (:func:`log_result`)."""
    if not log.isEnabledFor(logging.INFO):  # its fields cost more than the rest of it
        return
    log.info("%s", audit.sentence(outcome, actor), extra=audit.fields(event, outcome, actor))


def log_result(item: Prepared, result: ItemResult) -> None:
    """The audit trail an operator greps for: which event did what, through which door.

    Logged by the caller, after the batch, so the line carries its request's id.
    """
    if result.outcome is not None:
        log_outcome(item.event, result.outcome, item.actor)
        return
    log.error(
        "event %s (%s) via %s failed: %s",
        item.typed.id,
        item.typed.type,
        item.actor,
        result.reason,
        extra=audit.fields(item.event, None, item.actor),
    )
