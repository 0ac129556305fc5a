"""What ``payments assign|dismiss|show`` and ``ledger verify`` hand back: frozen dataclasses.

Each names its answer model (integer cents plus a ``"5.00"`` string). Imports core.answers,
core.results, models (to read a row) and money only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime
from stripetopup.core.results import Applied, Payment, PaymentAnswer
from stripetopup.models import PaymentResolution


class ReversalAnswer(Answer):
    source: str = Field(description="refund:re_... or dispute:du_...")
    amount_cents: int = Field(description="Signed: what the ledger entry moved.")


class ResolutionAnswer(Answer):
    action: Literal["assigned", "dismissed"]
    status: Applied = Field(description="already_applied: the payment was already so.")
    payment: PaymentAnswer
    entry_id: int | None
    amount_cents: int | None
    reversals: list[ReversalAnswer]
    balance_cents: int | None
    balance: str | None = Field(examples=["5.00"])

    @classmethod
    def of(cls, result: Any) -> Self:
        reversals = [ReversalAnswer(source=s, amount_cents=a) for s, a in result.reversals]
        return cls.model_validate({**_attributes(result, cls), "reversals": reversals})


def _attributes(result: Any, model: type[Answer]) -> dict[str, Any]:
    """The attributes of ``result`` that ``model`` has fields for, by name."""
    return {name: getattr(result, name) for name in model.model_fields if hasattr(result, name)}


@dataclass(frozen=True)
class Resolution(Answered):
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

    answer_model = ResolutionAnswer

    @property
    def status(self) -> Applied:
        return "applied" if self.changed else "already_applied"

    balance = Dollars("balance_cents")


class DecisionAnswer(Answer):
    action: Literal["assigned", "dismissed"]
    forced: bool = Field(description="An assign that overrode a dismissal.")
    account_id: str | None
    actor: str
    reason: str
    at: IsoTime


@dataclass(frozen=True)
class Decision(Answered):
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

    answer_model = DecisionAnswer


class PaymentDetailAnswer(PaymentAnswer):
    history: list[DecisionAnswer] = Field(description="Every operator decision, oldest first.")

    @classmethod
    def of(cls, result: Any) -> Self:
        payment = PaymentAnswer.of(result.payment).model_dump()
        return cls.model_validate({**payment, "history": list(result.history)})


@dataclass(frozen=True)
class PaymentDetail(Answered):
    """``payments show``: one payment and every decision an operator made on it."""

    payment: Payment
    history: tuple[Decision, ...]

    answer_model = PaymentDetailAnswer


class BalanceDifferenceAnswer(Answer):
    account_id: str
    balance_cents: int = Field(description="The balance cached on the account.")
    entries_cents: int = Field(description="The sum of the account's entries.")
    difference_cents: int
    difference: str = Field(examples=["0.50"])


@dataclass(frozen=True)
class BalanceDifference(Answered):
    """An account whose cached balance is not the sum of its entries."""

    answer_model = BalanceDifferenceAnswer

    account_id: str
    balance_cents: int
    entries_cents: int

    @property
    def difference_cents(self) -> int:
        return self.balance_cents - self.entries_cents

    difference = Dollars("difference_cents")


class LedgerVerificationAnswer(Answer):
    ok: bool = Field(description="True when every cached balance is the sum of its entries.")
    accounts: int
    differences: list[BalanceDifferenceAnswer]


@dataclass(frozen=True)
class LedgerVerification(Answered):
    """``ledger verify``: how many accounts were checked and which differ."""

    answer_model = LedgerVerificationAnswer

    accounts: int
    differences: tuple[BalanceDifference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences
