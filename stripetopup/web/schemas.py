"""What the web door reads and answers beyond the core's answers: the one error shape, the
checkout body, and the answers only HTTP gives (webhook receipt, presets, pages, probes).

The core's answers (:mod:`stripetopup.core.answers` and the result modules) are the
``response_model`` of the routes that return a core result; these complete
``/openapi.json`` so every answer, error included, has a schema a client can be generated
from. May import pydantic, stripetopup.core's answer models, stripetopup.errors and money.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from stripetopup.core.ledger.types import BalanceAnswer, EntryAnswer
from stripetopup.errors import UsageError
from stripetopup.money import check_cents, parse_dollars

# The one error shape -----------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: insufficient_funds, idempotency_conflict…")
    message: str
    param: str | None = None
    available_cents: int | None = Field(None, description="Only on insufficient_funds.")
    requested_cents: int | None = Field(None, description="Only on insufficient_funds.")
    request_id: str | None = Field(None, description="This answer's Request-Id header.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error(description: str) -> dict[str, Any]:
    """One documented error answer of a route (``responses={status: error(...)}``)."""
    return {"model": ErrorResponse, "description": description}


# The checkout body ------------------------------------------------------------------------


class CheckoutRequest(BaseModel):
    """``POST /billing/checkout-session``: ``amount_cents`` or ``amount``, not both.

    Parsed from the bounded JSON object (web.body) after authentication, never by FastAPI:
    the fields take any JSON value so that :meth:`cents` answers a wrong one with the same
    message and param as ever, and keys it does not know are ignored as they always were.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    amount_cents: Annotated[Any, WithJsonSchema({"type": "integer", "examples": [500]})] = None
    amount: Annotated[
        Any,
        WithJsonSchema(
            {"type": "string", "description": "Dollars, such as 5.00.", "examples": ["5.00"]}
        ),
    ] = None
    save_payment_method: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "boolean",
                "default": False,
                "description": "The user consents to saving the card that pays for "
                "auto-recharge (Checkout's setup_future_usage=off_session).",
            }
        ),
    ] = False

    def saves_card(self) -> bool:
        """True only for a JSON ``true``; anything but a boolean is refused."""
        if not isinstance(self.save_payment_method, bool):
            raise UsageError(
                "save_payment_method must be true or false", param="save_payment_method"
            )
        return self.save_payment_method

    def cents(self) -> int:
        """The amount in cents, or a UsageError naming the field at fault."""
        given = self.model_fields_set
        if "amount_cents" in given and "amount" in given:
            raise UsageError("send either amount_cents or amount, not both", param="amount_cents")
        if "amount_cents" in given:
            return check_cents(self.amount_cents)
        if "amount" in given:
            value = self.amount
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise UsageError('amount must be a dollar string such as "5.00"', param="amount")
            return parse_dollars(str(value), param="amount")
        raise UsageError("amount_cents is required", param="amount_cents")


# Answers only the web door gives --------------------------------------------------------


class WebhookReceipt(BaseModel):
    received: Literal[True] = True
    result: str = Field(description="What the event did: credited, already_applied, ignored…")
    event_id: str


class UserBalance(BalanceAnswer):
    entries: list[EntryAnswer] = Field(description="The most recent entries, newest first.")


class Preset(BaseModel):
    amount_cents: int
    amount: str = Field(examples=["5.00"])


class Presets(BaseModel):
    currency: str
    min_amount_cents: int
    max_amount_cents: int
    presets: list[Preset]


class EntriesPage(BaseModel):
    object: Literal["list"] = "list"
    url: str
    has_more: bool = Field(description="Pass the last entry's id as starting_after for more.")
    data: list[EntryAnswer]


class Health(BaseModel):
    status: Literal["ok", "error"]
    database: str = Field(description='"ok", or why the database cannot be reached.')


class Version(BaseModel):
    version: str
