"""What the core hands back to its doors: small frozen dataclasses, never ORM rows.

Each names its answer model (:mod:`stripetopup.core.answers`), the pydantic model of its
documented JSON shape (integer cents plus a ``"5.00"`` string), so the CLI's ``--json`` and
the web API print the same thing and ``/openapi.json`` documents it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, field_validator

from stripetopup.core.answers import Answer, Answered, Dollars, IsoTime, is_none
from stripetopup.models import (
    ApiCredential,
    EventResult,
    LedgerEntry,
    StripePayment,
    WebhookEvent,
)

Applied = Literal["applied", "already_applied"]


class BalanceAnswer(Answer):
    account_id: str
    balance_cents: int
    balance: str = Field(description="balance_cents in dollars.", examples=["5.00"])
    held_cents: int = Field(description="Taken by open holds.")
    available_cents: int = Field(description="balance_cents minus held_cents.")
    available: str = Field(examples=["5.00"])
    currency: str


@dataclass(frozen=True)
class Balance(Answered):
    answer_model = BalanceAnswer
    account_id: str
    balance_cents: int
    held_cents: int
    currency: str

    @property
    def available_cents(self) -> int:
        return self.balance_cents - self.held_cents

    balance = Dollars("balance_cents")

    available = Dollars("available_cents")


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
    def of(cls, row: LedgerEntry, account_id: str) -> Entry:
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

    answer_model = PostedAnswer

    entry: Entry
    created: bool

    @property
    def status(self) -> Applied:
        return "applied" if self.created else "already_applied"

    @property
    def balance_cents(self) -> int:
        return self.entry.balance_after_cents

    balance = Dollars("balance_cents")


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


class PaymentAnswer(Answer):
    checkout_session_id: str
    account_id: str | None
    amount_requested_cents: int | None
    amount_total_cents: int | None = Field(description="What Stripe charged: what is credited.")
    currency: str
    status: str
    payment_status: str
    state: str
    attention_reason: str | None
    livemode: bool
    payment_intent_id: str | None
    credited_entry_id: int | None
    created_at: IsoTime
    resolved_by: str | None
    resolved_at: IsoTime | None
    resolution: str | None
    amount_total: str | None = Field(examples=["5.00"])


@dataclass(frozen=True)
class Payment(Answered):
    answer_model = PaymentAnswer

    checkout_session_id: str
    account_id: str | None
    amount_requested_cents: int | None
    amount_total_cents: int | None
    currency: str
    status: str
    payment_status: str
    state: str
    attention_reason: str | None
    livemode: bool
    payment_intent_id: str | None
    credited_entry_id: int | None
    created_at: datetime
    resolved_by: str | None = None  # an operator's assign/dismiss: who, when, why
    resolved_at: datetime | None = None
    resolution: str | None = None

    @classmethod
    def of(cls, row: StripePayment) -> Payment:
        return cls(
            checkout_session_id=row.checkout_session_id,
            account_id=row.account_id,
            amount_requested_cents=row.amount_requested_cents,
            amount_total_cents=row.amount_total_cents,
            currency=row.currency,
            status=row.status,
            payment_status=row.payment_status,
            state=row.state,
            attention_reason=row.attention_reason,
            livemode=row.livemode,
            payment_intent_id=row.payment_intent_id,
            credited_entry_id=row.credited_entry_id,
            created_at=row.created_at,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            resolution=row.resolution,
        )

    amount_total = Dollars("amount_total_cents")


class EventOutcomeAnswer(Answer):
    event_id: str
    event_type: str
    result: str = Field(
        description="credited, debited, already_applied, recorded, attention, ignored, failed."
    )
    detail: str
    account_id: str | None
    amount_cents: int | None
    entry_id: int | None
    dry_run: bool
    amount: str | None = Field(None, exclude_if=is_none, description="Only with amount_cents.")


@dataclass(frozen=True)
class EventOutcome(Answered):
    """What applying one Stripe event did; ``result`` is a ``models.EventResult``."""

    answer_model = EventOutcomeAnswer

    event_id: str
    event_type: str
    result: EventResult
    detail: str = ""
    account_id: str | None = None
    amount_cents: int | None = None
    entry_id: int | None = None
    dry_run: bool = False

    amount = Dollars("amount_cents")


class EventRecordAnswer(Answer):
    event_id: str
    type: str
    outcome: str | None
    error: str | None
    attempts: int
    secret_label: str | None
    livemode: bool
    received_at: IsoTime
    processed_at: IsoTime | None
    payload: Any = Field(description="The stored body: JSON, or the string it is if not JSON.")
    replays: int

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_json(cls, payload: Any) -> Any:
        """The stored body as JSON, so ``--json`` embeds an object rather than an escaped
        string. A body that is not JSON (a truncated failure record) stays the string it is."""
        if not isinstance(payload, str):
            return payload
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            return payload


@dataclass(frozen=True)
class EventRecord(Answered):
    answer_model = EventRecordAnswer

    event_id: str
    type: str
    outcome: str | None
    error: str | None
    attempts: int
    secret_label: str | None
    livemode: bool
    received_at: datetime
    processed_at: datetime | None
    payload: str = field(repr=False)
    replays: int = 0  # `replay` runs, apart from Stripe's delivery attempts

    @classmethod
    def of(cls, row: WebhookEvent) -> EventRecord:
        return cls(
            event_id=row.event_id,
            type=row.type,
            outcome=row.outcome,
            error=row.error,
            attempts=row.attempts,
            secret_label=row.secret_label,
            livemode=row.livemode,
            received_at=row.received_at,
            processed_at=row.processed_at,
            payload=row.payload,
            replays=row.replays,
        )

    def to_json(self, *, with_payload: bool = False) -> dict[str, Any]:
        exclude = None if with_payload else {"payload"}
        return self.answer_model.of(self).model_dump(mode="json", exclude=exclude)


class CredentialAnswer(Answer):
    id: str = Field(description="The credential's public prefix (never its secret).")
    kind: str
    subject: str = Field(description="The account (a user token) or name (a service key).")
    created_at: IsoTime
    last_used_at: IsoTime | None
    revoked_at: IsoTime | None
    active: bool


@dataclass(frozen=True)
class Credential(Answered):
    answer_model = CredentialAnswer

    id: str
    kind: str
    subject: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiCredential) -> Credential:
        return cls(
            id=row.prefix,
            kind=row.kind,
            subject=row.subject,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @property
    def active(self) -> bool:
        return self.revoked_at is None
