"""The checkout room's answers: a Checkout Session link, what a returning buyer is told
(a landing), and the hosted top-up page's signed links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AliasChoices, Field

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime


class CheckoutLinkAnswer(Answer):
    id: str = Field(
        validation_alias=AliasChoices("id", "checkout_session_id"),
        description="The Checkout Session's id (cs_...).",
    )
    url: str = Field(description="Stripe's hosted Checkout page: send the user there.")
    account_id: str
    amount_cents: int
    amount: str = Field(examples=["5.00"])
    currency: str


@dataclass(frozen=True)
class CheckoutLink(Answered):
    answer_model = CheckoutLinkAnswer

    checkout_session_id: str
    url: str
    account_id: str
    amount_cents: int
    currency: str

    amount = Dollars("amount_cents")


class LandingState(StrEnum):
    CREDITED = "credited"  # paid, and the account's balance includes it
    CREDITING = "crediting"  # Stripe says paid; the credit could not be made just now
    PENDING = "pending"  # a delayed method: complete but not paid yet
    NEEDS_OPERATOR = "needs_operator"  # paid, held for an operator (unknown account, ...)
    DISMISSED = "dismissed"  # paid, and an operator decided nothing is credited for it
    NOT_PAID = "not_paid"  # open, expired, failed or nothing to pay
    UNKNOWN = "unknown"  # not a session of ours, or Stripe could not be asked


class LandingAnswer(Answer):
    id: str = Field(
        validation_alias=AliasChoices("id", "checkout_session_id"),
        description="The Checkout Session's id (cs_...).",
    )
    state: LandingState
    account_id: str | None
    credited_cents: int | None = Field(
        description="What the ledger credited for it (the credit rule: what was paid "
        "excluding tax); null until credited."
    )
    currency: str | None
    balance_cents: int | None = Field(description="The account's balance now.")
    receipt_url: str | None = Field(description="The receipt (hosted invoice page), if any.")


@dataclass(frozen=True)
class Landing(Answered):
    """What a returning buyer may be told about a session, after fulfilling it if paid."""

    answer_model = LandingAnswer

    checkout_session_id: str
    state: LandingState
    account_id: str | None = None
    amount_cents: int | None = None  # what the session asks (or asked) the buyer to pay
    currency: str | None = None
    balance_cents: int | None = None  # the account's balance now
    credited_cents: int | None = None  # the ledger's credit for it, once credited
    receipt_url: str | None = None


class TopUpLinkAnswer(Answer):
    url: str = Field(description="The hosted top-up page: send the user there.")
    expires_at: IsoTime = Field(description="When the link stops opening the page.")


@dataclass(frozen=True)
class TopUpLink(Answered):
    """A signed link to the hosted top-up page for one account."""

    answer_model = TopUpLinkAnswer

    url: str
    expires_at: datetime
    account_id: str


@dataclass(frozen=True)
class TopUpPage:
    """What the hosted top-up page shows for a verified link."""

    account_id: str
    balance_cents: int
    currency: str
    presets_cents: tuple[int, ...]
    min_amount_cents: int
    max_amount_cents: int
    product_name: str
    token: str  # the page link itself, posted back with the form


@dataclass(frozen=True)
class LandingLink:
    """A verified landing link: its account, and the page to try again on, while it lasts."""

    account_id: str
    try_again_url: str | None
