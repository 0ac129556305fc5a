"""A stateful property test of the grants (Hypothesis), on both databases.

Random sequences of top-ups, promotional grants (random priorities, expiries and starts),
debits (some allowed to go negative), holds, captures, releases, refunds, lost and won
disputes, expiry runs and clock moves, through the same core paths the doors use (a top-up,
refund and dispute are posted as the webhook's handlers post them). After every step:

- ``ledger verify`` is clean: the balance is the sum of the entries, each grant's remainder
  is its amount less its draws, every entry's draws add up, entries = grants - deficit;
- nothing new was drawn from a grant not yet effective, past its expiry or expired
  (a capture only from what its hold reserved);
- a debit drew in burn-down order, and went uncovered only with nothing drawable left;
- no grant was written off twice.

Time is a ManualClock; examples are bounded so the test stays quick on a shared machine.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_config
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import Session, col, select

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.core.ledger import reversals, sources
from stripetopup.db import run_in_transaction
from stripetopup.errors import HoldNotOpen, InsufficientFunds
from stripetopup.models import (
    CreditGrant,
    GrantDraw,
    GrantReservation,
    Hold,
    HoldStatus,
    LedgerEntry,
    LedgerKind,
)
from stripetopup.store import ledger
from stripetopup.store.grants import GrantRule
from tests.support.clock import ManualClock

_accounts = itertools.count()
CENTS = st.integers(min_value=1, max_value=2000)


@dataclass
class TopUp:
    checkout_session_id: str
    amount_cents: int
    refunded_cents: int = 0
    disputes: list[str] = field(default_factory=list)


def _burn_key(grant: CreditGrant) -> tuple[Any, ...]:
    never = grant.expires_at is None
    return (grant.priority, never, grant.expires_at or datetime.max, grant.created_at, grant.id)


class GrantMachine(RuleBasedStateMachine):
    def __init__(self, service: TopUpService, clock: ManualClock) -> None:
        super().__init__()
        self.service, self.clock = service, clock
        self.account = f"prop-{next(_accounts)}"
        service.open_account(self.account)
        self.keys = itertools.count()
        self.topups: list[TopUp] = []
        self.won: set[str] = set()
        self.holds: list[str] = []
        self.last_draw = 0

    def _key(self, kind: str) -> str:
        """An idempotency key of this example's own (keys are scoped per actor, not account)."""
        return f"{self.account}-{kind}{next(self.keys)}"

    # Credits --------------------------------------------------------------------------
    @rule(cents=CENTS)
    def top_up(self, cents: int) -> None:
        cs = f"cs_test_prop_{self.account}_{next(self.keys)}"
        self._post(cents, LedgerKind.TOPUP, sources.checkout_credit(cs), GrantRule(), cs)
        self.topups.append(TopUp(cs, cents))

    @rule(
        cents=CENTS,
        priority=st.integers(0, 100),
        expires_in=st.none() | st.integers(1, 72),
        starts_in=st.none() | st.integers(1, 24),
    )
    def promotional(
        self, cents: int, priority: int, expires_in: int | None, starts_in: int | None
    ) -> None:
        now = self.clock.now
        starts = None if starts_in is None else now + timedelta(hours=starts_in)
        expires = None if expires_in is None else (starts or now) + timedelta(hours=expires_in)
        self.service.grant(
            self.account,
            cents,
            idempotency_key=self._key("g"),
            category="promotional",
            priority=priority,
            expires_at=expires,
            effective_at=starts,
        )

    # Debits and holds -----------------------------------------------------------------
    @rule(cents=CENTS, allow_negative=st.booleans())
    def debit(self, cents: int, allow_negative: bool) -> None:
        before = self.service.balance(self.account).balance_cents
        try:
            self.service.spend(
                self.account, cents, idempotency_key=self._key("d"),
                allow_negative=allow_negative,
            )  # fmt: skip
        except InsufficientFunds:
            assert not allow_negative
            assert self.service.balance(self.account).balance_cents == before

    @rule(cents=CENTS, ttl=st.integers(60, 7200))
    def hold(self, cents: int, ttl: int) -> None:
        try:
            change = self.service.place_hold(
                self.account, cents, idempotency_key=self._key("h"), ttl_seconds=ttl
            )
        except InsufficientFunds:
            return
        self.holds.append(change.hold.hold_id)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), part=st.floats(0.01, 1.0))
    def capture(self, data: st.DataObject, part: float) -> None:
        hold_id = data.draw(st.sampled_from(self.holds))
        amount = max(1, int(self.service.get_hold(hold_id).amount_cents * part))
        with contextlib.suppress(HoldNotOpen):  # it expired meanwhile
            self.service.capture_hold(hold_id, amount, idempotency_key=self._key("c"))
        self.holds.remove(hold_id)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(self.holds))
        self.service.release_hold(hold_id, idempotency_key=self._key("r"))
        self.holds.remove(hold_id)

    # Refunds and disputes -------------------------------------------------------------
    @precondition(lambda self: any(t.amount_cents > t.refunded_cents for t in self.topups))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        open_ = [t for t in self.topups if t.amount_cents > t.refunded_cents]
        topup = data.draw(st.sampled_from(open_))
        cents = data.draw(st.integers(1, topup.amount_cents - topup.refunded_cents))
        topup.refunded_cents += cents
        source = f"{sources.REFUND}re_{self.account}_{next(self.keys)}"
        self._post(-cents, LedgerKind.REFUND, source, None, topup.checkout_session_id)

    @precondition(lambda self: self.topups)
    @rule(data=st.data())
    def dispute(self, data: st.DataObject) -> None:
        topup = data.draw(st.sampled_from(self.topups))
        dispute_id = f"dp_{self.account}_{next(self.keys)}"
        topup.disputes.append(dispute_id)
        source = sources.DISPUTE + dispute_id
        self._post(-topup.amount_cents, LedgerKind.DISPUTE, source, None, topup.checkout_session_id)

    @precondition(lambda self: any(d not in self.won for t in self.topups for d in t.disputes))
    @rule(data=st.data())
    def win_dispute(self, data: st.DataObject) -> None:
        pairs = [(t, d) for t in self.topups for d in t.disputes if d not in self.won]
        topup, dispute_id = data.draw(st.sampled_from(pairs))
        self.won.add(dispute_id)
        source = sources.DISPUTE_REINSTATED + dispute_id
        self._post(
            topup.amount_cents, LedgerKind.DISPUTE_REINSTATED, source, None,
            topup.checkout_session_id,
        )  # fmt: skip

    # Time -----------------------------------------------------------------------------
    @rule(seconds=st.sampled_from([1, 59, 600, 3600, 6 * 3600, 30 * 3600]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def expire(self) -> None:
        self.service.expire_grants()

    def _post(
        self, cents: int, kind: LedgerKind, source: str, rule_: GrantRule | None, cs: str
    ) -> None:
        """Post as the webhook's handlers do: a top-up through ``ledger.post``, a refund or
        dispute through ``core.ledger.reversals.post`` (its payment's grant first), judged at
        the service's clock."""
        now = self.clock.now
        if rule_ is not None:
            posting = ledger.Posting(
                self.account, cents, "usd", kind, source, "stripe", checkout_session_id=cs,
                grants=rule_, at=now,
            )  # fmt: skip
            run_in_transaction(self.service.engine, lambda s: ledger.post(s, posting))
            return
        move = reversals.Reversal(source, kind, cents, "usd", f"pi_{cs}")
        run_in_transaction(
            self.service.engine,
            lambda s: reversals.post(
                s,
                self.service.ctx,
                move,
                account_id=self.account,
                checkout_session_id=cs,
                actor="stripe",
            ),
        )

    # Invariants -----------------------------------------------------------------------
    @invariant()
    def ledger_verifies(self) -> None:
        report = self.service.verify_ledger()
        assert report.ok, report.to_json()

    @invariant()
    def draws_respect_time_and_order(self) -> None:
        now = self.clock.now
        with Session(self.service.engine) as session:
            account_pk = self._account_pk(session)
            grants = {
                g.id: g
                for g in session.exec(
                    select(CreditGrant).where(CreditGrant.account_pk == account_pk)
                )
            }
            rows = session.exec(
                select(GrantDraw, LedgerEntry)
                .join(LedgerEntry, col(LedgerEntry.id) == col(GrantDraw.entry_id))
                .where(GrantDraw.account_pk == account_pk, col(GrantDraw.id) > self.last_draw)
                .order_by(col(GrantDraw.id))
            ).all()
            free = self._free(session, grants, now)
            by_entry: dict[int, list[GrantDraw]] = {}
            for draw, entry in rows:
                self.last_draw = max(self.last_draw, draw.id or 0)
                if entry.amount_cents < 0 and entry.kind != LedgerKind.GRANT_EXPIRY:
                    by_entry.setdefault(entry.id or 0, []).append(draw)
                    self._check_drawable(session, draw, entry, grants, now)
            entries = {e.id: e for _, e in rows}
            for entry_id, entry_draws in by_entry.items():
                entry = entries[entry_id]
                if entry.kind != LedgerKind.HOLD_CAPTURE:  # a capture takes its reservations
                    self._check_order(entry, entry_draws, grants, free)
            expiries = session.exec(
                select(LedgerEntry.source).where(
                    LedgerEntry.account_pk == account_pk,
                    LedgerEntry.kind == LedgerKind.GRANT_EXPIRY,
                )
            ).all()
            assert len(expiries) == len(set(expiries))
            assert all(grants_by_id(grants, s).status == "expired" for s in expiries)

    def _account_pk(self, session: Session) -> int:
        return int(
            session.execute(
                sa.text("SELECT id FROM accounts WHERE account_id = :a"), {"a": self.account}
            ).scalar_one()
        )

    def _free(
        self, session: Session, grants: dict[int | None, CreditGrant], now: datetime
    ) -> dict[int | None, int]:
        reserved: dict[int | None, int] = {}
        for reservation, hold in session.exec(
            select(GrantReservation, Hold).join(Hold, col(Hold.id) == col(GrantReservation.hold_pk))
        ).all():
            if hold.status == HoldStatus.OPEN and hold.expires_at > now:
                reserved[reservation.grant_pk] = (
                    reserved.get(reservation.grant_pk, 0) + reservation.amount_cents
                )
        return {pk: g.remaining_cents - reserved.get(pk, 0) for pk, g in grants.items()}

    def _check_drawable(
        self,
        session: Session,
        draw: GrantDraw,
        entry: LedgerEntry,
        grants: dict[int | None, CreditGrant],
        now: datetime,
    ) -> None:
        if draw.grant_pk is None or draw.amount_cents <= 0:
            return
        grant = grants[draw.grant_pk]
        if entry.kind == LedgerKind.HOLD_CAPTURE:
            hold_id = entry.source.removeprefix("hold_capture:")
            kept = session.exec(
                select(GrantReservation)
                .join(Hold, col(Hold.id) == col(GrantReservation.hold_pk))
                .where(Hold.hold_id == hold_id, GrantReservation.grant_pk == grant.id)
            ).first()
            if kept is not None:
                return  # the hold kept it: drawn even past the grant's expiry
        assert grant.effective_at <= now, (grant.grant_id, "not yet effective")
        assert grant.expires_at is None or grant.expires_at > now, (grant.grant_id, "expired")

    def _check_order(
        self,
        entry: LedgerEntry,
        entry_draws: list[GrantDraw],
        grants: dict[int | None, CreditGrant],
        free: dict[int | None, int],
    ) -> None:
        """Burn-down: every drawable grant ranking before the last one the debit drew (a
        refund's or dispute's own payment grant aside, it goes first) is empty now, and an
        uncovered part means nothing drawable is left."""
        own = sources.checkout_credit(entry.checkout_session_id or "")
        drawn = [
            d.grant_pk
            for d in entry_draws
            if d.grant_pk is not None and grants[d.grant_pk].source != own
        ]
        now = self.clock.now
        drawable = {
            pk: g for pk, g in grants.items()
            if g.status == "live" and g.effective_at <= now
            and (g.expires_at is None or g.expires_at > now) and free.get(pk, 0) > 0
        }  # fmt: skip
        if drawn:
            last = max(_burn_key(grants[pk]) for pk in drawn)
            early = [g.grant_id for g in drawable.values() if _burn_key(g) < last]
            assert not early, (entry.source, "skipped", early)
        if any(d.grant_pk is None and d.amount_cents > 0 for d in entry_draws):
            assert not drawable, (entry.source, "uncovered with", list(drawable))


def grants_by_id(grants: dict[int | None, CreditGrant], source: str) -> CreditGrant:
    grant_id = source.removeprefix(sources.EXPIRY)
    return next(g for g in grants.values() if g.grant_id == grant_id)


def test_grants_keep_every_invariant_over_random_sequences(settings: Settings) -> None:
    clock = ManualClock()
    service = TopUpService.from_settings(settings, clock=clock)
    try:
        run_state_machine_as_test(
            lambda: GrantMachine(service, clock),
            settings=hypothesis_settings,
        )
    finally:
        service.close()


hypothesis_settings = hypothesis_config(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
