"""The payments room's answers: a payment row, a resolution, a decision, a detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime, is_none
from stripetopup.core.ledger.types import Applied
from stripetopup.models import (
    PaymentResolution,
    StripePayment,
)


class PaymentAnswer(Answer):
    checkout_session_id: str
    account_id: str | None
    amount_requested_cents: int | None
    amount_total_cents: int | None = Field(
        description="What Stripe charged, tax included (the credit excludes the tax)."
    )
    currency: str
    status: str
    payment_status: str
    state: str
    attention_reason: str | None
    livemode: bool
    payment_intent_id: str | None
    credited_entry_id: int | None
    created_at: IsoTime
    resolved_by: str | None
    resolved_at: IsoTime | None
    resolution: str | None
    amount_total: str | None = Field(examples=["5.00"])
    # Only with invoice creation on (the JSON of a payment without a receipt is unchanged).
    invoice_id: str | None = Field(
        None, exclude_if=is_none, description="The receipt's invoice (in_...)."
    )
    hosted_invoice_url: str | None = Field(
        None, exclude_if=is_none, description="The receipt's page, hosted by Stripe."
    )


@dataclass(frozen=True)
class Payment(Answered):
    answer_model = PaymentAnswer

    checkout_session_id: str
    account_id: str | None
    amount_requested_cents: int | None
    amount_total_cents: int | None
    currency: str
    status: str
    payment_status: str
    state: str
    attention_reason: str | None
    livemode: bool
    payment_intent_id: str | None
    credited_entry_id: int | None
    created_at: datetime
    resolved_by: str | None = None  # an operator's assign/dismiss: who, when, why
    resolved_at: datetime | None = None
    resolution: str | None = None
    invoice_id: str | None = None  # the receipt (invoice_creation): its invoice and page
    hosted_invoice_url: str | None = None

    @classmethod
    def of(cls, row: StripePayment) -> Payment:
        return cls(
            checkout_session_id=row.checkout_session_id,
            account_id=row.account_id,
            amount_requested_cents=row.amount_requested_cents,
            amount_total_cents=row.amount_total_cents,
            currency=row.currency,
            status=row.status,
            payment_status=row.payment_status,
            state=row.state,
            attention_reason=row.attention_reason,
            livemode=row.livemode,
            payment_intent_id=row.payment_intent_id,
            credited_entry_id=row.credited_entry_id,
            created_at=row.created_at,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            resolution=row.resolution,
            invoice_id=row.invoice_id,
            hosted_invoice_url=row.hosted_invoice_url,
        )

    amount_total = Dollars("amount_total_cents")


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
