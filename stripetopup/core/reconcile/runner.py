"""``reconcile``: compare Stripe's Checkout Sessions, and the auto-recharge PaymentIntents,
of a window with the ledger, and fix.

Pages of 100 sessions stream from Stripe (fetched one page ahead in a background thread,
so Stripe and the database work overlap); each page costs a fixed number of local queries
(payment rows, ledger entries, and account lookups only for unpaid credits). Nothing grows
with the window except an 8-byte digest per session, kept to find local sessions that
Stripe did not return. Each session is validated into a typed
:class:`~stripetopup.stripe_objects.CheckoutSession` as its page arrives. ``fix`` credits
through the webhook's own credit (its pre-built statements,
:func:`stripetopup.core.events.fast_credit.credit_checkout`, else
:func:`stripetopup.core.events.credit.credit_session`) and debits through
:mod:`stripetopup.core.ledger.reversals` (both exactly once), one transaction per page.

Then the window's PaymentIntents are paged the same way, and those whose metadata names an
account and a recharge attempt (Stripe's list has no metadata filter; search is eventually
consistent, so unfit for this) are compared by :mod:`stripetopup.core.reconcile.recharges`.
A missing recharge credit is fixed through :func:`stripetopup.core.recharge.charge.settle`,
the path the worker and ``payment_intent.succeeded`` share (source ``payment_intent:pi_...``,
a paid grant); its refunds and disputes through the same reversal rule as a session's.
"""

from __future__ import annotations

import hashlib
import logging
import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from stripetopup import metrics
from stripetopup.core.context import Context
from stripetopup.core.events import fast_credit
from stripetopup.core.events.credit import Credit, credit_session
from stripetopup.core.ledger import reversals, sources
from stripetopup.core.recharge import charge as recharge_charge
from stripetopup.core.reconcile import compare as checks
from stripetopup.core.reconcile import recharges as recharge_checks
from stripetopup.core.reconcile.kinds import ATTENTION_KINDS, KINDS, DifferenceKind
from stripetopup.core.reconcile.prefetch import prefetch
from stripetopup.core.reconcile.types import Difference, ReconcileReport
from stripetopup.dates import utcnow
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import NotFound, StripeTopupError, UsageError
from stripetopup.models import EventResult, PaymentState
from stripetopup.money import format_cents
from stripetopup.store import grant_checks, ledger, payments
from stripetopup.store import reconcile as store
from stripetopup.stripe_objects import CheckoutSession

log = logging.getLogger("stripetopup.core.reconcile")  # the name log filters already use
ACTOR = "reconcile"
EXPAND = ["payment_intent.latest_charge"]
INTENT_EXPAND = ["latest_charge"]
LOCAL_BATCH = 500
OnItem = Callable[[Difference], None]


@dataclass
class _Work:
    """A difference plus what fixing it needs."""

    diff: Difference
    checkout: CheckoutSession | None  # None for an auto-recharge charge (see ``intent``)
    moves: list[reversals.Reversal] = field(default_factory=list)
    record_attention: bool = False
    intent: recharge_checks.RechargeIntent | None = None


@dataclass
class _Tally:
    on_item: OnItem | None
    sessions: int = 0
    intents: int = 0
    pages: int = 0
    fixed: int = 0
    remaining: int = 0
    by_kind: Counter[DifferenceKind] = field(default_factory=Counter)
    items: list[Difference] = field(default_factory=list)

    def add(self, diff: Difference) -> None:
        self.by_kind[diff.kind] += 1
        self.fixed += diff.fixed
        self.remaining += not diff.fixed
        if self.on_item is not None:
            self.on_item(diff)
        else:
            self.items.append(diff)


def run(
    ctx: Context,
    since: datetime,
    until: datetime | None = None,
    *,
    fix: bool = False,
    on_item: OnItem | None = None,
    on_page: Callable[[int], None] | None = None,
) -> ReconcileReport:
    """Reconcile sessions created in ``[since, until)``; ``on_item`` streams differences."""
    now = utcnow()
    until = until or now
    if since >= until:
        raise UsageError("--since must be before --until", param="since")
    tally, seen = _Tally(on_item), array("Q")
    pages = ctx.stripe.checkout_session_pages(
        created_gte=math.floor(since.timestamp()),
        created_lt=math.ceil(until.timestamp()),
        expand=EXPAND,
    )
    for raw in prefetch(pages, on_exit=ctx.stripe.close):
        page = [CheckoutSession.parse(obj) for obj in raw]
        tally.pages += 1
        tally.sessions += len(page)
        seen.extend(_digest(checkout.id) for checkout in page)
        for diff in _page(ctx, page, now, fix):
            tally.add(diff)
        if on_page is not None:
            on_page(tally.sessions)
    intent_pages = ctx.stripe.payment_intent_pages(
        created_gte=math.floor(since.timestamp()),
        created_lt=math.ceil(until.timestamp()),
        expand=INTENT_EXPAND,
    )
    for raw in prefetch(intent_pages, on_exit=ctx.stripe.close):
        tally.pages += 1
        found = recharge_checks.recharge_intents(raw)
        tally.intents += len(found)
        for diff in _intent_page(ctx, found, fix):
            tally.add(diff)
    ordered = array("Q", sorted(seen))
    del seen
    for diff in _unknown_to_stripe(ctx, since, until, ordered):
        tally.add(diff)
    report = ReconcileReport(
        since=since,
        until=until,
        fix=fix,
        sessions=tally.sessions,
        pages=tally.pages,
        by_kind=dict(tally.by_kind),
        fixed=tally.fixed,
        remaining=tally.remaining,
        items=tuple(tally.items),
        grant_problems=_grant_problems(ctx),
        payment_intents=tally.intents,
    )
    every_kind = {kind.value: tally.by_kind.get(kind, 0) for kind in KINDS}
    metrics.reconcile_finished(every_kind, tally.remaining, ctx.settings.reconcile_metrics_file)
    return report


def _grant_problems(ctx: Context) -> int:
    """How many credit grant invariants are broken (``ledger verify`` lists them)."""
    with transaction(ctx.engine) as session:
        return len(grant_checks.problems(session, ctx.clock()))


def _digest(session_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big")


def _contains(ordered: array[int], value: int) -> bool:
    index = bisect_left(ordered, value)
    return index < len(ordered) and ordered[index] == value


# One page --------------------------------------------------------------------------------
def _page(ctx: Context, page: list[CheckoutSession], now: datetime, fix: bool) -> list[Difference]:
    view = _load(ctx, page)
    work: list[_Work] = []
    for checkout in page:
        payment = view.payments.get(checkout.id)
        unrecorded = payment is None or payment.state != PaymentState.ATTENTION
        for diff in checks.classify(ctx, checkout, view, now):
            record = unrecorded and diff.kind in ATTENTION_KINDS
            item = _confirm(ctx, _Work(diff, checkout, record_attention=record), view)
            if item is not None:
                work.append(item)
    if not fix or not work:
        return [w.diff for w in work]
    return _apply(ctx, work)


def _load(ctx: Context, page: list[CheckoutSession]) -> checks.PageView:
    ids = [checkout.id for checkout in page]
    # Only intents whose charge shows a refund or dispute need their ledger entries.
    intents = [pi for checkout in page if (pi := checks.reversal_intent(checkout))]
    with transaction(ctx.engine) as session:
        rows = payments.by_session_ids(session, ids)
        entries = store.entries_for_page(
            session, [sources.checkout_credit(i) for i in ids], intents
        )
        view = checks.PageView(rows, entries)
        wanted = [a for c in page if (a := checks.needs_account_check(c, view))]
        view.accounts = store.known_accounts(session, wanted)
    return view


def _confirm(ctx: Context, work: _Work, view: checks.PageView) -> _Work | None:
    """Refund/dispute candidates checked against Stripe's lists; None when nothing is missing."""
    diff = work.diff
    refund = diff.kind == DifferenceKind.REFUND_NOT_DEBITED
    if not refund and diff.kind != DifferenceKind.DISPUTE_NOT_DEBITED:
        return work
    assert diff.payment_intent_id is not None
    moves = reversals.missing(
        ctx,
        diff.payment_intent_id,
        view.amounts_for(diff.payment_intent_id),
        refunds=refund,
        disputes=not refund,
    )
    if not moves:
        return None
    net = sum(m.amount_cents for m in moves)
    what = ", ".join(m.source for m in moves)
    word = "refunded" if refund else "moved by a dispute"
    money = f"{format_cents(abs(net))} {diff.currency.upper()}"
    detail = f"{money} {word}, not in the ledger ({what})"
    verb = "debit" if net < 0 else "credit back"
    confirmed = replace(
        diff,
        amount_cents=-net,
        detail=detail,
        fix=f"{verb} {money} {'from' if net < 0 else 'to'} {diff.account_id} (--fix)",
    )
    return replace(work, diff=confirmed, moves=moves)


# One page of PaymentIntents ----------------------------------------------------------------
def _intent_page(
    ctx: Context, page: list[recharge_checks.RechargeIntent], fix: bool
) -> list[Difference]:
    if not page:
        return []
    view = _load_intents(ctx, page)
    work: list[_Work] = []
    for item in page:
        for diff in recharge_checks.classify(ctx, item, view):
            confirmed = _confirm(ctx, _Work(diff, None, intent=item), view)
            if confirmed is not None:
                work.append(confirmed)
    if not fix or not work:
        return [w.diff for w in work]
    return _apply(ctx, work)


def _load_intents(ctx: Context, page: list[recharge_checks.RechargeIntent]) -> checks.PageView:
    credits = [sources.payment_intent_credit(item.intent.id) for item in page]
    moved = [
        item.intent.id
        for item in page
        if (c := item.intent.charge) is not None and (c.amount_refunded or c.disputed)
    ]
    with transaction(ctx.engine) as session:
        view = checks.PageView({}, store.entries_for_page(session, credits, moved))
        wanted = [item for item in page if recharge_checks.needs_lookup(item, view)]
        view.accounts = store.known_accounts(
            session, [a for item in wanted if (a := item.tag.account_id)]
        )
        view.attempts = store.known_attempts(session, [item.tag.attempt_key for item in wanted])
    return view


# Fixing ----------------------------------------------------------------------------------
def _apply(ctx: Context, work: list[_Work]) -> list[Difference]:
    """Fix a page's differences in one transaction; on an error, one transaction each."""
    try:
        return run_in_transaction(ctx.engine, lambda s: [_fix(s, ctx, w) for w in work])
    except (StripeTopupError, SQLAlchemyError) as exc:
        log.warning("reconcile: page fix failed (%s); fixing one session at a time", exc)
    done = []
    for item in work:
        try:
            done.append(run_in_transaction(ctx.engine, _fixer(ctx, item)))
        except (StripeTopupError, SQLAlchemyError) as exc:
            reason = exc.message if isinstance(exc, StripeTopupError) else type(exc).__name__
            done.append(replace(item.diff, action=f"fix failed: {reason}"))
    return done


def _fixer(ctx: Context, work: _Work) -> Callable[[Session], Difference]:
    return lambda session: _fix(session, ctx, work)


def _fix(session: Session, ctx: Context, work: _Work) -> Difference:
    diff = work.diff
    if diff.kind == DifferenceKind.PAID_NOT_CREDITED and work.intent is not None:
        return _fix_recharge(session, ctx, diff, work.intent)
    if diff.kind == DifferenceKind.PAID_NOT_CREDITED:
        assert work.checkout is not None
        credit = _credit(session, ctx, work.checkout)
        entry_id = credit.entry_id
        if credit.result == EventResult.CREDITED:
            action = f"credited {format_cents(diff.amount_cents or 0)} (entry {entry_id})"
            return replace(diff, fixed=True, action=action)
        if credit.result == EventResult.ALREADY_APPLIED:
            return replace(diff, fixed=True, action=f"already credited (entry {entry_id})")
        return replace(diff, action=f"not credited: {credit.detail}")
    if work.moves:
        assert diff.account_id is not None
        done = [
            reversals.post(
                session,
                ctx,
                move,
                account_id=diff.account_id,
                checkout_session_id=diff.checkout_session_id,
                actor=ACTOR,
            )
            for move in work.moves
        ]
        entries = ", ".join(str(d.entry.id) for d in done)
        net = sum(m.amount_cents for m in work.moves)
        verb = "debited" if net < 0 else "credited back"
        action = f"{verb} {format_cents(abs(net))} (entry {entries})"
        return replace(diff, fixed=True, action=action)
    if work.record_attention and work.checkout is not None:
        # Not credited, but recorded so `payments --attention` shows it to an operator.
        credit_session(session, ctx, work.checkout, actor=ACTOR, event_id=None)
        return replace(diff, action="recorded as needing attention")
    return diff


def _credit(
    session: Session, ctx: Context, checkout: CheckoutSession
) -> fast_credit.SessionCredit | Credit:
    """The webhook's own credit: its pre-built statements on the page's connection, else
    (attention, an unknown account, a payment an operator must see) the general path."""
    session.flush()  # the statements read what this page's fixes wrote so far
    fast = fast_credit.credit_checkout(
        session.connection(), ctx, checkout, actor=ACTOR, event_id=None
    )
    if fast is None:
        return credit_session(session, ctx, checkout, actor=ACTOR, event_id=None)
    session.expire_all()  # what they wrote (the balance, the payment), the ORM reads afresh
    return fast


def _fix_recharge(
    session: Session, ctx: Context, diff: Difference, item: recharge_checks.RechargeIntent
) -> Difference:
    """Credit a recharge charge through the worker's own exactly-once path."""
    before = recharge_charge.credited(session, item.intent.id)
    done = recharge_charge.settle(session, ctx, item.tag.attempt_key, item.raw, actor=ACTOR)
    entry = ledger.find_by_source(session, sources.payment_intent_credit(item.intent.id))
    if done != "succeeded" or entry is None:
        return replace(diff, action=f"not credited: {done}")
    if before:
        return replace(diff, fixed=True, action=f"already credited (entry {entry.id})")
    action = f"credited {format_cents(entry.amount_cents)} (entry {entry.id})"
    return replace(diff, fixed=True, action=action)


# Local sessions Stripe did not return ----------------------------------------------------
def _unknown_to_stripe(
    ctx: Context, since: datetime, until: datetime, seen: array[int]
) -> Iterator[Difference]:
    after = 0
    while True:
        with transaction(ctx.engine) as session:
            batch = store.window_payments(
                session, since=since, until=until, after_id=after, limit=LOCAL_BATCH
            )
        if not batch:
            return
        after = int(batch[-1].id or 0)
        for row in batch:
            if row.state == PaymentState.DISMISSED or _contains(
                seen, _digest(row.checkout_session_id)
            ):
                continue
            try:
                ctx.stripe.retrieve_checkout_session(row.checkout_session_id)
                continue  # Stripe has it; its created time is outside the window
            except NotFound:
                pass
            amount = row.amount_total_cents or row.amount_requested_cents
            yield Difference(
                kind=DifferenceKind.UNKNOWN_TO_STRIPE,
                checkout_session_id=row.checkout_session_id,
                account_id=row.account_id,
                amount_cents=None,
                local_cents=amount,
                currency=row.currency,
                detail=f"local payment ({row.state}) that Stripe does not know",
                fix="check STRIPE_SECRET_KEY is the Stripe account that created it; "
                "nothing is credited for it",
                payment_intent_id=row.payment_intent_id,
            )
