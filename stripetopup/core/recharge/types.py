"""The recharge room's answers: saved cards, and the doors a consent can come through; and
the shape of the Checkout link maker the worker is given (:data:`ActionLinkMaker`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, IsoTime
from stripetopup.models import AttemptStatus, CardStatus, RuleState

if TYPE_CHECKING:
    from stripetopup.core.context import Context


class ConsentDoor(StrEnum):
    """Where the buyer ticked "save my card": recorded with the consent."""

    CLI = "cli"
    API = "api"
    TOPUP_PAGE = "topup_page"
    # The Checkout link of a recharge the bank wanted authenticated: the buyer, paying it
    # on-session, saves the card again for the rule they set (Checkout states the terms).
    RECHARGE_LINK = "recharge_link"


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


@dataclass(frozen=True)
class RuleTerms:
    """What an operator or host asks for (validated by :mod:`.rules`): a fixed ``amount_cents``
    or a target ``up_to_cents``, exactly one."""

    below_cents: int
    monthly_cap_cents: int
    amount_cents: int | None = None
    up_to_cents: int | None = None
    monthly_count: int | None = None
    cooldown_seconds: int = 600


class AttemptAnswer(Answer):
    attempt_key: str = Field(description="The attempt's unique key (account and episode).")
    status: AttemptStatus
    amount_cents: int
    currency: str
    payment_method_id: str
    reason: str | None = Field(description="Why it failed or is waiting, when it did.")
    payment_intent_id: str | None
    created_at: IsoTime
    finished_at: IsoTime | None
    checkout_session_id: str | None = Field(
        description="requires_action: the Checkout Session made for the buyer to pay "
        "on-session (null until the worker made it)."
    )
    checkout_url: str | None = Field(description="requires_action: where to send the buyer.")
    checkout_error: str | None = Field(
        description="requires_action: why Stripe refused to make the link (none is tried again)."
    )


@dataclass(frozen=True)
class AttemptView(Answered):
    answer_model = AttemptAnswer

    attempt_key: str
    status: AttemptStatus
    amount_cents: int
    currency: str
    payment_method_id: str
    reason: str | None
    payment_intent_id: str | None
    created_at: datetime
    finished_at: datetime | None
    checkout_session_id: str | None = None
    checkout_url: str | None = None
    checkout_error: str | None = None


class RuleAnswer(Answer):
    account_id: str
    status: RuleState = Field(description="active, or paused (paused_reason says why).")
    paused_reason: str | None
    below_cents: int = Field(description="Recharge when the available balance falls below.")
    amount_cents: int | None = Field(description="A fixed amount per charge (or up_to_cents).")
    up_to_cents: int | None = Field(description="Charge up to this available balance.")
    monthly_cap_cents: int = Field(description="At most this much charged per calendar month.")
    monthly_count: int | None = Field(description="At most this many charges a month.")
    cooldown_seconds: int = Field(description="At least this long between two charges.")
    card: CardAnswer | None = Field(description="The saved card a recharge charges.")
    attempts: list[AttemptAnswer] = Field(description="The latest attempts, newest first.")
    updated_at: IsoTime


@dataclass(frozen=True)
class RuleView(Answered):
    answer_model = RuleAnswer

    account_id: str
    status: RuleState
    paused_reason: str | None
    below_cents: int
    amount_cents: int | None
    up_to_cents: int | None
    monthly_cap_cents: int
    monthly_count: int | None
    cooldown_seconds: int
    card: CardView | None
    attempts: tuple[AttemptView, ...]
    updated_at: datetime


class RuleOffAnswer(Answer):
    account_id: str
    deleted: bool = Field(description="False when the account had no rule.")


@dataclass(frozen=True)
class RuleOff(Answered):
    answer_model = RuleOffAnswer

    account_id: str
    deleted: bool


class RechargeRunAnswer(Answer):
    results: dict[str, str] = Field(
        description="Each attempt charged in this run, by key: the state it is in now."
    )
    links: dict[str, str] = Field(
        description="Each requires_action attempt this run made a Checkout link for, by key: "
        "the session (cs_...), or why it has none yet."
    )


@dataclass(frozen=True)
class RechargeRun(Answered):
    """What one pass of the recharge worker did."""

    answer_model = RechargeRunAnswer

    results: dict[str, str]
    links: dict[str, str]


@dataclass(frozen=True)
class ActionLinkRequest:
    """What a requires_action attempt's Checkout link is made of: the attempt's amount,
    currency and customer, for its account."""

    attempt_key: str
    account_id: str
    amount_cents: int
    currency: str
    customer_id: str


@dataclass(frozen=True)
class ActionLink:
    """The Checkout Session made for one attempt."""

    checkout_session_id: str
    url: str


# Makes (or, under the same Idempotency-Key, finds again) the attempt's Checkout Session.
# The checkout room has it (core.checkout.recharge_sessions.create); the service hands it to
# the worker, since the recharge room may not import checkout (checkout imports recharge).
ActionLinkMaker = Callable[["Context", ActionLinkRequest], ActionLink]
