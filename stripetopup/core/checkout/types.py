"""The checkout room's answer: a top-up link (a Checkout Session)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import AliasChoices, Field

from stripetopup.core.answers import Answer, Answered, Dollars


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
