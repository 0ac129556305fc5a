"""What the core hands back to its doors: small frozen dataclasses, never ORM rows.

Each has ``to_json()`` giving the documented JSON shape (integer cents plus a ``"5.00"``
string), so the CLI's ``--json`` and the web API print the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from stripetopup.models import (
    ApiCredential,
    EventResult,
    LedgerEntry,
    StripePayment,
    WebhookEvent,
)
from stripetopup.money import format_cents


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Balance:
    account_id: str
    balance_cents: int
    held_cents: int
    currency: str

    @property
    def available_cents(self) -> int:
        return self.balance_cents - self.held_cents

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "balance_cents": self.balance_cents,
            "balance": format_cents(self.balance_cents),
            "held_cents": self.held_cents,
            "available_cents": self.available_cents,
            "available": format_cents(self.available_cents),
            "currency": self.currency,
        }


@dataclass(frozen=True)
class OpenedAccount:
    """What opening an account did: ``created`` is False when it existed already."""

    balance: Balance
    created: bool

    @property
    def account_id(self) -> str:
        return self.balance.account_id

    def to_json(self) -> dict[str, Any]:
        return {**self.balance.to_json(), "created": self.created}


@dataclass(frozen=True)
class Entry:
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amount"] = format_cents(self.amount_cents)
        data["balance_after"] = format_cents(self.balance_after_cents)
        data["created_at"] = _iso(self.created_at)
        return data


@dataclass(frozen=True)
class Posted:
    """The answer to a credit or debit: the entry, and whether this call wrote it."""

    entry: Entry
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "applied" if self.created else "already_applied",
            "entry": self.entry.to_json(),
            "balance_cents": self.entry.balance_after_cents,
            "balance": format_cents(self.entry.balance_after_cents),
        }


@dataclass(frozen=True)
class CheckoutLink:
    checkout_session_id: str
    url: str
    account_id: str
    amount_cents: int
    currency: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.checkout_session_id,
            "url": self.url,
            "account_id": self.account_id,
            "amount_cents": self.amount_cents,
            "amount": format_cents(self.amount_cents),
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Payment:
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        cents = self.amount_total_cents
        data["amount_total"] = format_cents(cents) if cents is not None else None
        data["created_at"] = _iso(self.created_at)
        data["resolved_at"] = _iso(self.resolved_at)
        return data


@dataclass(frozen=True)
class EventOutcome:
    """What applying one Stripe event did; ``result`` is a ``models.EventResult``."""

    event_id: str
    event_type: str
    result: EventResult
    detail: str = ""
    account_id: str | None = None
    amount_cents: int | None = None
    entry_id: int | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.amount_cents is not None:
            data["amount"] = format_cents(self.amount_cents)
        return data


@dataclass(frozen=True)
class EventRecord:
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
        data = asdict(self)
        data["received_at"] = _iso(self.received_at)
        data["processed_at"] = _iso(self.processed_at)
        if with_payload:
            data["payload"] = _payload_json(self.payload)
        else:
            data.pop("payload")
        return data


def _payload_json(payload: str) -> Any:
    """The stored body as JSON, so ``--json`` embeds an object rather than an escaped string.

    A body that is not JSON (a truncated failure record) stays the string it is.
    """
    import json

    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return payload


@dataclass(frozen=True)
class Credential:
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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
            "active": self.revoked_at is None,
        }
