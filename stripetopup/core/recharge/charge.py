"""The recharge worker: charge each pending attempt off-session, once, and credit it once.

The call: ``POST /v1/payment_intents`` with the attempt's ``customer``, ``payment_method``
and amount, ``off_session=true``, ``confirm=true``, ``metadata`` naming the account and
the attempt, and an ``Idempotency-Key`` derived from the attempt; so a crash (or a lost
answer) between Stripe's charge and our commit is retried into the same PaymentIntent,
never a second charge. A success is credited through the one posting point under the
source ``payment_intent:pi_...`` (a paid grant), which ``payment_intent.succeeded``
shares: whichever comes first credits, the other finds it done. A 402 ends the attempt
(``failed``, or ``requires_action`` for ``authentication_required``) and pauses the rule
with the reason: nothing retries a declined off-session charge. A requires_action attempt
then gets one Checkout link for the buyer to pay on-session (:mod:`.action_links`, made by
the maker the service hands :func:`run_once`: the checkout room's, which this room may not
import). Stripe unreachable leaves the attempt pending for the next run (the same key: no
second charge). Stripe keeps a key for 24 hours at least, so an attempt older than
:data:`KEY_TRUSTED_FOR` is first looked for among its customer's PaymentIntents (by its
tag): a charge whose answer was lost a day ago is credited, not made again.
Imports core (context, ledger sources, outbound posting, the room's action_links and
types), db, errors, models and store.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger import sources
from stripetopup.core.outbound import posting as outbound
from stripetopup.core.outbound.catalogue import EventType, RechargeData
from stripetopup.core.outbound.emit import emit
from stripetopup.core.recharge import action_links, tags
from stripetopup.core.recharge.types import ActionLinkMaker, RechargeRun
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import CardDeclined, NotFound, StripeUnavailable
from stripetopup.models import Account, AttemptStatus, LedgerKind, RechargeAttempt, RuleState
from stripetopup.store import accounts, ledger, recharge_attempts, recharge_rules
from stripetopup.store.grants import GrantRule

log = logging.getLogger("stripetopup.core.recharge")
ACTOR = "autorecharge"
# How long an attempt's Idempotency-Key alone is trusted to make a repeated charge harmless:
# half of the 24 hours Stripe keeps a key at least.
KEY_TRUSTED_FOR = timedelta(hours=12)


def run_once(ctx: Context, *, make_link: ActionLinkMaker, limit: int = 50) -> RechargeRun:
    """One pass: the Checkout links earlier runs could not make, then each pending attempt
    charged (and, when the bank wants the buyer, its link made right after)."""
    with transaction(ctx.engine) as session:
        unlinked = recharge_attempts.awaiting_link(session, limit=limit)
        keys = recharge_attempts.pending_keys(session, limit=limit)
    links = {key: action_links.make(ctx, key, make_link) for key in unlinked}
    results: dict[str, str] = {}
    for key in keys:
        results[key] = charge(ctx, key)
        if results[key] == AttemptStatus.REQUIRES_ACTION:  # recorded: now the buyer's link
            links[key] = action_links.make(ctx, key, make_link)
    return RechargeRun(results, links)


def _load(ctx: Context, attempt_key: str) -> tuple[RechargeAttempt, str] | None:
    with transaction(ctx.engine) as session:
        attempt = recharge_attempts.find(session, attempt_key)
        if attempt is None or attempt.status != AttemptStatus.PENDING:
            return None
        account = session.get(Account, attempt.account_pk)
        assert account is not None
        return attempt, account.account_id


def charge(ctx: Context, attempt_key: str) -> str:
    """Charge one pending attempt; the state it is in afterwards."""
    loaded = _load(ctx, attempt_key)
    if loaded is None:
        return "not pending"
    attempt, account_id = loaded
    params: dict[str, Any] = {
        "amount": attempt.amount_cents,
        "currency": attempt.currency,
        "customer": attempt.customer_id,
        "payment_method": attempt.payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": tags.metadata_for(account_id, attempt_key),
    }
    try:
        pi = _charged_before(ctx, attempt) or ctx.stripe.create_payment_intent(
            params, idempotency_key=f"stripetopup-{attempt_key}"
        )
    except CardDeclined as exc:
        return _declined(ctx, attempt, exc)
    except (StripeUnavailable, NotFound) as exc:
        if _refused(exc):  # a request Stripe will refuse again: end it, never retry it
            refusal = CardDeclined(
                exc.message, stripe_code="refused", decline_code=None, payment_intent_id=None
            )
            return _declined(ctx, attempt, refusal, reason=f"Stripe refused: {exc.message}")
        log.warning(
            "recharge %s not charged now, kept for the next run: %s", attempt_key, exc.message
        )
        return AttemptStatus.PENDING.value
    if pi.get("status") != "succeeded":
        return AttemptStatus.PENDING.value  # processing: payment_intent.succeeded credits it
    return run_in_transaction(
        ctx.engine, lambda session: settle(session, ctx, attempt_key, pi, actor=ACTOR)
    )


def _charged_before(ctx: Context, attempt: RechargeAttempt) -> dict[str, Any] | None:
    """The attempt's PaymentIntent, when an attempt old enough for Stripe to have forgotten
    its Idempotency-Key was charged already (an answer lost, its webhook never delivered).

    Stripe keeps a key for 24 hours at least; past :data:`KEY_TRUSTED_FOR` the key alone no
    longer proves a repeat is harmless, so the customer's PaymentIntents are searched for
    the attempt's tag first (one list call, rare: a young attempt skips it). A declined or
    authentication-requiring PaymentIntent found here answers as its lost 402 would have.
    """
    if ctx.clock() - attempt.created_at < KEY_TRUSTED_FOR:
        return None
    for page in ctx.stripe.customer_payment_intent_pages(attempt.customer_id):
        for pi in page:
            tag = tags.tag_of(pi)
            if tag is not None and tag.attempt_key == attempt.attempt_key:
                _raise_if_declined(pi)
                return pi
    return None


def _raise_if_declined(pi: dict[str, Any]) -> None:
    """The 402 Stripe answered for ``pi`` when it was created, rebuilt from the object."""
    status = pi.get("status")
    if status not in ("requires_payment_method", "requires_action", "canceled"):
        return
    error = pi.get("last_payment_error") or {}
    code = "authentication_required" if status == "requires_action" else error.get("code")
    raise CardDeclined(
        f"Stripe declined the charge ({code or status}) before its answer was lost",
        stripe_code=code or "card_declined",
        decline_code=error.get("decline_code"),
        payment_intent_id=str(pi["id"]),
    )


def settle(
    session: Session, ctx: Context, attempt_key: str, pi: dict[str, Any], *, actor: str
) -> str:
    """Credit a succeeded recharge PaymentIntent once and close its attempt (in the caller's
    transaction: the worker's, or the ``payment_intent.succeeded`` webhook's)."""
    attempt = recharge_attempts.find(session, attempt_key)
    if attempt is None:
        return "unknown attempt"
    account = accounts.get_by_pk(session, attempt.account_pk)
    pi_id = str(pi["id"])
    amount = int(pi.get("amount_received") or pi.get("amount") or 0)
    ttl = ctx.settings.paid_credit_ttl
    now = ctx.clock()
    posting = ledger.Posting(
        account_id=account.account_id,
        amount_cents=amount,
        currency=str(pi.get("currency") or attempt.currency),
        kind=LedgerKind.TOPUP,
        source=sources.payment_intent_credit(pi_id),
        actor=actor,
        reason=f"auto-recharge {attempt_key}",
        payment_intent_id=pi_id,
        grants=GrantRule(expires_at=None if ttl is None else now + ttl),  # a paid grant
        at=now,
    )
    outbound.post(session, ctx, posting)
    if recharge_attempts.finish(
        session, attempt_key, AttemptStatus.SUCCEEDED, now=now, payment_intent_id=pi_id
    ):
        _tell(session, ctx, EventType.AUTORECHARGE_SUCCEEDED, attempt, account.account_id, pi_id)
    return AttemptStatus.SUCCEEDED.value


def _tell(
    session: Session,
    ctx: Context,
    type_: EventType,
    attempt: RechargeAttempt,
    account_id: str,
    payment_intent_id: str | None,
    reason: str | None = None,
) -> None:
    """The host's ``autorecharge.*`` event, in the transaction that ended the attempt."""
    data = RechargeData(
        attempt_key=attempt.attempt_key,
        account_id=account_id,
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        payment_intent_id=payment_intent_id,
        reason=reason,
    )
    emit(session, ctx, type_, data, account_id=account_id)


def credited(session: Session, payment_intent_id: str) -> bool:
    """True when the recharge PaymentIntent's credit is in the ledger already."""
    return (
        ledger.find_by_source(session, sources.payment_intent_credit(payment_intent_id)) is not None
    )


def _refused(exc: StripeUnavailable | NotFound) -> bool:
    """Stripe refused the charge itself (a detached card, a deleted customer): the same call
    fails again. A 409 (the same Idempotency-Key in flight on another worker), 401/403 (our
    key) and 429 leave the attempt pending: no charge was made, and the next run asks again."""
    return isinstance(exc, NotFound) or exc.refused


def _declined(
    ctx: Context, attempt: RechargeAttempt, exc: CardDeclined, *, reason: str | None = None
) -> str:
    needs_action = exc.stripe_code == "authentication_required"
    status = AttemptStatus.REQUIRES_ACTION if needs_action else AttemptStatus.FAILED
    why = exc.decline_code or exc.stripe_code or "card_error"
    if reason is None:
        reason = (
            "the bank asks the buyer to authenticate (authentication_required)"
            if needs_action
            else f"card declined ({why})"
        )

    def work(session: Session) -> str:
        now = ctx.clock()
        ended = recharge_attempts.finish(
            session,
            attempt.attempt_key,
            status,
            now=now,
            reason=reason,
            payment_intent_id=exc.payment_intent_id,
        )
        if not ended:
            return "not pending"
        if not needs_action:  # requires_action is told with its link (action_links)
            account_id = accounts.get_by_pk(session, attempt.account_pk).account_id
            failed = EventType.AUTORECHARGE_FAILED
            _tell(session, ctx, failed, attempt, account_id, exc.payment_intent_id, reason)
        declines = recharge_attempts.declines_in_a_row(session, attempt.account_pk)
        if needs_action or declines >= ctx.settings.auto_recharge_max_declines:
            pause = f"auto-recharge {attempt.attempt_key}: {reason}"[:200]
            recharge_rules.set_status(
                session, attempt.account_pk, RuleState.PAUSED.value, pause, now
            )
        return status.value

    return run_in_transaction(ctx.engine, work)
