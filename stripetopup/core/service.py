"""TopUpService: the one object every door calls (CLI, web app, host application).

Build it from settings (``TopUpService.from_settings()``) or from parts, then call its
methods; each returns a result dataclass from the rooms' types modules or raises an
error from :mod:`stripetopup.errors`. The operator-only rooms (verify, landing, stray
payments, reconcile, replay, doctor, the metrics scrape) are imported inside the methods that
use them, so a quick command such as ``stripetopup balance`` loads none of them. Example::

    service = TopUpService.from_settings(database_url="sqlite:///./topups.db")
    service.credit("acct-42", 500, reason="welcome bonus", idempotency_key="welcome-42")
    print(service.balance("acct-42").balance_cents)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.engine import Engine

from stripetopup.config import Settings, load_settings
from stripetopup.core.auth import credentials as auth
from stripetopup.core.auth.types import Credential
from stripetopup.core.checkout import links as checkout
from stripetopup.core.checkout.types import (
    CheckoutLink,
    Landing,
    LandingLink,
    TopUpLink,
    TopUpPage,
)
from stripetopup.core.context import Context
from stripetopup.core.doctor.types import DoctorReport
from stripetopup.core.events import log as event_log
from stripetopup.core.events import process as events
from stripetopup.core.events.types import EventOutcome, EventRecord, ReplayBatch
from stripetopup.core.grants import credit as grant_credit
from stripetopup.core.grants import terms as grant_terms
from stripetopup.core.grants.types import ExpiryRun, Granted, GrantList
from stripetopup.core.ledger import accounts
from stripetopup.core.ledger.types import Balance, Entry, LedgerVerification, OpenedAccount, Posted
from stripetopup.core.outbound import feed
from stripetopup.core.outbound.hook_types import (
    Delivery,
    DeliveryAttempt,
    DeliveryRun,
    Endpoint,
    EndpointSecret,
    EventDeliveries,
    RemovedEndpoint,
    Retried,
)
from stripetopup.core.outbound.types import EventPage
from stripetopup.core.payments import queries as payment_queries
from stripetopup.core.payments.types import Payment, PaymentDetail, Resolution
from stripetopup.core.recharge import cards as saved_cards
from stripetopup.core.recharge import rules as recharge_rules
from stripetopup.core.recharge.types import (
    CardList,
    CardView,
    ConsentDoor,
    RuleOff,
    RuleTerms,
    RuleView,
)
from stripetopup.core.reconcile.types import Difference, ReconcileReport
from stripetopup.core.spending import holds, spend
from stripetopup.core.spending.types import HoldChange, HoldView, Spent
from stripetopup.dates import utcnow
from stripetopup.db import create_db_engine
from stripetopup.models import GrantCategory
from stripetopup.store.grants import DEFAULT_PRIORITY
from stripetopup.stripe_gateway import StripeGateway

if TYPE_CHECKING:
    from stripetopup.core.outbound.worker import DeliveryWorker
    from stripetopup.core.recharge.types import RechargeRun
    from stripetopup.metrics import Snapshot


class TopUpService:
    """Checkout, webhook handling, balances and the ledger, over one database."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        stripe: StripeGateway | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ):
        """``clock`` (aware UTC ``datetime``; default ``dates.utcnow``) decides every time
        edge: webhook signature tolerance and hold expiry."""
        self.ctx = Context(settings, engine, stripe, clock or utcnow)

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        check_schema: bool | Literal["on_first_use"] = True,
        clock: Callable[[], datetime] | None = None,
        **overrides: Any,
    ) -> TopUpService:
        """Build from ``settings`` (or the environment plus ``overrides``).

        With ``check_schema`` a new SQLite file is migrated on the spot and any other
        database must already be at this version's schema; ``"on_first_use"`` waits until
        the database is first used (the CLI: a command refused before that creates no file).
        """
        settings = settings or load_settings(**overrides)
        engine = create_db_engine(settings.database_url)
        service = cls(settings, engine, clock=clock)
        service.ctx.check_schema(check_schema)
        return service

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    def close(self) -> None:
        """Release the database pool and the Stripe HTTP client."""
        self.ctx.close()

    # Accounts and the ledger -------------------------------------------------------------
    def open_account(self, account_id: str) -> OpenedAccount:
        """Open an account (``created=False`` when it exists: nothing changes). A new id
        must follow :data:`stripetopup.ids.ACCOUNT_ID_RULE`."""
        return accounts.open_account(self.ctx, account_id)

    def accounts(self, *, limit: int = 1000) -> list[Balance]:
        return accounts.list_accounts(self.ctx, limit=limit)

    def balance(self, account_id: str) -> Balance:
        return accounts.balance(self.ctx, account_id)

    def set_low_balance_threshold(self, account_id: str, threshold_cents: int | None) -> Balance:
        """The account's own low-balance threshold in cents (None: the default); the
        balance.low/recovered flag is re-evaluated at once."""
        return accounts.set_low_balance_threshold(self.ctx, account_id, threshold_cents)

    def ledger(
        self, account_id: str, *, limit: int = 50, before_id: int | None = None
    ) -> list[Entry]:
        return accounts.entries(self.ctx, account_id, limit=limit, before_id=before_id)

    def verify_ledger(self) -> LedgerVerification:
        """Recompute every balance from its entries; ``.differences`` lists any mismatch."""
        from stripetopup.core.ledger import verify as ledger_check  # deferred: start-up cost

        return ledger_check.verify(self.ctx)

    def credit(
        self,
        account_id: str,
        amount_cents: int,
        *,
        reason: str,
        idempotency_key: str | None = None,
        actor: str = "operator",
        category: str = GrantCategory.PAID,
        priority: int = DEFAULT_PRIORITY,
        expires_at: datetime | None = None,
    ) -> Posted:
        """A manual credit: a grant of ``category`` (paid or promotional), ``priority``
        (0-100, lower spent first) that expires at ``expires_at`` (None: never)."""
        plain = (category, priority, expires_at) == (GrantCategory.PAID, DEFAULT_PRIORITY, None)
        rule = None
        if not plain:
            rule = grant_terms.rule(
                self.ctx, category=category, priority=priority, expires_at=expires_at
            )
        return accounts.adjust(
            self.ctx,
            account_id,
            abs(amount_cents),
            reason=reason,
            idempotency_key=idempotency_key,
            actor=actor,
            grant=rule,
        )

    def debit(
        self,
        account_id: str,
        amount_cents: int,
        *,
        reason: str,
        idempotency_key: str | None = None,
        actor: str = "operator",
    ) -> Posted:
        return accounts.adjust(
            self.ctx,
            account_id,
            -abs(amount_cents),
            reason=reason,
            idempotency_key=idempotency_key,
            actor=actor,
        )

    # Credit grants -----------------------------------------------------------------------
    def grant(
        self,
        account_id: str,
        amount_cents: int,
        *,
        idempotency_key: str,
        reason: str | None = None,
        category: str = GrantCategory.PAID,
        priority: int = DEFAULT_PRIORITY,
        expires_at: datetime | None = None,
        effective_at: datetime | None = None,
        actor: str = "app",
    ) -> Granted:
        """Credit ``amount_cents`` as a grant with these terms (the spend API's grants)."""
        return grant_credit.give(
            self.ctx,
            account_id,
            amount_cents,
            idempotency_key=idempotency_key,
            reason=reason,
            category=category,
            priority=priority,
            expires_at=expires_at,
            effective_at=effective_at,
            actor=actor,
        )

    def grant_expiry(self, text: str | None) -> datetime | None:
        """An expiry as operators type it (``30d`` from now, or an ISO date/time ahead)."""
        return grant_terms.parse_expiry(text, now=self.ctx.clock())

    def grants(self, account_id: str, *, include_closed: bool = False) -> GrantList:
        """An account's grants in burn-down order (live with cents left, or all)."""
        return grant_credit.list_grants(self.ctx, account_id, include_closed=include_closed)

    def expire_grants(self, *, limit: int = 500) -> ExpiryRun:
        """Write off every grant past its expiry (exactly once; see ``core/grants/expiry``)."""
        from stripetopup.core.grants import expiry  # deferred: start-up cost

        return expiry.expire_due(self.ctx, limit=limit)

    # Spending ----------------------------------------------------------------------------
    # For the host application: debits that refuse to overdraw, and holds. Every write
    # takes an idempotency key, scoped per ``actor`` (the spend API passes the service
    # key's name): the same key and input again returns the first result with
    # ``created=False``; the same key with other input raises Conflict, and so does a
    # spend's key used to place a hold or the reverse (a key names one operation).
    def spend(
        self,
        account_id: str,
        amount_cents: int,
        *,
        idempotency_key: str,
        reason: str | None = None,
        allow_negative: bool = False,
        actor: str = "app",
    ) -> Spent:
        """Debit ``amount_cents``; InsufficientFunds (nothing written) when more than the
        available balance (balance minus open holds), unless ``allow_negative``."""
        return spend.spend(
            self.ctx,
            account_id,
            amount_cents,
            idempotency_key=idempotency_key,
            reason=reason,
            allow_negative=allow_negative,
            actor=actor,
        )

    def place_hold(
        self,
        account_id: str,
        amount_cents: int,
        *,
        idempotency_key: str,
        ttl_seconds: int | None = None,
        reason: str | None = None,
        actor: str = "app",
    ) -> HoldChange:
        """Reserve ``amount_cents`` for ``ttl_seconds`` (default ``hold_ttl_seconds``)."""
        return holds.place(
            self.ctx,
            account_id,
            amount_cents,
            idempotency_key=idempotency_key,
            ttl_seconds=ttl_seconds,
            reason=reason,
            actor=actor,
        )

    def capture_hold(
        self,
        hold_id: str,
        amount_cents: int | None = None,
        *,
        idempotency_key: str,
        actor: str = "app",
    ) -> HoldChange:
        """Debit part or all of an open hold and close it (the rest is released)."""
        return holds.capture(
            self.ctx, hold_id, amount_cents, idempotency_key=idempotency_key, actor=actor
        )

    def release_hold(self, hold_id: str, *, idempotency_key: str) -> HoldChange:
        """Release an open hold without debiting anything."""
        return holds.release(self.ctx, hold_id, idempotency_key=idempotency_key)

    def get_hold(self, hold_id: str) -> HoldView:
        return holds.get(self.ctx, hold_id)

    def expire_holds(self) -> int:
        """Close every hold past its expiry (``hold.expired`` for each); returns how many."""
        return holds.expire_all(self.ctx)

    # Outbound events (the outbox) --------------------------------------------------------
    def outbound_events(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        types: Sequence[str] = (),
        account_id: str | None = None,
    ) -> EventPage:
        """Committed outbound events after the event ``after`` (a ``msg_`` id), oldest first;
        follow ``next_after`` to read on without missing or repeating one."""
        return feed.events(self.ctx, after=after, limit=limit, types=types, account_id=account_id)

    # Checkout and Stripe events ----------------------------------------------------------
    def create_checkout(
        self,
        account_id: str,
        amount_cents: int,
        *,
        origin: str | None = None,
        request_key: str | None = None,
        save_card: ConsentDoor | None = None,
    ) -> CheckoutLink:
        """``save_card``: the door the buyer consented through to save the paying card."""
        return checkout.create(
            self.ctx,
            account_id,
            amount_cents,
            origin=origin,
            request_key=request_key,
            save_card=save_card,
        )

    # Saved cards ---------------------------------------------------------------------------
    def cards(self, account_id: str) -> CardList:
        """Every card saved for the account, with its consent and state."""
        return saved_cards.list_cards(self.ctx, account_id)

    def remove_card(self, account_id: str, payment_method_id: str) -> CardView:
        """Detach the card in Stripe and end it here: it is never charged again."""
        return saved_cards.remove(self.ctx, account_id, payment_method_id)

    # Auto-recharge rules -------------------------------------------------------------------
    def set_auto_recharge(self, account_id: str, terms: RuleTerms) -> RuleView:
        """Set (or replace) the account's rule; NoSavedCard without a consented card."""
        return recharge_rules.set_rule(self.ctx, account_id, terms)

    def auto_recharge(self, account_id: str) -> RuleView:
        return recharge_rules.show(self.ctx, account_id)

    def pause_auto_recharge(self, account_id: str) -> RuleView:
        return recharge_rules.pause(self.ctx, account_id)

    def resume_auto_recharge(self, account_id: str) -> RuleView:
        return recharge_rules.resume(self.ctx, account_id)

    def run_auto_recharge(self, *, limit: int = 50) -> RechargeRun:
        """Charge every pending recharge attempt once, and give each requires_action one its
        Checkout link (the worker's one pass; for cron)."""
        from stripetopup.core.checkout import recharge_sessions  # deferred: start-up cost
        from stripetopup.core.recharge import charge

        # The worker makes a requires_action attempt's Checkout link with the checkout
        # room's maker, handed in here: the recharge room may not import checkout.
        return charge.run_once(self.ctx, make_link=recharge_sessions.create, limit=limit)

    def auto_recharge_off(self, account_id: str) -> RuleOff:
        """Delete the account's rule (``deleted`` False when it had none)."""
        return recharge_rules.off(self.ctx, account_id)

    def landing(self, checkout_session_id: str, *, account_id: str | None = None) -> Landing:
        """Fulfil a session on the buyer's return (credit it now if Stripe says it is paid,
        through the webhook's exactly-once credit), then say where it stands: credited,
        pending (a delayed method), held for an operator, dismissed, not paid or unknown.

        With ``account_id`` a session of another account is NotFound (Stripe not asked)."""
        from stripetopup.core.checkout import landing  # deferred: start-up cost

        return landing.land(self.ctx, checkout_session_id, account_id=account_id)

    # The hosted top-up page --------------------------------------------------------------
    def create_topup_link(self, account_id: str, ttl: timedelta | None = None) -> TopUpLink:
        """A signed link to the hosted top-up page for ``account_id`` (default lifetime
        STRIPETOPUP_TOPUP_LINK_TTL; 1 to 60 minutes). ConfigError while the page is off."""
        from stripetopup.core.checkout import page  # deferred: start-up cost

        return page.create_link(self.ctx, account_id, ttl)

    def topup_page(self, token: str | None) -> TopUpPage:
        """What the page shows for a page link; LinkRefused (nothing read) for another."""
        from stripetopup.core.checkout import page  # deferred: start-up cost

        return page.open_page(self.ctx, token)

    def checkout_from_page(
        self, token: str | None, amount_cents: int, *, save_card: bool = False
    ) -> CheckoutLink:
        """A Checkout Session for a page link's account, returning to the landing pages;
        the link is verified and the amount bounded before Stripe is asked."""
        from stripetopup.core.checkout import page  # deferred: start-up cost

        return page.checkout(self.ctx, token, amount_cents, save_card=save_card)

    def verify_landing(self, token: str | None) -> LandingLink:
        """A landing link's account (and a page link to try again with, while it lasts)."""
        from stripetopup.core.checkout import page  # deferred: start-up cost

        return page.verify_landing(self.ctx, token)

    def handle_webhook(self, payload: bytes, signature_header: str | None) -> EventOutcome:
        # Deferred: the intake brings prometheus_client (its counters), which no read needs.
        from stripetopup.core.events import intake as webhook

        return webhook.handle(self.ctx, payload, signature_header)

    def apply_event(self, event: dict[str, Any], *, actor: str) -> EventOutcome:
        return events.apply(self.ctx, event, actor=actor)

    def payments(
        self,
        *,
        since: datetime | None = None,
        account_id: str | None = None,
        state: str | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> list[Payment]:
        return payment_queries.list_payments(
            self.ctx, since=since, account_id=account_id, state=state, status=status, limit=limit
        )

    def assign_payment(
        self,
        checkout_session_id: str,
        account_id: str,
        *,
        reason: str,
        actor: str = "operator:assign",
        force: bool = False,
    ) -> Resolution:
        """Credit a stray paid session to ``account_id`` through the exactly-once path
        (the credit rule: what was paid excluding tax), debiting refunds/disputes Stripe
        already made on it.

        A dismissed payment is refused (PaymentStateError) unless ``force``."""
        from stripetopup.core.payments import resolve as stray  # deferred: start-up cost

        return stray.assign(
            self.ctx, checkout_session_id, account_id, reason=reason, actor=actor, force=force
        )

    def dismiss_payment(
        self, checkout_session_id: str, *, reason: str, actor: str = "operator:dismiss"
    ) -> Resolution:
        """Mark a payment dismissed: nothing is credited for it, now or later."""
        from stripetopup.core.payments import resolve as stray  # deferred: start-up cost

        return stray.dismiss(self.ctx, checkout_session_id, reason=reason, actor=actor)

    def payment(self, checkout_session_id: str) -> PaymentDetail:
        """One payment and every assign/dismiss decision on it, oldest first."""
        from stripetopup.core.payments import resolve as stray  # deferred: start-up cost

        return stray.detail(self.ctx, checkout_session_id)

    def events(
        self,
        *,
        failed_only: bool = False,
        event_type: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
        include_doctor: bool = False,
    ) -> list[EventRecord]:
        """The event log, newest first; ``doctor``'s pings only with ``include_doctor``."""
        return event_log.list_events(
            self.ctx,
            failed_only=failed_only,
            event_type=event_type,
            since=since,
            limit=limit,
            include_doctor=include_doctor,
        )

    def event(self, event_id: str) -> EventRecord:
        return event_log.get_event(self.ctx, event_id)

    # Reconcile and replay ----------------------------------------------------------------
    def reconcile(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        fix: bool = False,
        on_item: Callable[[Difference], None] | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> ReconcileReport:
        """Compare Stripe's sessions, and auto-recharge PaymentIntents, created in
        ``[since, until)`` with the ledger.

        With ``fix`` missing credits and debits are applied (actor ``reconcile``). With
        ``on_item`` differences are streamed to it instead of collected in the report.
        """
        from stripetopup.core.reconcile import runner as reconcile  # deferred: start-up cost

        return reconcile.run(self.ctx, since, until, fix=fix, on_item=on_item, on_page=on_page)

    def replay(self, event_id: str, *, dry_run: bool = False) -> EventOutcome:
        """Fetch ``event_id`` from Stripe and apply it as the webhook would."""
        from stripetopup.core.events import replay  # deferred: start-up cost

        return replay.replay(self.ctx, event_id, dry_run=dry_run)

    def replay_failed(
        self,
        *,
        since: datetime | None = None,
        dry_run: bool = False,
        on_outcome: Callable[[EventOutcome], None] | None = None,
    ) -> ReplayBatch:
        """Replay every event in the local log whose processing failed."""
        from stripetopup.core.events import replay  # deferred: start-up cost

        return replay.replay_failed(self.ctx, since=since, dry_run=dry_run, on_outcome=on_outcome)

    # Doctor ------------------------------------------------------------------------------
    def doctor(self, *, url: str | None = None) -> DoctorReport:
        """Check settings, Stripe permissions and endpoints, the database, the webhook path
        through the server at ``url`` (default: the local one) and the event log."""
        from stripetopup.core.doctor import runner as doctor  # deferred: start-up cost

        return doctor.run(self.ctx, url=url)

    # Metrics -----------------------------------------------------------------------------
    def metrics_snapshot(self) -> Snapshot:
        """The figures a metrics scrape reads from the database (ledger totals and more)."""
        from stripetopup.core.doctor import observe  # deferred: start-up cost

        return observe.snapshot(self.ctx)

    # Outbound webhooks -------------------------------------------------------------------
    # Endpoints of the host application that receive our events, signed (Standard
    # Webhooks). Secrets are in the answers of add_hook and rotate_hook_secret only.
    def add_hook(
        self,
        url: str,
        *,
        events: Sequence[str] = ("*",),
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> EndpointSecret:
        """A new endpoint taking ``events`` (types, ``balance.*`` families or ``*``) from
        now on; UsageError for a URL or filter it may not have. The same
        ``idempotency_key`` and input again answers the same endpoint (``created=False``)."""
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.add(
            self.ctx, url, events=events, description=description, idempotency_key=idempotency_key
        )

    def hooks(self) -> list[Endpoint]:
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.list_endpoints(self.ctx)

    def hook(self, endpoint_id: str) -> Endpoint:
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.get(self.ctx, endpoint_id)

    def enable_hook(self, endpoint_id: str) -> Endpoint:
        """Send to the endpoint again (its failure clock starts afresh)."""
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.set_enabled(self.ctx, endpoint_id, True, reason="")

    def disable_hook(
        self, endpoint_id: str, *, reason: str = "disabled by an operator"
    ) -> Endpoint:
        """Stop sending to the endpoint; its deliveries wait (and resume on enable)."""
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.set_enabled(self.ctx, endpoint_id, False, reason=reason)

    def remove_hook(self, endpoint_id: str) -> RemovedEndpoint:
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.remove(self.ctx, endpoint_id)

    def rotate_hook_secret(self, endpoint_id: str, *, grace: timedelta) -> EndpointSecret:
        """A new signing secret; the old one signs beside it for ``grace`` (at most 7 days)."""
        from stripetopup.core.outbound import endpoints  # deferred: start-up cost

        return endpoints.rotate_secret(self.ctx, endpoint_id, grace=grace)

    def hook_deliveries(
        self,
        *,
        endpoint_id: str | None = None,
        failed_only: bool = False,
        event_id: str | None = None,
        limit: int = 200,
    ) -> list[Delivery]:
        """Deliveries newest first (``failed_only``: failed and dead ones)."""
        from stripetopup.core.outbound import history  # deferred: start-up cost

        return history.list_deliveries(
            self.ctx,
            endpoint_id=endpoint_id,
            failed_only=failed_only,
            event_id=event_id,
            limit=limit,
        )

    def retry_delivery(self, delivery_id: str) -> Retried:
        """Send a delivery again now, on a fresh schedule (the same webhook-id)."""
        from stripetopup.core.outbound import history  # deferred: start-up cost

        return history.retry(self.ctx, delivery_id)

    def retry_hook_deliveries(self, endpoint_id: str) -> Retried:
        """Send every failed or dead delivery of the endpoint again now."""
        from stripetopup.core.outbound import history  # deferred: start-up cost

        return history.retry_endpoint(self.ctx, endpoint_id)

    def replay_failed_hooks(
        self, *, since: datetime | None = None, endpoint_id: str | None = None
    ) -> Retried:
        """Send every failed or dead delivery again now (of events since ``since``, of one
        endpoint): ``hooks replay --failed``."""
        from stripetopup.core.outbound import history  # deferred: start-up cost

        return history.replay_failed(self.ctx, since=since, endpoint_id=endpoint_id)

    def hook_events(
        self,
        *,
        failed_only: bool = False,
        endpoint_id: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[EventDeliveries]:
        """Outbound events newest first with each endpoint's delivery (``hooks events``)."""
        from stripetopup.core.outbound import event_log  # deferred: start-up cost

        return event_log.events(
            self.ctx, failed_only=failed_only, endpoint_id=endpoint_id, since=since, limit=limit
        )

    def hook_attempts(self, event_id: str) -> list[DeliveryAttempt]:
        """Every attempt of every delivery of one outbound event (``hooks attempts``)."""
        from stripetopup.core.outbound import event_log  # deferred: start-up cost

        return event_log.attempts(self.ctx, event_id)

    def deliver_hooks_once(self, *, owner: str | None = None) -> DeliveryRun:
        """One pass of the delivery worker in this thread (``hooks deliver --once``)."""
        from concurrent.futures import ThreadPoolExecutor

        from stripetopup.core.outbound import delivery, worker  # deferred: start-up cost

        with (
            delivery.client(self.settings.hooks_timeout_seconds) as http,
            ThreadPoolExecutor(self.settings.hooks_concurrency) as pool,
        ):
            name = owner or worker.worker_name()
            return worker.run_once(self.ctx, http, owner=name, pool=pool)

    def hooks_worker(self) -> DeliveryWorker:
        """The delivery worker (not started): ``start()`` it, ``stop()`` it."""
        from stripetopup.core.outbound.worker import DeliveryWorker  # deferred: start-up cost

        return DeliveryWorker(self.ctx)

    # Credentials -------------------------------------------------------------------------
    def create_token(self, account_id: str) -> tuple[Credential, str]:
        """A user token for an existing account (NotFound, saying how to open it, if not)."""
        return auth.create_credential(self.ctx, "user", account_id)

    def create_service_key(self, name: str) -> tuple[Credential, str]:
        return auth.create_credential(self.ctx, "service", name)

    def list_credentials(self, kind: str, subject: str | None = None) -> list[Credential]:
        return auth.list_credentials(self.ctx, kind, subject)

    def revoke_credential(self, kind: str, credential_id: str) -> Credential:
        return auth.revoke_credential(self.ctx, kind, credential_id)

    def authenticate_user(self, authorization: str | None) -> str:
        return auth.authenticate_user(self.ctx, authorization)

    def authenticate_service(self, authorization: str | None) -> str:
        return auth.authenticate_service(self.ctx, authorization)
