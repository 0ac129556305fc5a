"""The recharge room's answers: saved cards, and the doors a consent can come through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, IsoTime
from stripetopup.models import CardStatus


class ConsentDoor(StrEnum):
    """Where the buyer ticked "save my card": recorded with the consent."""

    CLI = "cli"
    API = "api"
    TOPUP_PAGE = "topup_page"


class CardAnswer(Answer):
    payment_method_id: str = Field(description="The saved PaymentMethod (pm_...).")
    customer_id: str = Field(description="The Stripe Customer it is attached to (cus_...).")
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: CardStatus
    consent_at: IsoTime = Field(description="When the buyer asked to save the card.")
    consent_version: str = Field(description="The version of the consent text shown.")
    consent_door: ConsentDoor
    ended_at: IsoTime | None
    ended_reason: str | None


@dataclass(frozen=True)
class CardView(Answered):
    answer_model = CardAnswer

    payment_method_id: str
    customer_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: CardStatus
    consent_at: datetime
    consent_version: str
    consent_door: ConsentDoor
    ended_at: datetime | None
    ended_reason: str | None


class CardListAnswer(Answer):
    account_id: str
    cards: list[CardAnswer] = Field(description="Every card saved for the account, oldest first.")


@dataclass(frozen=True)
class CardList(Answered):
    answer_model = CardListAnswer

    account_id: str
    cards: tuple[CardView, ...]


@dataclass(frozen=True)
class CardFacts:
    """What Stripe says of the card a paid session saved (gathered before the transaction)."""

    payment_method_id: str
    customer_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
