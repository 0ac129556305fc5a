"""The grants room's answers: one grant, an account's grants, a grant given through the
spend API, and one run of the expiry job. Imports models, answers and the ledger's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime
from stripetopup.core.ledger.types import Posted, PostedAnswer
from stripetopup.models import CreditGrant, GrantStatus

Applied = Literal["applied", "already_applied"]


class GrantAnswer(Answer):
    object: Literal["grant"] = "grant"
    grant_id: str = Field(examples=["grant_0123456789abcdef01234567"])
    account_id: str
    category: str = Field(description="paid or promotional.")
    priority: int = Field(description="0 to 100; lower is spent first.")
    amount_cents: int = Field(description="What the credit granted.")
    remaining_cents: int = Field(description="What is left of it (not yet spent or expired).")
    amount: str = Field(examples=["5.00"])
    remaining: str = Field(examples=["2.50"])
    currency: str
    status: str = Field(description="live, or expired once its remainder was written off.")
    effective_at: IsoTime
    expires_at: IsoTime | None = Field(description="None: never expires.")
    source: str = Field(description="The credit entry's source, e.g. checkout_session:cs_...")
    created_at: IsoTime
    expired_at: IsoTime | None


@dataclass(frozen=True)
class GrantView(Answered):
    """One credit grant as an operator or the host application sees it."""

    answer_model = GrantAnswer

    grant_id: str
    account_id: str
    category: str
    priority: int
    amount_cents: int
    remaining_cents: int
    currency: str
    status: str
    effective_at: datetime
    expires_at: datetime | None
    source: str
    created_at: datetime
    expired_at: datetime | None

    amount = Dollars("amount_cents")
    remaining = Dollars("remaining_cents")

    @classmethod
    def of(cls, row: CreditGrant, account_id: str) -> GrantView:
        return cls(
            row.grant_id,
            account_id,
            row.category,
            row.priority,
            row.amount_cents,
            row.remaining_cents,
            row.currency,
            row.status,
            row.effective_at,
            row.expires_at,
            row.source,
            row.created_at,
            row.expired_at,
        )

    @property
    def live(self) -> bool:
        return self.status == GrantStatus.LIVE


class GrantListAnswer(Answer):
    account_id: str
    grants: list[GrantAnswer] = Field(description="In burn-down order: spent first, first.")


@dataclass(frozen=True)
class GrantList(Answered):
    """An account's grants in burn-down order (live ones with cents left, or all)."""

    answer_model = GrantListAnswer

    account_id: str
    grants: tuple[GrantView, ...]


class GrantedAnswer(PostedAnswer):
    grant: GrantAnswer | None = Field(
        description="The grant the credit made (None: it all went back to an earlier grant "
        "or settled a negative balance)."
    )


@dataclass(frozen=True)
class Granted(Posted):
    """A credit given as a grant: a posting (its entry, whether this call wrote it) and the
    grant it made."""

    answer_model = GrantedAnswer

    grant: GrantView | None = None


class ExpiryRunAnswer(Answer):
    expired: int = Field(description="Grants written off (or closed empty) by this run.")
    expired_cents: int = Field(description="Cents written off by this run's expiry entries.")
    expired_amount: str = Field(examples=["5.00"])
    waiting: int = Field(description="Grants past expiry kept for an open hold's capture.")
    grant_ids: list[str] = Field(description="The grants this run expired.")


@dataclass(frozen=True)
class ExpiryRun(Answered):
    """One run of the expiry job (``grants expire``, or ``serve``'s background job)."""

    answer_model = ExpiryRunAnswer

    expired: int
    expired_cents: int
    waiting: int
    grant_ids: tuple[str, ...]

    expired_amount = Dollars("expired_cents")
