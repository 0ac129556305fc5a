"""A driver and checker for the auto-recharge property tests: operations on a clocked
service (debits through the Python API and the spend API, holds, credits, worker runs with
an outcome chosen at the emulator, clock moves, rule changes), and after each one the
invariants the cap promises, judged from what Stripe (the emulator) charged and what the
ledger credited.

A charge's time is the test clock's time at the worker run whose call created it. The
emulator's own clock is set to the test clock after every move (it runs on between moves),
so PaymentIntents and events carry the right ``created``; Stripe's events are delivered by
the harness itself, signed at the test clock's time (the emulator's deliveries sign at the
real time). The terms a charge is held to are the rule's terms when its attempt was
armed. Used by ``tests/test_recharge_cap_properties.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import stripe

from stripetopup.core import TopUpService
from stripetopup.core.recharge.types import RuleTerms
from stripetopup.emulator import EmulatorControl
from stripetopup.errors import Conflict, InsufficientFunds, InvalidAmount, NoSavedCard, NotFound
from tests.conftest import API_KEY, NEW_SECRET, ORIGIN
from tests.support.clock import ManualClock
from tests.support.stripe_events import sign

# What a worker run meets at Stripe: the saved card's test behaviour, or a lost answer.
OUTCOMES = (
    "ok",
    "generic_decline",
    "insufficient_funds",
    "authentication_required",
    "lost",  # Stripe charges, the answer never arrives (its webhook does)
    "unreachable",  # Stripe answers 500: the attempt stays pending for a later run
)


# What a posting, a hold or a grant draw changes; equal fingerprints, an unchanged ledger.
_FINGERPRINT = (
    "SELECT (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM grant_draws), "
    "(SELECT COUNT(*) FROM grant_reservations), (SELECT COUNT(*) FROM credit_grants), "
    "(SELECT COALESCE(SUM(balance_cents), 0) FROM accounts), "
    "(SELECT COUNT(*) FROM holds WHERE status = 'open')"
)


_PKS = sa.bindparam("pks", expanding=True)


@dataclass(frozen=True)
class Charge:
    """A succeeded recharge PaymentIntent, as Stripe made it."""

    account_id: str
    attempt_key: str
    payment_intent_id: str
    amount_cents: int
    at: datetime


@dataclass
class Model:
    """What the test knows: the rule terms in force, the terms each attempt was armed
    under, and every recharge PaymentIntent Stripe holds."""

    terms: dict[str, RuleTerms] = field(default_factory=dict)
    armed_under: dict[str, RuleTerms] = field(default_factory=dict)
    attempts_seen: int = 0
    intents: dict[str, Any] = field(default_factory=dict)  # pi id -> its attempt key
    charges: list[Charge] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)


def month_of(moment: datetime) -> tuple[int, int]:
    moment = moment.astimezone(UTC)
    return moment.year, moment.month


def next_month(moment: datetime) -> datetime:
    first = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


class Harness:
    """Accounts with a card saved through the real path and a rule each; the operations;
    :meth:`check` after each one."""

    def __init__(
        self,
        service: TopUpService,
        clock: ManualClock,
        control: EmulatorControl,
        app_url: str,
        emulator_url: str,
    ) -> None:
        self.service, self.clock, self.control = service, clock, control
        self.model = Model()
        self.keys = itertools.count()
        self.tag = uuid.uuid4().hex[:8]
        self.app_url, self.emulator_url = app_url, emulator_url
        self.app = httpx.Client(base_url=app_url, timeout=30)
        _, key = service.create_service_key(f"prop-{self.tag}")
        self.api_headers = {"Authorization": f"Bearer {key}"}
        self.stripe = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url})
        self.cards: dict[str, str] = {}
        self.pks: dict[str, int] = {}
        self.delivered: set[str] = set()
        self.verified: tuple[Any, ...] = ()
        self.verifies = 0
        self.log: deque[str] = deque(maxlen=40)
        # Stripe's objects are looked for from these times on (the emulator's clock is
        # never behind the test clock: it is set to it, and runs on).
        self.events_since = self.intents_since = clock.timestamp()
        control.set_clock(clock.timestamp())

    def close(self) -> None:
        self.app.close()

    # Setting up --------------------------------------------------------------------------
    def add_account(self, account_id: str, terms: RuleTerms) -> None:
        """Open ``account_id``, save a card by a consenting checkout paid in the emulator
        (its webhooks delivered to the app), and set ``terms``."""
        self.service.open_account(account_id)
        token = self.service.create_token(account_id)[1]
        headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
        body = {"amount_cents": 500, "save_payment_method": True}
        response = self.app.post("/billing/checkout-session", json=body, headers=headers)
        assert response.status_code == 200, response.text
        self.control.pay(response.json()["id"])
        self.deliver()
        [card] = self.service.cards(account_id).cards
        self.cards[account_id] = card.payment_method_id
        with self.service.engine.connect() as connection:
            self.pks[account_id] = int(
                connection.execute(
                    sa.text("SELECT id FROM accounts WHERE account_id = :a"), {"a": account_id}
                ).scalar_one()
            )
        self.set_rule(account_id, terms)

    @property
    def accounts(self) -> list[str]:
        return list(self.cards)

    def _key(self, what: str) -> str:
        return f"{what}-{self.tag}-{next(self.keys)}"  # idempotency keys: one per write

    # Operations ---------------------------------------------------------------------------
    def debit(self, account_id: str, cents: int) -> None:
        with contextlib.suppress(InsufficientFunds):  # refused, nothing written
            self.service.spend(account_id, cents, idempotency_key=self._key("debit"))

    def debit_over_api(self, account_id: str, cents: int) -> None:
        response = self.app.post(
            f"/api/v1/accounts/{account_id}/debits",
            json={"amount_cents": cents},
            headers={**self.api_headers, "Idempotency-Key": self._key("api-debit")},
        )
        assert response.status_code in (201, 402), response.text

    def hold(self, account_id: str, cents: int, ttl_seconds: int) -> None:
        try:
            placed = self.service.place_hold(
                account_id, cents, idempotency_key=self._key("hold"), ttl_seconds=ttl_seconds
            )
        except InsufficientFunds:
            return
        self.model.holds.append(placed.hold.hold_id)

    def capture(self, index: int, cents: int | None) -> None:
        if not self.model.holds:
            return
        hold_id = self.model.holds.pop(index % len(self.model.holds))
        with contextlib.suppress(Conflict, InvalidAmount):  # expired, or more than it holds
            self.service.capture_hold(hold_id, cents, idempotency_key=self._key("capture"))

    def release(self, index: int) -> None:
        if not self.model.holds:
            return
        hold_id = self.model.holds.pop(index % len(self.model.holds))
        with contextlib.suppress(Conflict):  # expired meanwhile
            self.service.release_hold(hold_id, idempotency_key=self._key("release"))

    def credit(self, account_id: str, cents: int) -> None:
        self.service.credit(account_id, cents, reason="prop", idempotency_key=self._key("c"))

    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.control.set_clock(self.clock.timestamp())

    def to_month_end(self, before_seconds: int) -> None:
        """Move to ``before_seconds`` before the next calendar month starts."""
        target = next_month(self.clock()) - timedelta(seconds=before_seconds)
        if target > self.clock():
            self.advance(int((target - self.clock()).total_seconds()))

    def set_rule(self, account_id: str, terms: RuleTerms) -> None:
        self.service.set_auto_recharge(account_id, terms)
        self.model.terms[account_id] = terms

    def pause(self, account_id: str) -> None:
        self.service.pause_auto_recharge(account_id)

    def resume(self, account_id: str) -> None:
        with contextlib.suppress(NoSavedCard, NotFound):
            self.service.resume_auto_recharge(account_id)

    def work(self, outcome: str, account_id: str) -> None:
        """One pass of serve's beat (hold expiry, then the recharge worker) meeting
        ``outcome`` at Stripe for ``account_id``'s card (or a lost answer for the first
        charge of the pass); then every new webhook delivered. With nothing pending the
        worker calls nothing, and Stripe is not asked what it made (the next look finds
        anything since the last)."""
        with self.service.engine.connect() as connection:
            pending = connection.execute(
                sa.text(
                    "SELECT COUNT(*) FROM recharge_attempts "
                    "WHERE status = 'pending' AND account_pk IN :pks"
                ).bindparams(_PKS),
                {"pks": list(self.pks.values())},
            ).scalar_one()
        if not pending:
            self.service.expire_holds()
            self.service.run_auto_recharge()
            return
        if outcome in ("lost", "unreachable"):
            kind = "lose_answer" if outcome == "lost" else "500"
            self.control.fault("/v1/payment_intents", kind, count=1, method="POST")
        elif outcome != "ok":
            self.control.set_card_decline(self.cards[account_id], outcome)
        try:
            self.service.expire_holds()
            self.service.run_auto_recharge()
        finally:
            if outcome in ("lost", "unreachable"):
                self.control.clear_faults()
            elif outcome != "ok":
                self.control.set_card_decline(self.cards[account_id], None)
        self._collect_intents()
        self.deliver()

    def deliver(self) -> None:
        """Deliver every event Stripe made since the last look to the app, oldest first,
        each signed at the test clock's time (the emulator's own deliveries sign at the
        real time, which a clock months ahead would refuse)."""
        since, self.events_since = self.events_since, self.clock.timestamp()
        found = self.stripe.v1.events.list(params={"limit": 100, "created": {"gte": since}})
        new = [e for e in found.auto_paging_iter() if e.id not in self.delivered]
        for evt in reversed(new):
            self.delivered.add(evt.id)
            payload = json.dumps(evt.to_dict()).encode()
            signature = sign(payload, NEW_SECRET, self.clock.timestamp())
            response = self.app.post(
                "/billing/webhook",
                content=payload,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            )
            assert response.status_code == 200, (evt.type, response.text)

    # Observing ----------------------------------------------------------------------------
    def _collect_intents(self) -> None:
        """Every recharge PaymentIntent made since the last look (this run's, as each look
        follows a run that called Stripe)."""
        since, self.intents_since = self.intents_since, self.clock.timestamp()
        found = self.stripe.v1.payment_intents.list(
            params={"limit": 100, "created": {"gte": since}}
        )
        for pi in found.auto_paging_iter():
            meta = pi.metadata.to_dict() if pi.metadata else {}
            mine = meta.get("account_id") in self.cards
            if not mine or "attempt" not in meta or pi.id in self.model.intents:
                continue
            self.model.intents[pi.id] = meta["attempt"]
            if pi.status == "succeeded":
                charge = Charge(meta["account_id"], meta["attempt"], pi.id, pi.amount, self.clock())
                self.model.charges.append(charge)
            self.log.append(f"  stripe {pi.status} {meta['attempt']} {pi.amount}")

    def _read(self) -> tuple[list[Any], list[Any], tuple[Any, ...]]:
        """This harness's accounts' attempts and recharge credits, and the ledger's
        fingerprint, in one visit."""
        pks = {"pks": list(self.pks.values())}
        with self.service.engine.connect() as connection:
            attempts = connection.execute(
                sa.text(
                    "SELECT a.id, a.attempt_key, c.account_id, a.status, a.payment_intent_id "
                    "FROM recharge_attempts a JOIN accounts c ON c.id = a.account_pk "
                    "WHERE a.account_pk IN :pks ORDER BY a.id"
                ).bindparams(_PKS),
                pks,
            ).all()
            credits = connection.execute(
                sa.text(
                    "SELECT source, amount_cents FROM ledger_entries "
                    "WHERE source LIKE 'payment_intent:%' AND account_pk IN :pks"
                ).bindparams(_PKS),
                pks,
            ).all()
            fingerprint = tuple(connection.execute(sa.text(_FINGERPRINT)).one())
        return list(attempts), list(credits), fingerprint

    def check(self) -> None:
        """Every invariant, now."""
        attempts, credits, fingerprint = self._read()
        for attempt_id, key, account_id, _, _ in attempts:
            if attempt_id > self.model.attempts_seen:  # newly armed: under today's terms
                self.model.armed_under[str(key)] = self.model.terms[str(account_id)]
                self.model.attempts_seen = int(attempt_id)
                self.log.append(f"  armed {key}")
        in_flight: dict[str, int] = defaultdict(int)
        for _, _, account_id, status, _ in attempts:
            in_flight[str(account_id)] += status == "pending"
        assert max(in_flight.values(), default=0) <= 1, f"two attempts in flight: {in_flight}"
        per_attempt: dict[str, int] = defaultdict(int)
        for attempt_key in self.model.intents.values():
            per_attempt[attempt_key] += 1
        doubled = {k: n for k, n in per_attempt.items() if n > 1}
        assert not doubled, f"an attempt charged at Stripe more than once: {doubled}"
        # Every succeeded charge credited exactly once, and nothing else credited as one.
        charges = self.model.charges
        expected = sorted(
            (f"payment_intent:{c.payment_intent_id}", c.amount_cents) for c in charges
        )
        assert sorted((str(s), int(a)) for s, a in credits) == expected
        states = {str(k): (str(s), p) for _, k, _, s, p in attempts}
        for charge in charges:
            state = states[charge.attempt_key]
            assert state == ("succeeded", charge.payment_intent_id), (charge, state)
        self._check_caps()
        self._verify_if_written(fingerprint)

    def _verify_if_written(self, fingerprint: tuple[Any, ...]) -> None:
        """``ledger verify`` whenever the step wrote money, a hold or a grant draw.

        The full verify (grant invariants included) costs tens of milliseconds; a step that
        wrote none of these (a clock move, a rule change, a refused debit, a decline) leaves
        the ledger as the last verify found it, which the fingerprint shows."""
        if fingerprint == self.verified:
            return
        verification = self.service.verify_ledger()
        assert verification.ok, verification
        self.verified = fingerprint
        self.verifies += 1

    def _check_caps(self) -> None:
        by_account: dict[str, list[Charge]] = defaultdict(list)
        for charge in self.model.charges:
            by_account[charge.account_id].append(charge)
        for account_id, charges in by_account.items():
            charges.sort(key=lambda c: (c.at, c.attempt_key))
            months: dict[tuple[int, int], list[Charge]] = defaultdict(list)
            for previous, charge in zip([None, *charges], charges, strict=False):
                terms = self.model.armed_under[charge.attempt_key]
                month = months[month_of(charge.at)]
                month.append(charge)
                total = sum(c.amount_cents for c in month)
                assert total <= terms.monthly_cap_cents, (
                    f"{account_id} charged {total} in {month_of(charge.at)} "
                    f"over the cap {terms.monthly_cap_cents}: {month}"
                )
                if terms.monthly_count is not None:
                    assert len(month) <= terms.monthly_count, (account_id, month, terms)
                if previous is not None:
                    gap = (charge.at - previous.at).total_seconds()
                    assert gap >= terms.cooldown_seconds, (
                        f"{account_id}: charges {gap:.0f}s apart, cooldown "
                        f"{terms.cooldown_seconds}s: {previous} then {charge}"
                    )

    def story(self) -> str:
        """The last steps and every attempt with its times, for a failure's message."""
        with self.service.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT attempt_key, status, amount_cents, created_at, finished_at, "
                    "payment_intent_id, reason FROM recharge_attempts "
                    "WHERE account_pk IN :pks ORDER BY id"
                ).bindparams(_PKS),
                {"pks": list(self.pks.values())},
            ).all()
        steps = "\n".join(self.log)
        attempts = "\n".join(" ".join(str(v) for v in row) for row in rows[-30:])
        return f"last steps:\n{steps}\nattempts:\n{attempts}"

    def summary(self) -> dict[str, Any]:
        """What the run did, to show a sequence exercised the cap (not only the debits)."""
        with self.service.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT status, COUNT(*) FROM recharge_attempts "
                    "WHERE account_pk IN :pks GROUP BY status"
                ).bindparams(_PKS),
                {"pks": list(self.pks.values())},
            ).all()
        months: dict[tuple[str, tuple[int, int]], int] = defaultdict(int)
        for c in self.model.charges:
            months[(c.account_id, month_of(c.at))] += c.amount_cents
        return {
            "attempts": {str(s): int(n) for s, n in rows},
            "charges": len(self.model.charges),
            "account_months": len(months),
            "month_totals": sorted(months.values()),
            "verifies": self.verifies,
        }


def random_terms(rng: Any) -> RuleTerms:
    """Terms of a rule: a threshold, a fixed amount or a target, a cap, maybe a count, a
    cooldown; small enough that the cap and count bind within a month."""
    below = rng.randrange(300, 1500)
    if rng.random() < 0.6:
        amount, up_to = rng.randrange(500, 3000), None
        smallest = amount
    else:
        amount, up_to = None, below + rng.randrange(100, 3000)
        smallest = 50
    cap = rng.randrange(max(smallest, 2000), 12000)
    count = rng.choice([None, None, 1, 2, 3, 5])
    cooldown = rng.choice([0, 30, 600, 3600, 6 * 3600, 86400])
    return RuleTerms(
        below_cents=below,
        amount_cents=amount,
        up_to_cents=up_to,
        monthly_cap_cents=cap,
        monthly_count=count,
        cooldown_seconds=cooldown,
    )


def random_step(harness: Harness, rng: Any) -> str:
    """Carry out one random operation; its name."""
    name = _random_step(harness, rng)
    harness.log.append(f"{harness.clock().isoformat()} {name}")
    return name


def _random_step(harness: Harness, rng: Any) -> str:
    account = rng.choice(harness.accounts)
    roll = rng.random()
    if roll < 0.24:
        cents = rng.randrange(1, 1000)
        harness.debit(account, cents)
        return f"debit {account} {cents}"
    if roll < 0.34:
        cents = rng.randrange(1, 1000)
        harness.debit_over_api(account, cents)
        return f"api debit {account} {cents}"
    if roll < 0.39:
        harness.hold(account, rng.randrange(1, 800), rng.choice([30, 600, 7200]))
        return "hold"
    if roll < 0.43:
        harness.capture(rng.randrange(100), rng.choice([None, rng.randrange(1, 400)]))
        return "capture"
    if roll < 0.45:
        harness.release(rng.randrange(100))
        return "release"
    if roll < 0.47:
        cents = rng.randrange(100, 2000)
        harness.credit(account, cents)
        return f"credit {account} {cents}"
    if roll < 0.67:
        outcome = rng.choices(OUTCOMES, weights=[62, 8, 6, 4, 10, 10])[0]
        harness.work(outcome, account)
        return f"work {outcome} ({account})"
    if roll < 0.90:
        kind = rng.random()
        if kind < 0.50:
            harness.advance(rng.randrange(1, 300))
        elif kind < 0.82:
            harness.advance(rng.randrange(300, 3 * 3600))
        elif kind < 0.96:
            harness.advance(rng.randrange(3 * 3600, 86400))
        elif kind < 0.99:
            harness.to_month_end(rng.randrange(0, 900))
        else:
            harness.advance(rng.randrange(86400, 10 * 86400))
        return "clock"
    if roll < 0.96:
        terms = random_terms(rng)
        harness.set_rule(account, terms)
        return f"rule {account} {terms}"
    if roll < 0.97:
        harness.pause(account)
        return f"pause {account}"
    harness.resume(account)
    return f"resume {account}"
