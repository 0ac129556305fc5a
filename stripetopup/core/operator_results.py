"""What ``payments assign|dismiss|show`` and ``ledger verify`` hand back: frozen dataclasses.

Each has ``to_json()`` (integer cents plus a ``"5.00"`` string). Imports core.results,
models (to read a row) and money only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stripetopup.core.results import Payment
from stripetopup.models import PaymentResolution
from stripetopup.money import format_cents


@dataclass(frozen=True)
class Resolution:
    """An operator's decision on a payment: ``assigned`` (credited) or ``dismissed``.

    ``changed`` is False when the payment was already so (a repeat is a no-op).
    ``reversals`` are the refunds/disputes Stripe had already made on an assigned payment,
    debited in the same transaction as its credit: ``(source, signed cents)``.
    """

    action: str
    changed: bool
    payment: Payment
    entry_id: int | None = None
    amount_cents: int | None = None
    reversals: tuple[tuple[str, int], ...] = ()
    balance_cents: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "status": "applied" if self.changed else "already_applied",
            "payment": self.payment.to_json(),
            "entry_id": self.entry_id,
            "amount_cents": self.amount_cents,
            "reversals": [{"source": s, "amount_cents": a} for s, a in self.reversals],
            "balance_cents": self.balance_cents,
            "balance": format_cents(self.balance_cents) if self.balance_cents is not None else None,
        }


@dataclass(frozen=True)
class Decision:
    """One entry of a payment's resolution history: who decided what, when and why.

    ``action`` is ``assigned`` or ``dismissed``; ``forced`` marks an assign that overrode
    a dismissal (``payments assign --force``).
    """

    action: str
    forced: bool
    account_id: str | None
    actor: str
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: PaymentResolution) -> Decision:
        return cls(row.action, row.forced, row.account_id, row.actor, row.reason, row.created_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "forced": self.forced,
            "account_id": self.account_id,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class PaymentDetail:
    """``payments show``: one payment and every decision an operator made on it."""

    payment: Payment
    history: tuple[Decision, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.payment.to_json(), "history": [d.to_json() for d in self.history]}


@dataclass(frozen=True)
class BalanceDifference:
    """An account whose cached balance is not the sum of its entries."""

    account_id: str
    balance_cents: int
    entries_cents: int

    @property
    def difference_cents(self) -> int:
        return self.balance_cents - self.entries_cents

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "balance_cents": self.balance_cents,
            "entries_cents": self.entries_cents,
            "difference_cents": self.difference_cents,
            "difference": format_cents(self.difference_cents),
        }


@dataclass(frozen=True)
class LedgerVerification:
    """``ledger verify``: how many accounts were checked and which differ."""

    accounts: int
    differences: tuple[BalanceDifference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "differences": [d.to_json() for d in self.differences],
        }
