"""Typed views of the Stripe objects the money path reads, validated where they come in.

A Checkout Session, a payment intent, a charge, a refund, a dispute and an event, as
pydantic models: strict types for the fields that decide money (``amount_total`` is an
``int``, never a ``"500"`` or a ``true``), ``extra="allow"`` for the rest, since Stripe adds
fields with every API version and we keep what we do not read. :meth:`StripeObject.parse`
turns a dict from Stripe into one; a missing or mistyped field is a
:class:`~stripetopup.errors.PayloadError` naming the object and the field, not a
``KeyError`` three calls later or a silent ``None``.

Fields Stripe itself may leave null (a session's ``amount_total``, ``currency``) stay
optional: what their absence means (a payment kept for an operator) is the core's rule.
A leaf: imports pydantic and ``stripetopup.errors`` only.
"""

from __future__ import annotations

import builtins  # Event's field ``type`` hides the builtin in its class body
from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from stripetopup.errors import PayloadError


class StripeObject(BaseModel):
    """A Stripe API object: its ``id`` and the typed fields a subclass names."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    label: ClassVar[str] = "object"  # how a refusal names it: "checkout session cs_..."

    id: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """``data`` validated; PayloadError naming the first field that is missing or wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise PayloadError(_refusal(cls.label, data, exc)) from None


_Object = TypeVar("_Object", bound=StripeObject)


def _refusal(label: str, data: Mapping[str, Any], exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in error["loc"])
    object_id = data.get("id") if isinstance(data, Mapping) else None
    named = f"{label} {object_id}" if isinstance(object_id, str) and object_id else label
    # pydantic's message only (never the input: a body is not echoed into a log line).
    return f"Stripe {named}: field {field or '(the object)'}: {error['msg']}"


class Charge(StripeObject):
    """A charge, as ``payment_intent.latest_charge`` expands it (refunds and disputes)."""

    label: ClassVar[str] = "charge"

    amount_refunded: int = 0
    disputed: bool = False


class PaymentIntent(StripeObject):
    """A payment intent: the key our refunds and disputes are found by, and (for an
    off-session auto-recharge charge) what was paid."""

    label: ClassVar[str] = "payment intent"

    latest_charge: str | Charge | None = None
    status: str | None = None
    amount: int | None = None
    amount_received: int | None = None
    currency: str | None = None
    livemode: bool = False
    created: int | None = None
    metadata: dict[str, Any] | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def received_cents(self) -> int:
        """What the charge took (``amount_received``; ``amount`` when Stripe sent none)."""
        return self.amount_received or self.amount or 0

    @property
    def currency_code(self) -> str:
        return (self.currency or "").lower()

    @property
    def charge(self) -> Charge | None:
        """The expanded ``latest_charge`` (None when not expanded or absent)."""
        return self.latest_charge if isinstance(self.latest_charge, Charge) else None


class TotalDetails(BaseModel):
    """A session's ``total_details``: the discount and the tax inside its ``amount_total``.

    Absent, or zero, on a session without tax or discount. ``amount_tax`` counts
    exclusive and inclusive tax alike (inclusive tax is inside the subtotal).
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    # Required: a ``total_details`` without them would credit the tax or miss the discount.
    amount_discount: int
    amount_tax: int


class CheckoutSession(StripeObject):
    """A Checkout Session: what is credited (``amount_total``), to whom, and whether paid."""

    label: ClassVar[str] = "checkout session"

    amount_total: int | None = None
    currency: str | None = None
    livemode: bool = False
    status: str | None = None
    payment_status: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, Any] | None = None
    payment_intent: str | PaymentIntent | None = None
    created: int | None = None
    total_details: TotalDetails | None = None
    invoice: str | None = None

    @property
    def invoice_id(self) -> str | None:
        """The post-purchase invoice's id (``invoice_creation``), None without one."""
        return self.invoice or None

    @property
    def payment_intent_id(self) -> str | None:
        """The payment intent's id, whether Stripe sent it as an id or expanded."""
        intent = self.payment_intent
        value = intent.id if isinstance(intent, PaymentIntent) else intent
        return value or None

    @property
    def currency_code(self) -> str:
        """The lowercase currency code ("" when Stripe sent none)."""
        return (self.currency or "").lower()

    @property
    def paid(self) -> bool:
        return self.payment_status == "paid"


class BalanceTransaction(BaseModel):
    """One movement of a dispute's money (negative: withdrawn, positive: reinstated)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    amount: int = 0


class Reversible(StripeObject):
    """What a refund and a dispute share: money that goes back out of a payment intent."""

    amount: int
    currency: str
    payment_intent: str
    status: str | None = None
    created: int | None = None
    reason: str | None = None

    @property
    def created_at(self) -> int:
        """When Stripe created it (Unix seconds; 0 when absent), to order by."""
        return self.created or 0


class Refund(Reversible):
    label: ClassVar[str] = "refund"

    failure_reason: str | None = None


class Dispute(Reversible):
    label: ClassVar[str] = "dispute"

    balance_transactions: list[BalanceTransaction] = Field(default_factory=list)


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    object: dict[str, Any]


class Event(StripeObject):
    """A Stripe event: its id and type, and the object it carries (validated by its handler)."""

    label: ClassVar[str] = "event"

    type: str
    livemode: bool = False
    data: EventData
    # The object parsed as each type asked for: a delivery's steps (the Stripe check, the
    # gatherer, the credit) each read the session, and one parse is enough.
    # Keyed by the object's identity too: a copy given another ``data`` shares this dict.
    _views: dict[tuple[builtins.type[StripeObject], int], StripeObject] = PrivateAttr(
        default_factory=dict
    )

    def object_as(self, cls: builtins.type[_Object]) -> _Object:
        """``data.object`` parsed as ``cls`` (:meth:`StripeObject.parse`), once per event."""
        key = (cls, id(self.data.object))
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = cls.parse(self.data.object)
        assert isinstance(view, cls)
        return view
