"""The ledger room's answers: balances, entries, postings, ``ledger verify``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime

# A balance's answers live apart, so reading a balance builds only them; named here too.
from stripetopup.core.ledger.balance_types import Balance as Balance
from stripetopup.core.ledger.balance_types import BalanceAnswer as BalanceAnswer
from stripetopup.core.ledger.balance_types import NextExpiry as NextExpiry
from stripetopup.core.ledger.balance_types import NextExpiryAnswer as NextExpiryAnswer

if TYPE_CHECKING:
    # Only named in Entry.of: a balance's answer is built without the ORM's tables.
    from sqlalchemy import Row

    from stripetopup.models import LedgerEntry

Applied = Literal["applied", "already_applied"]


class OpenedAccountAnswer(BalanceAnswer):
    created: bool = Field(description="False when the account existed already.")

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(**BalanceAnswer.of(result.balance).model_dump(), created=result.created)


@dataclass(frozen=True)
class OpenedAccount(Answered):
    """What opening an account did: ``created`` is False when it existed already."""

    answer_model = OpenedAccountAnswer

    balance: Balance
    created: bool

    @property
    def account_id(self) -> str:
        return self.balance.account_id


class EntryAnswer(Answer):
    id: int
    account_id: str
    amount_cents: int = Field(description="Signed: a credit is positive, a debit negative.")
    currency: str
    kind: str
    source: str = Field(description="What makes the entry unique, e.g. checkout_session:cs_...")
    balance_after_cents: int
    reason: str | None
    actor: str
    checkout_session_id: str | None
    payment_intent_id: str | None
    event_id: str | None
    created_at: IsoTime
    amount: str = Field(examples=["-5.00"])
    balance_after: str = Field(examples=["5.00"])


@dataclass(frozen=True)
class Entry(Answered):
    answer_model = EntryAnswer

    id: int
    account_id: str
    amount_cents: int
    currency: str
    kind: str
    source: str
    balance_after_cents: int
    reason: str | None
    actor: str
    checkout_session_id: str | None
    payment_intent_id: str | None
    event_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: LedgerEntry | Row[Any], account_id: str) -> Entry:
        """From a ``LedgerEntry`` or a core row of ``store.entries`` (the same names)."""
        assert row.id is not None
        return cls(
            id=row.id,
            account_id=account_id,
            amount_cents=row.amount_cents,
            currency=row.currency,
            kind=row.kind,
            source=row.source,
            balance_after_cents=row.balance_after_cents,
            reason=row.reason,
            actor=row.actor,
            checkout_session_id=row.checkout_session_id,
            payment_intent_id=row.payment_intent_id,
            event_id=row.event_id,
            created_at=row.created_at,
        )

    amount = Dollars("amount_cents")

    balance_after = Dollars("balance_after_cents")


class PostedAnswer(Answer):
    status: Applied = Field(description="already_applied: the key was used before.")
    entry: EntryAnswer
    balance_cents: int = Field(description="The balance right after this entry.")
    balance: str = Field(examples=["5.00"])


@dataclass(frozen=True)
class Posted(Answered):
    """The answer to a credit or debit: the entry, and whether this call wrote it."""

    answer_model: ClassVar[type[Answer]] = PostedAnswer  # Granted (core.grants) extends it

    entry: Entry
    created: bool

    @property
    def status(self) -> Applied:
        return "applied" if self.created else "already_applied"

    @property
    def balance_cents(self) -> int:
        return self.entry.balance_after_cents

    balance = Dollars("balance_cents")


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


class GrantProblemAnswer(Answer):
    account_id: str
    subject: str = Field(description="The grant id, the entry's source or the account id.")
    detail: str = Field(description="Which invariant is broken, in cents.")


@dataclass(frozen=True)
class GrantProblem(Answered):
    """A broken credit grant invariant (see docs/architecture.md, "Credit grants")."""

    answer_model = GrantProblemAnswer

    account_id: str
    subject: str
    detail: str


class LedgerVerificationAnswer(Answer):
    ok: bool = Field(
        description="True when every cached balance is the sum of its entries and every "
        "credit grant invariant holds."
    )
    accounts: int
    differences: list[BalanceDifferenceAnswer]
    grant_problems: list[GrantProblemAnswer]


@dataclass(frozen=True)
class LedgerVerification(Answered):
    """``ledger verify``: how many accounts were checked and which differ."""

    answer_model = LedgerVerificationAnswer

    accounts: int
    differences: tuple[BalanceDifference, ...]
    grant_problems: tuple[GrantProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences and not self.grant_problems
