"""The reconcile room's answers: one difference and the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from pydantic import Field, field_validator

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime
from stripetopup.core.reconcile.kinds import KINDS as KINDS  # re-exported: callers read it here
from stripetopup.core.reconcile.kinds import DifferenceKind


class DifferenceAnswer(Answer):
    kind: str = Field(description="One of: " + ", ".join(KINDS) + ".")
    checkout_session_id: str | None = Field(
        description="The Checkout Session; null for an auto-recharge charge (see "
        "payment_intent_id)."
    )
    account_id: str | None
    amount_cents: int | None = Field(
        description="Stripe's side: what a paid session credits, refunded or withdrawn."
    )
    local_cents: int | None = Field(description="The ledger's side.")
    currency: str
    detail: str
    fix: str = Field(description="What fixes it.")
    payment_intent_id: str | None
    fixed: bool = Field(description="Whether --fix resolved it.")
    action: str | None = Field(description="What --fix did.")
    fixable: bool = Field(description="Whether --fix can fix this kind.")
    amount: str | None = Field(examples=["5.00"])
    local: str | None = Field(examples=["5.00"])


@dataclass(frozen=True)
class Difference(Answered):
    """One session (or auto-recharge PaymentIntent) where Stripe and the ledger disagree,
    and what fixes it.

    ``checkout_session_id`` is None for an off-session auto-recharge charge, which has only
    its ``payment_intent_id``.

    ``amount_cents`` is Stripe's side (what a paid session credits by the credit rule,
    what was refunded or withdrawn) and
    ``local_cents`` ours; ``action`` says what ``--fix`` did, and ``fixed`` whether that
    resolved the difference.
    """

    kind: DifferenceKind
    checkout_session_id: str | None
    account_id: str | None
    amount_cents: int | None
    local_cents: int | None
    currency: str
    detail: str
    fix: str
    payment_intent_id: str | None = None
    fixed: bool = False
    action: str | None = None

    answer_model = DifferenceAnswer

    @property
    def fixable(self) -> bool:
        return KINDS[self.kind]

    @property
    def subject(self) -> str:
        """What differs: the session's id, or a recharge charge's PaymentIntent id."""
        return self.checkout_session_id or self.payment_intent_id or "?"

    amount = Dollars("amount_cents")

    local = Dollars("local_cents")


class ReconcileSummaryAnswer(Answer):
    since: IsoTime
    until: IsoTime
    fix: bool
    sessions: int = Field(description="Checkout Sessions Stripe listed for the window.")
    payment_intents: int = Field(
        description="Auto-recharge PaymentIntents (metadata naming account and attempt) "
        "Stripe listed for the window."
    )
    pages: int
    differences: int
    fixed: int
    remaining: int = Field(description="Differences left: the exit code is 1 unless 0.")
    grant_problems: int = Field(
        description="Broken credit grant invariants (see ledger verify); the exit code is 1 "
        "unless 0."
    )
    by_kind: dict[str, int] = Field(description="Every kind, in report order, with its count.")

    @field_validator("by_kind", mode="before")
    @classmethod
    def _every_kind(cls, by_kind: dict[str, int]) -> dict[str, int]:
        return {kind: by_kind.get(kind, 0) for kind in KINDS}


class ReconcileAnswer(Answer):
    summary: ReconcileSummaryAnswer
    items: list[DifferenceAnswer]

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(summary=ReconcileSummaryAnswer.of(result), items=result.items)


@dataclass(frozen=True)
class ReconcileReport(Answered):
    """Counts for the whole window, and the differences when they were not streamed."""

    answer_model = ReconcileAnswer

    since: datetime
    until: datetime
    fix: bool
    sessions: int
    pages: int
    by_kind: dict[DifferenceKind, int]
    fixed: int
    remaining: int
    items: tuple[Difference, ...] = field(default=())
    grant_problems: int = 0
    payment_intents: int = 0

    @property
    def differences(self) -> int:
        return sum(self.by_kind.values())

    @property
    def clean(self) -> bool:
        """True when nothing remains to fix and the grants hold (exit code 0)."""
        return self.remaining == 0 and self.grant_problems == 0

    def summary_json(self) -> dict[str, Any]:
        """The summary alone, for a report whose items were streamed as they were found."""
        return ReconcileSummaryAnswer.of(self).model_dump(mode="json")
