"""SQLModel tables and the states and kinds their string columns hold. A leaf module:
imports sqlmodel/sqlalchemy, ``columns`` and ``dates`` (the clock) only.

Money is always an ``int`` of minor units; timestamps are timezone-aware UTC. Ledger entries
are append-only: nothing in the package updates or deletes one. The unique ``source`` on
an entry is the exactly-once guard for every path that moves money.

States and kinds are ``StrEnum``s whose values are the strings stored in the columns (the
columns stay plain strings: no migration, and a member compares equal to its stored text).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# The states and the timestamp type the core-SQL reads need too live in columns (no
# sqlmodel there); they are named here as well, where the tables are.
from stripetopup.columns import BIGINT
from stripetopup.columns import MAX_INTEGER as MAX_INTEGER
from stripetopup.columns import GrantCategory as GrantCategory
from stripetopup.columns import GrantStatus as GrantStatus
from stripetopup.columns import HoldStatus as HoldStatus
from stripetopup.columns import UTCDateTime as UTCDateTime
from stripetopup.dates import utcnow

# The one limit on a reason, a resolution or an attention note: their columns' width, and
# what the doors and the core check before writing one.
MAX_REASON_LENGTH = 500


class PaymentState(StrEnum):
    """Our state of a Checkout Session (``stripe_payments.state``); see :data:`PAYMENT_RANK`."""

    CREATED = "created"
    PENDING = "pending"
    FAILED = "failed"
    EXPIRED = "expired"
    NO_PAYMENT_REQUIRED = "no_payment_required"
    ATTENTION = "attention"
    CREDITED = "credited"
    DISMISSED = "dismissed"


# A payment's state only moves up this rank (equal ranks may replace each other, e.g.
# attention <-> attention), so a late or reordered event never undoes a credit.
PAYMENT_RANK: dict[PaymentState, int] = {
    PaymentState.CREATED: 0,
    PaymentState.PENDING: 1,
    PaymentState.FAILED: 2,
    PaymentState.EXPIRED: 2,
    PaymentState.NO_PAYMENT_REQUIRED: 3,
    PaymentState.ATTENTION: 3,
    PaymentState.CREDITED: 4,
    PaymentState.DISMISSED: 4,
}
# States no event moves a payment out of (only an operator's forced decision does).
FINAL_PAYMENT_STATES = frozenset({PaymentState.CREDITED, PaymentState.DISMISSED})


class EventResult(StrEnum):
    """What applying one Stripe event did (``EventOutcome.result``, ``webhook_events.outcome``)."""

    CREDITED = "credited"
    DEBITED = "debited"
    ALREADY_APPLIED = "already_applied"
    RECORDED = "recorded"  # a state changed, no money moved
    ATTENTION = "attention"  # kept for an operator
    IGNORED = "ignored"
    FAILED = "failed"


class LedgerKind(StrEnum):
    """What caused a ledger entry (``ledger_entries.kind``)."""

    TOPUP = "topup"
    MANUAL_CREDIT = "manual_credit"
    MANUAL_DEBIT = "manual_debit"
    SPEND = "spend"
    HOLD_CAPTURE = "hold_capture"
    REFUND = "refund"
    REFUND_REVERSED = "refund_reversed"
    DISPUTE = "dispute"
    DISPUTE_REINSTATED = "dispute_reinstated"
    GRANT_EXPIRY = "grant_expiry"


_BIGINT = BIGINT


def _ts(**kwargs: object) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), **kwargs)  # type: ignore[arg-type]


class Account(SQLModel, table=True):
    """A holder of credit, named by the host application's own account id."""

    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=200, unique=True, index=True)
    balance_cents: int = Field(default=0, sa_column_kwargs={"nullable": False})
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    # The account's own low-balance threshold in cents (None: the setting's default), and
    # whether its available balance is below it now: ``balance.low`` is emitted when this
    # turns on and ``balance.recovered`` when it turns off, once per crossing.
    low_balance_threshold_cents: int | None = None
    below_threshold: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false(), "nullable": False}
    )
    # The account's Stripe Customer (``cus_...``), made on first need (saving a card).
    stripe_customer_id: str | None = Field(default=None, max_length=255, unique=True, index=True)


class LedgerEntry(SQLModel, table=True):
    """One signed movement of money; ``source`` names what caused it and is unique."""

    __tablename__ = "ledger_entries"

    id: int | None = Field(default=None, primary_key=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    amount_cents: int
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=40)
    source: str = Field(max_length=255, unique=True)
    balance_after_cents: int
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    actor: str = Field(max_length=100)
    checkout_session_id: str | None = Field(default=None, max_length=255, index=True)
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    event_id: str | None = Field(default=None, max_length=255)
    request_fingerprint: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class StripePayment(SQLModel, table=True):
    """One Checkout Session, from creation to credit (or to the reason it was not credited)."""

    __tablename__ = "stripe_payments"

    id: int | None = Field(default=None, primary_key=True)
    checkout_session_id: str = Field(max_length=255, unique=True)
    account_id: str | None = Field(default=None, max_length=200, index=True)
    amount_requested_cents: int | None = None
    amount_total_cents: int | None = None
    currency: str = Field(max_length=3)
    status: str = Field(default="open", max_length=20)
    payment_status: str = Field(default="unpaid", max_length=30)
    livemode: bool = False
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    state: str = Field(default="created", max_length=30, index=True)
    attention_reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    credited_entry_id: int | None = Field(default=None, foreign_key="ledger_entries.id")
    url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False, index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    # An operator's assign/dismiss: who, when and why (the reason they gave).
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    resolution: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    # The receipt (invoice_creation): the session's invoice and the page Stripe hosts for it.
    invoice_id: str | None = Field(default=None, max_length=255)
    hosted_invoice_url: str | None = Field(default=None, max_length=2000)


class WebhookEvent(SQLModel, table=True):
    """Every Stripe event we received (webhook) or fetched (replay), with how it ended."""

    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=255, unique=True)
    type: str = Field(max_length=100, index=True)
    livemode: bool = False
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    secret_label: str | None = Field(default=None, max_length=32)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False, index=True))
    processed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    outcome: str | None = Field(default=None, max_length=30, index=True)
    error: str | None = Field(default=None, max_length=2000)
    attempts: int = 0  # deliveries through the webhook door (Stripe's attempts)
    replays: int = Field(default=0, sa_column_kwargs={"server_default": "0", "nullable": False})


class ApiCredential(SQLModel, table=True):
    """A user token (``kind='user'``) or a service key (``kind='service'``), stored as a hash."""

    __tablename__ = "api_credentials"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    subject: str = Field(max_length=200, index=True)
    prefix: str = Field(max_length=20)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Hold(SQLModel, table=True):
    """Money reserved for the host application: captured (in part or whole) or released.

    An open hold counts against the available balance until it is closed or expires.
    """

    __tablename__ = "holds"

    id: int | None = Field(default=None, primary_key=True)
    hold_id: str = Field(max_length=64, unique=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    amount_cents: int
    captured_cents: int = 0
    currency: str = Field(max_length=3)
    status: str = Field(default="open", max_length=20, index=True)
    idempotency_key: str = Field(max_length=300, unique=True)
    request_fingerprint: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    actor: str = Field(max_length=100)
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PaymentResolution(SQLModel, table=True):
    """One operator decision on a payment (assign, dismiss, or a forced assign), kept for good.

    Append-only, like the ledger: the payment row shows the latest decision, this table
    every one of them, so overriding a dismissal never erases who dismissed it and why.
    """

    __tablename__ = "payment_resolutions"

    id: int | None = Field(default=None, primary_key=True)
    checkout_session_id: str = Field(max_length=255, index=True)
    action: str = Field(max_length=20)
    forced: bool = False
    account_id: str | None = Field(default=None, max_length=200)
    actor: str = Field(max_length=100)
    reason: str = Field(max_length=MAX_REASON_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


# The outbox's order column: BIGINT on PostgreSQL; SQLite's INTEGER PRIMARY KEY is 64-bit
# already and only that exact type is the rowid alias that numbers rows itself.
_SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OutboundEvent(SQLModel, table=True):
    """One event for the host application, written in the transaction of the change it tells.

    ``seq`` numbers the rows; read through ``store.outbox`` it is also commit order, which
    the pull feed and the delivery worker follow. ``message_id`` (``msg_...``) is the id the
    host sees (``webhook-id``); ``payload`` is the JSON envelope exactly as delivered.
    """

    __tablename__ = "outbound_events"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(
        default=None, sa_column=sa.Column(_SEQUENCE, primary_key=True, autoincrement=True)
    )
    message_id: str = Field(max_length=40, unique=True)
    type: str = Field(max_length=40, index=True)
    schema_version: int
    account_id: str | None = Field(default=None, max_length=200, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class DeliveryState(StrEnum):
    """A webhook delivery's ``state``: one event to one endpoint (``webhook_deliveries``)."""

    PENDING = "pending"  # not tried yet
    FAILED = "failed"  # the last attempt failed; another is scheduled at next_attempt_at
    DELIVERED = "delivered"  # the endpoint answered 2xx
    DEAD = "dead"  # every attempt of the schedule failed; only `hooks retry` sends it again


# States a worker may still claim (when next_attempt_at is due and no lease is live).
OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.FAILED)


class WebhookEndpoint(SQLModel, table=True):
    """A URL of the host application that receives our signed outbound events.

    ``secret`` signs every delivery (Standard Webhooks); during a rotation's grace the
    ``previous_secret`` signs too, until ``previous_secret_expires_at``. ``fanout_seq`` is
    the endpoint's cursor in the outbox (``outbound_events.seq``, commit order): every event
    up to it has been given its delivery row, or did not match the filter.
    """

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(max_length=40, unique=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    event_types: str = Field(default="*", max_length=2000)  # comma-separated patterns
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    disabled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    failing_since: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    fanout_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    # A host that registered itself with an Idempotency-Key: "<actor>:<key>", and its request.
    idempotency_key: str | None = Field(default=None, max_length=300, unique=True)
    request_fingerprint: str | None = Field(default=None, max_length=64)


class WebhookDelivery(SQLModel, table=True):
    """One outbound event to one endpoint: its state, attempts, schedule and lease."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_pk", "event_id", name="uq_webhook_deliveries_event"),
        sa.Index("ix_webhook_deliveries_due", "endpoint_pk", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=40, unique=True)
    endpoint_pk: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: str = Field(max_length=64, index=True)
    event_seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    event_type: str = Field(max_length=100)
    state: str = Field(default=DeliveryState.PENDING, max_length=20, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class WebhookAttempt(SQLModel, table=True):
    """One attempt of one delivery: when, what the endpoint answered, how long it took.

    Written with the attempt's outcome, in the same transaction; ``error`` is the
    delivery's redacted, bounded reason (never a secret, never the answer's body).
    """

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_pk: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    attempt: int
    at: datetime = Field(sa_column=_ts(nullable=False))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    duration_ms: int


class CreditGrant(SQLModel, table=True):
    """One credit as something to spend: what is left of it, its order and its expiry.

    Every credit entry creates one (``source`` is the entry's source, unique);
    ``remaining_cents`` is ``amount_cents`` minus every draw on it (:class:`GrantDraw`).
    """

    __tablename__ = "credit_grants"

    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(max_length=40, unique=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    # The credit entry that made it; NULL only for an opening balance migration 0007 carried over.
    entry_id: int | None = Field(default=None, foreign_key="ledger_entries.id", index=True)
    amount_cents: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))
    remaining_cents: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))
    currency: str = Field(max_length=3)
    category: str = Field(max_length=20)
    priority: int = 50
    effective_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    source: str = Field(max_length=255, unique=True)
    status: str = Field(default="live", max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expired_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class GrantDraw(SQLModel, table=True):
    """Cents one ledger entry took from one grant (negative: given back to it).

    ``grant_pk`` NULL is the uncovered part of a debit (the account's deficit, positive) or
    a later credit settling it (negative): the deficit is the sum of those rows.
    """

    __tablename__ = "grant_draws"

    id: int | None = Field(default=None, primary_key=True)
    # NULL only for an opening deficit migration 0007 carried over (a negative balance).
    entry_id: int | None = Field(default=None, foreign_key="ledger_entries.id", index=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    grant_pk: int | None = Field(default=None, foreign_key="credit_grants.id", index=True)
    amount_cents: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))


class GrantReservation(SQLModel, table=True):
    """Cents an open hold keeps on one grant; it counts while its hold is open and unexpired.

    Released with the hold (nothing to undo: the hold's status ends it); a capture turns
    what it takes into draws on the same grants.
    """

    __tablename__ = "grant_reservations"

    id: int | None = Field(default=None, primary_key=True)
    hold_pk: int = Field(foreign_key="holds.id", index=True)
    grant_pk: int = Field(foreign_key="credit_grants.id", index=True)
    amount_cents: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))


class CardStatus(StrEnum):
    """A saved card's state (``saved_cards.status``): only ``active`` may be charged."""

    ACTIVE = "active"
    REMOVED = "removed"  # an operator removed it (and it was detached in Stripe)
    DETACHED = "detached"  # Stripe said payment_method.detached
    CUSTOMER_DELETED = "customer_deleted"  # Stripe said customer.deleted


class SavedCard(SQLModel, table=True):
    """A card an account's buyer saved for later charges, with the consent they gave.

    Recorded when the Checkout Session that saved it is paid; never deleted (an ended card
    keeps its consent record for the audit), only moved out of ``active``.
    """

    __tablename__ = "saved_cards"

    id: int | None = Field(default=None, primary_key=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    payment_method_id: str = Field(max_length=255, unique=True)
    customer_id: str = Field(max_length=255, index=True)
    brand: str = Field(max_length=40)
    last4: str = Field(max_length=4)
    exp_month: int
    exp_year: int
    consent_at: datetime = Field(sa_column=_ts(nullable=False))
    consent_version: str = Field(max_length=40)
    consent_door: str = Field(max_length=20)
    checkout_session_id: str | None = Field(default=None, max_length=255)
    status: str = Field(default="active", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ended_reason: str | None = Field(default=None, max_length=200)


class RuleState(StrEnum):
    """An auto-recharge rule's state (``auto_recharge_rules.status``)."""

    ACTIVE = "active"
    PAUSED = "paused"  # by an operator, or by a failure (``paused_reason`` says which)


class AutoRechargeRule(SQLModel, table=True):
    """An account's auto-recharge: below ``below_cents`` available, charge its saved card
    ``amount_cents`` (or up to ``up_to_cents``), within a calendar month's cap and count
    and a cooldown between charges. One per account; ``off`` deletes it."""

    __tablename__ = "auto_recharge_rules"

    id: int | None = Field(default=None, primary_key=True)
    account_pk: int = Field(foreign_key="accounts.id", unique=True)
    below_cents: int
    amount_cents: int | None = None
    up_to_cents: int | None = None
    monthly_cap_cents: int
    monthly_count: int | None = None
    cooldown_seconds: int
    status: str = Field(default="active", max_length=20)
    paused_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class AttemptStatus(StrEnum):
    """A recharge attempt's state (``recharge_attempts.status``)."""

    PENDING = "pending"  # written by the posting that crossed the threshold; not charged yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


class RechargeAttempt(SQLModel, table=True):
    """One off-session top-up an account's rule asked for.

    ``open_account_pk`` is the account while the attempt is pending and NULL after: its
    unique constraint is what keeps at most one attempt in flight per account, whatever
    the concurrency. ``attempt_key`` (account and episode number) names it to Stripe.
    """

    __tablename__ = "recharge_attempts"

    id: int | None = Field(default=None, primary_key=True)
    attempt_key: str = Field(max_length=255, unique=True)
    account_pk: int = Field(foreign_key="accounts.id", index=True)
    open_account_pk: int | None = Field(default=None, unique=True)
    amount_cents: int
    currency: str = Field(max_length=3)
    payment_method_id: str = Field(max_length=255)
    customer_id: str = Field(max_length=255)
    status: str = Field(default="pending", max_length=20)
    reason: str | None = Field(default=None, max_length=200)
    payment_intent_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # requires_action: the Checkout Session made for the buyer to pay on-session (one per
    # attempt), or why Stripe refused to make one (migration 0010).
    checkout_session_id: str | None = Field(default=None, max_length=255, unique=True, index=True)
    checkout_url: str | None = Field(default=None, max_length=2000)
    checkout_error: str | None = Field(default=None, max_length=200)
