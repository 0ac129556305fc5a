"""What ``reconcile`` and ``replay`` hand back: frozen dataclasses with ``to_json()``.

A leaf of core: imports only results helpers, the difference kinds, models' states and
money formatting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from stripetopup.core.reconcile_kinds import KINDS as KINDS  # re-exported: callers read it here
from stripetopup.core.reconcile_kinds import DifferenceKind
from stripetopup.core.results import EventOutcome
from stripetopup.models import EventResult
from stripetopup.money import format_cents


@dataclass(frozen=True)
class Difference:
    """One session where Stripe and the ledger disagree, and what fixes it.

    ``amount_cents`` is Stripe's side (what was paid, refunded or withdrawn) and
    ``local_cents`` ours; ``action`` says what ``--fix`` did, and ``fixed`` whether that
    resolved the difference.
    """

    kind: DifferenceKind
    checkout_session_id: str
    account_id: str | None
    amount_cents: int | None
    local_cents: int | None
    currency: str
    detail: str
    fix: str
    payment_intent_id: str | None = None
    fixed: bool = False
    action: str | None = None

    @property
    def fixable(self) -> bool:
        return KINDS[self.kind]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fixable"] = self.fixable
        for key in ("amount_cents", "local_cents"):
            cents = data[key]
            data[key.removesuffix("_cents")] = format_cents(cents) if cents is not None else None
        return data


@dataclass(frozen=True)
class ReconcileReport:
    """Counts for the whole window, and the differences when they were not streamed."""

    since: datetime
    until: datetime
    fix: bool
    sessions: int
    pages: int
    by_kind: dict[DifferenceKind, int]
    fixed: int
    remaining: int
    items: tuple[Difference, ...] = field(default=())

    @property
    def differences(self) -> int:
        return sum(self.by_kind.values())

    @property
    def clean(self) -> bool:
        """True when nothing remains to fix (exit code 0)."""
        return self.remaining == 0

    def summary_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "fix": self.fix,
            "sessions": self.sessions,
            "pages": self.pages,
            "differences": self.differences,
            "fixed": self.fixed,
            "remaining": self.remaining,
            "by_kind": {kind: self.by_kind.get(kind, 0) for kind in KINDS},
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary_json(), "items": [d.to_json() for d in self.items]}


@dataclass(frozen=True)
class ReplayBatch:
    """The outcome of replaying every stored failed event."""

    outcomes: tuple[EventOutcome, ...]

    @property
    def failed(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == EventResult.FAILED)

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        return {
            "summary": {"events": len(self.outcomes), "by_result": counts},
            "items": [outcome.to_json() for outcome in self.outcomes],
        }
