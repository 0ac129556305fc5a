"""A balance's answers: :class:`Balance` and its next expiry, with their JSON models.

Apart from the room's other answers (``types``, which names these too) so that reading a
balance (``stripetopup balance``) builds only the models it prints. Imports pydantic and
``core.answers`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime


class NextExpiryAnswer(Answer):
    amount_cents: int = Field(description="What is left of the grants expiring then.")
    amount: str = Field(examples=["5.00"])
    expires_at: IsoTime


@dataclass(frozen=True)
class NextExpiry(Answered):
    """The soonest moment some of an account's credit expires, and how much."""

    answer_model = NextExpiryAnswer

    amount_cents: int
    expires_at: datetime

    amount = Dollars("amount_cents")


class BalanceAnswer(Answer):
    account_id: str
    balance_cents: int = Field(description="paid_cents + promotional_cents - deficit_cents.")
    balance: str = Field(description="balance_cents in dollars.", examples=["5.00"])
    paid_cents: int = Field(description="What is left of paid credit grants.")
    promotional_cents: int = Field(description="What is left of promotional credit grants.")
    deficit_cents: int = Field(
        description="Debits no grant covered (a negative balance), settled by the next credit."
    )
    held_cents: int = Field(description="Taken by open holds.")
    available_cents: int = Field(
        description="What may be spent now: grants in effect and not expired, less holds "
        "and the deficit (never more than balance_cents minus held_cents)."
    )
    available: str = Field(examples=["5.00"])
    next_expiry: NextExpiryAnswer | None = Field(
        description="The soonest expiry of some credit (None: none expires)."
    )
    currency: str
    low_balance_threshold_cents: int | None = Field(
        None,
        description="balance.low is sent when available_cents falls below this (the account's "
        "own threshold, else the default); None: no low-balance alerts for the account.",
    )
    below_threshold: bool = Field(False, description="True while available_cents is below it.")


@dataclass(frozen=True)
class Balance(Answered):
    answer_model = BalanceAnswer
    account_id: str
    balance_cents: int
    held_cents: int
    currency: str
    low_balance_threshold_cents: int | None = None
    below_threshold: bool = False
    paid_cents: int = 0
    promotional_cents: int = 0
    deficit_cents: int = 0
    spendable_cents: int | None = None  # None: not asked (a listing): balance less holds
    next_expiry: NextExpiry | None = None

    @property
    def available_cents(self) -> int:
        if self.spendable_cents is not None:
            return self.spendable_cents
        return self.balance_cents - self.held_cents

    balance = Dollars("balance_cents")

    available = Dollars("available_cents")
