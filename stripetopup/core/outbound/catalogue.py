"""The catalogue: one pydantic model per outbound event type, the envelope a host receives.

Every event is ``{"id", "type", "created", "schema_version", "data"}``. ``id`` is ours
(``msg_`` and a ULID) and is what a webhook delivery sends as ``webhook-id``; ``created``
is an ISO 8601 UTC time (``2026-12-02T09:30:00+00:00``, microseconds when there are some);
``schema_version`` is the version of the type's ``data`` (1 for every type so far: a field
is added within a version, a field removed or changed in meaning takes a new version).
``docs/events/*.json`` are these models' JSON Schemas (``stripetopup outbox schemas``).

A leaf of the room: imports pydantic and ``core.answers`` only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stripetopup.core.answers import IsoTime


class EventType(StrEnum):
    """Every type an outbound event can have (``outbound_events.type``)."""

    BALANCE_CREDITED = "balance.credited"
    BALANCE_DEBITED = "balance.debited"
    BALANCE_LOW = "balance.low"
    BALANCE_RECOVERED = "balance.recovered"
    PAYMENT_PENDING = "payment.pending"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_ATTENTION = "payment.attention"
    HOLD_EXPIRED = "hold.expired"
    GRANT_CREATED = "grant.created"
    GRANT_EXPIRED = "grant.expired"
    AUTORECHARGE_SUCCEEDED = "autorecharge.succeeded"
    AUTORECHARGE_FAILED = "autorecharge.failed"
    AUTORECHARGE_REQUIRES_ACTION = "autorecharge.requires_action"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class EntryData(_Data):
    """One ledger entry: ``balance.credited`` (amount > 0) or ``balance.debited`` (< 0)."""

    entry_id: int = Field(description="The ledger entry's id (as in `stripetopup ledger`).")
    account_id: str
    amount_cents: int = Field(description="Signed: a credit is positive, a debit negative.")
    currency: str
    balance_after_cents: int
    kind: str = Field(description="topup, manual_credit, spend, hold_capture, refund, ...")
    source: str = Field(description="What makes the entry unique, e.g. checkout_session:cs_...")
    reason: str | None
    actor: str = Field(description="Who moved the money: webhook, operator, a service key...")
    checkout_session_id: str | None
    payment_intent_id: str | None
    stripe_event_id: str | None = Field(description="The Stripe event (evt_...) that caused it.")


class ThresholdData(_Data):
    """``balance.low`` / ``balance.recovered``: the available balance crossed the threshold."""

    account_id: str
    currency: str
    balance_cents: int
    held_cents: int = Field(description="Taken by open holds.")
    available_cents: int = Field(description="balance_cents minus held_cents.")
    threshold_cents: int = Field(description="The threshold that was crossed.")


class PaymentData(_Data):
    """``payment.pending`` / ``payment.failed`` / ``payment.attention``: a payment's state."""

    checkout_session_id: str
    account_id: str | None = Field(description="None when the session names no account.")
    amount_total_cents: int | None
    currency: str
    state: str
    payment_intent_id: str | None
    attention_reason: str | None = Field(description="Why an operator must look (attention).")


class HoldData(_Data):
    """``hold.expired``: an open hold reached its expiry without being captured or released."""

    hold_id: str
    account_id: str
    amount_cents: int
    currency: str
    reason: str | None
    expires_at: IsoTime


class GrantData(_Data):
    """``grant.created`` / ``grant.expired``: one credit grant, as it is after the change."""

    grant_id: str
    account_id: str
    amount_cents: int = Field(description="What the grant gave.")
    remaining_cents: int = Field(description="What is left of it (0 once expired).")
    currency: str
    category: str = Field(description="paid or promotional.")
    priority: int = Field(description="0 to 100; lower is spent first.")
    effective_at: IsoTime
    expires_at: IsoTime | None = Field(description="None: it never expires.")
    source: str = Field(description="The credit that made it, e.g. checkout_session:cs_...")
    written_off_cents: int = Field(
        0, description="grant.expired: what the expiry took (its unspent remainder)."
    )


class RechargeData(_Data):
    """``autorecharge.*``: one off-session top-up attempt, as it ended."""

    attempt_key: str = Field(description="The attempt's unique key (account and episode).")
    account_id: str
    amount_cents: int = Field(description="What was (or would have been) charged.")
    currency: str
    payment_intent_id: str | None = Field(description="Stripe's PaymentIntent, when it made one.")
    reason: str | None = Field(
        description="Why it failed or needs the buyer; the rule is paused with it."
    )


class RechargeActionData(RechargeData):
    """``autorecharge.requires_action``: the attempt the bank wants the buyer to authenticate,
    with the Checkout link the host sends the buyer to pay it on-session (sent once the
    link exists; without one only when Stripe refused to make it, ``checkout_error`` why)."""

    checkout_session_id: str | None = Field(
        description="The Checkout Session (cs_...) made for this attempt; paying it credits "
        "the account through the normal checkout path."
    )
    checkout_url: str | None = Field(description="Where to send the buyer (Stripe's Checkout).")
    checkout_error: str | None = Field(
        None, description="Why no link could be made (Stripe refused it), when none was."
    )


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    id: str = Field(description="msg_ and a ULID; the webhook-id of every delivery of it.")
    created: IsoTime = Field(description="When the change committed's transaction wrote it, UTC.")
    schema_version: Literal[1] = 1


class BalanceCredited(_Event):
    type: Literal["balance.credited"] = "balance.credited"
    data: EntryData


class BalanceDebited(_Event):
    type: Literal["balance.debited"] = "balance.debited"
    data: EntryData


class BalanceLow(_Event):
    type: Literal["balance.low"] = "balance.low"
    data: ThresholdData


class BalanceRecovered(_Event):
    type: Literal["balance.recovered"] = "balance.recovered"
    data: ThresholdData


class PaymentPending(_Event):
    type: Literal["payment.pending"] = "payment.pending"
    data: PaymentData


class PaymentFailed(_Event):
    type: Literal["payment.failed"] = "payment.failed"
    data: PaymentData


class PaymentAttention(_Event):
    type: Literal["payment.attention"] = "payment.attention"
    data: PaymentData


class HoldExpired(_Event):
    type: Literal["hold.expired"] = "hold.expired"
    data: HoldData


class GrantCreated(_Event):
    type: Literal["grant.created"] = "grant.created"
    data: GrantData


class GrantExpired(_Event):
    type: Literal["grant.expired"] = "grant.expired"
    data: GrantData


class AutorechargeSucceeded(_Event):
    type: Literal["autorecharge.succeeded"] = "autorecharge.succeeded"
    data: RechargeData


class AutorechargeFailed(_Event):
    type: Literal["autorecharge.failed"] = "autorecharge.failed"
    data: RechargeData


class AutorechargeRequiresAction(_Event):
    type: Literal["autorecharge.requires_action"] = "autorecharge.requires_action"
    data: RechargeActionData


OutboundEventModel = (
    BalanceCredited
    | BalanceDebited
    | BalanceLow
    | BalanceRecovered
    | PaymentPending
    | PaymentFailed
    | PaymentAttention
    | HoldExpired
    | GrantCreated
    | GrantExpired
    | AutorechargeSucceeded
    | AutorechargeFailed
    | AutorechargeRequiresAction
)
MODELS: dict[EventType, type[OutboundEventModel]] = {
    EventType.BALANCE_CREDITED: BalanceCredited,
    EventType.BALANCE_DEBITED: BalanceDebited,
    EventType.BALANCE_LOW: BalanceLow,
    EventType.BALANCE_RECOVERED: BalanceRecovered,
    EventType.PAYMENT_PENDING: PaymentPending,
    EventType.PAYMENT_FAILED: PaymentFailed,
    EventType.PAYMENT_ATTENTION: PaymentAttention,
    EventType.HOLD_EXPIRED: HoldExpired,
    EventType.GRANT_CREATED: GrantCreated,
    EventType.GRANT_EXPIRED: GrantExpired,
    EventType.AUTORECHARGE_SUCCEEDED: AutorechargeSucceeded,
    EventType.AUTORECHARGE_FAILED: AutorechargeFailed,
    EventType.AUTORECHARGE_REQUIRES_ACTION: AutorechargeRequiresAction,
}
