"""What the spend API hands back: a debit (:class:`Spent`), a hold and a change to a hold.

Frozen dataclasses with ``to_json()``, like :mod:`stripetopup.core.results`. Their JSON
depends only on what the operation wrote, so a retried request (same idempotency key,
same input) answers with exactly the body of the first one; ``created`` says whether
this call wrote anything and is not part of the JSON. Imports models, money and results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stripetopup.core.results import Entry
from stripetopup.models import Hold
from stripetopup.money import format_cents


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Spent:
    """A debit of the host application: the ledger entry, and whether this call wrote it."""

    entry: Entry
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "object": "debit",
            "account_id": self.entry.account_id,
            "amount_cents": -self.entry.amount_cents,
            "amount": format_cents(-self.entry.amount_cents),
            "currency": self.entry.currency,
            "balance_after_cents": self.entry.balance_after_cents,
            "balance_after": format_cents(self.entry.balance_after_cents),
            "entry": self.entry.to_json(),
        }


@dataclass(frozen=True)
class HoldView:
    """A hold as the caller sees it; ``status`` is ``expired`` once an open hold is past due.

    Statuses: ``open`` (counts against the available balance), ``captured`` (a debit was
    written for ``captured_cents``; the rest was released), ``released``, ``expired``.
    """

    hold_id: str
    account_id: str
    amount_cents: int
    captured_cents: int
    currency: str
    status: str
    reason: str | None
    actor: str
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, row: Hold, account_id: str, now: datetime) -> HoldView:
        status = row.status
        if status == "open" and row.expires_at <= now:
            status = "expired"
        return cls(
            hold_id=row.hold_id,
            account_id=account_id,
            amount_cents=row.amount_cents,
            captured_cents=row.captured_cents,
            currency=row.currency,
            status=status,
            reason=row.reason,
            actor=row.actor,
            expires_at=row.expires_at,
            created_at=row.created_at,
            closed_at=row.closed_at,
        )

    def as_placed(self) -> HoldView:
        """The hold as its placement answered (what a retried placement answers again)."""
        return replace(self, status="open", captured_cents=0, closed_at=None)

    @property
    def held_cents(self) -> int:
        """What the hold still takes off the available balance."""
        return self.amount_cents - self.captured_cents if self.status == "open" else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "object": "hold",
            "id": self.hold_id,
            "account_id": self.account_id,
            "status": self.status,
            "amount_cents": self.amount_cents,
            "amount": format_cents(self.amount_cents),
            "captured_cents": self.captured_cents,
            "held_cents": self.held_cents,
            "currency": self.currency,
            "reason": self.reason,
            "expires_at": _iso(self.expires_at),
            "created_at": _iso(self.created_at),
            "closed_at": _iso(self.closed_at),
        }


@dataclass(frozen=True)
class HoldChange:
    """The answer to place, capture or release: the hold, the capture's entry, and
    whether this call changed anything."""

    hold: HoldView
    created: bool
    entry: Entry | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.hold.to_json()
        if self.entry is not None:
            data["entry"] = self.entry.to_json()
        return data
