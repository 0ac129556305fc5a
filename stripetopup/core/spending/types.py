"""What the spend API hands back: a debit (:class:`Spent`), a hold and a change to a hold.

Frozen dataclasses naming their answer models, like the rooms' types modules. Their
JSON depends only on what the operation wrote, so a retried request (same idempotency key,
same input) answers with exactly the body of the first one; ``created`` says whether
this call wrote anything and is not part of the JSON. Imports models, money, answers and
results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime, is_none
from stripetopup.core.ledger.types import Entry, EntryAnswer
from stripetopup.models import Hold


class SpentAnswer(Answer):
    object: Literal["debit"] = "debit"
    account_id: str
    amount_cents: int = Field(description="Cents debited (positive).")
    amount: str = Field(examples=["1.00"])
    currency: str
    balance_after_cents: int
    balance_after: str = Field(examples=["4.00"])
    entry: EntryAnswer


@dataclass(frozen=True)
class Spent(Answered):
    """A debit of the host application: the ledger entry, and whether this call wrote it."""

    entry: Entry
    created: bool

    answer_model = SpentAnswer

    @property
    def account_id(self) -> str:
        return self.entry.account_id

    @property
    def amount_cents(self) -> int:
        return -self.entry.amount_cents

    amount = Dollars("amount_cents")

    @property
    def currency(self) -> str:
        return self.entry.currency

    @property
    def balance_after_cents(self) -> int:
        return self.entry.balance_after_cents

    balance_after = Dollars("balance_after_cents")


class HoldAnswer(Answer):
    object: Literal["hold"] = "hold"
    id: str = Field(validation_alias=AliasChoices("id", "hold_id"), examples=["hold_" + "0" * 24])
    account_id: str
    status: str = Field(description="open, captured, released or expired.")
    amount_cents: int
    amount: str = Field(examples=["2.50"])
    captured_cents: int
    held_cents: int = Field(description="What the hold still takes off the available balance.")
    currency: str
    reason: str | None
    expires_at: IsoTime
    created_at: IsoTime
    closed_at: IsoTime | None


@dataclass(frozen=True)
class HoldView(Answered):
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

    answer_model = HoldAnswer

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

    amount = Dollars("amount_cents")


class HoldChangeAnswer(HoldAnswer):
    entry: EntryAnswer | None = Field(
        None, exclude_if=is_none, description="Only on a capture: its ledger entry."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        hold = HoldAnswer.of(result.hold).model_dump()
        return cls.model_validate({**hold, "entry": result.entry})


@dataclass(frozen=True)
class HoldChange(Answered):
    """The answer to place, capture or release: the hold, the capture's entry, and
    whether this call changed anything."""

    hold: HoldView
    created: bool
    entry: Entry | None = None

    answer_model = HoldChangeAnswer
