"""The Checkout link of a requires_action attempt: made once, stored on it, told to the host.

When the bank asks the buyer to authenticate an off-session recharge
(``authentication_required``), the worker, after the failed charge is recorded, asks the
link maker it was given (:data:`~stripetopup.core.recharge.types.ActionLinkMaker`: the
checkout room's) for one Checkout Session the buyer pays on-session. The call runs outside
any transaction and its Idempotency-Key is derived from the attempt, so a crash, a lost
answer or two workers at once all end with Stripe's one session. The session is stored on
the attempt and ``autorecharge.requires_action`` carries its link to the host, in one
transaction (the event waits for the link: it is what the host needs).

- Stripe unreachable (or rate-limiting, a key problem, the same key still in flight, a
  setting missing): nothing is stored; the next run asks again, with the same key.
- Stripe refusing the request itself (a customer gone, an amount it won't take): the reason
  is stored, the event is sent without a link saying why, and nothing asks again.

Only a requires_action attempt without a link (and none refused) is ever asked for one.
Imports core (context, the outbound catalogue and emit, the room's types), db, errors,
models and store.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.outbound.catalogue import EventType, RechargeActionData
from stripetopup.core.outbound.emit import emit
from stripetopup.core.recharge.types import ActionLink, ActionLinkMaker, ActionLinkRequest
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import ConfigError, NotFound, StripeUnavailable, UsageError
from stripetopup.models import Account, AttemptStatus, RechargeAttempt
from stripetopup.store import recharge_attempts

log = logging.getLogger("stripetopup.core.recharge")


def make(ctx: Context, attempt_key: str, make_link: ActionLinkMaker) -> str:
    """Give one requires_action attempt its Checkout link: the session id, or why not (yet)."""
    loaded = _load(ctx, attempt_key)
    if loaded is None:
        return "not needed"  # not requires_action, or linked (or refused) already
    attempt, request = loaded
    try:
        made = make_link(ctx, request)
    except (StripeUnavailable, NotFound, UsageError, ConfigError) as exc:
        if not _refused(exc):
            log.warning(
                "checkout link of %s not made now, asked again next run: %s",
                attempt_key,
                exc.message,
            )
            return f"not made yet: {exc.message}"[:200]
        reason = f"Stripe refused the checkout link: {exc.message}"[:200]
        run_in_transaction(ctx.engine, lambda session: _refuse(session, ctx, attempt, reason))
        return reason
    run_in_transaction(ctx.engine, lambda session: _keep(session, ctx, attempt, made))
    return made.checkout_session_id


def _load(ctx: Context, attempt_key: str) -> tuple[RechargeAttempt, ActionLinkRequest] | None:
    with transaction(ctx.engine) as session:
        attempt = recharge_attempts.find(session, attempt_key)
        if (
            attempt is None
            or attempt.status != AttemptStatus.REQUIRES_ACTION
            or attempt.checkout_session_id is not None
            or attempt.checkout_error is not None
        ):
            return None
        account = session.get(Account, attempt.account_pk)
        assert account is not None
        request = ActionLinkRequest(
            attempt_key=attempt.attempt_key,
            account_id=account.account_id,
            amount_cents=attempt.amount_cents,
            currency=attempt.currency,
            customer_id=attempt.customer_id,
        )
        return attempt, request


def _refused(exc: StripeUnavailable | NotFound | UsageError | ConfigError) -> bool:
    """True when the same request would be refused again (so it is not made again)."""
    if isinstance(exc, ConfigError):
        return False  # a setting the operator fixes
    if isinstance(exc, NotFound | UsageError):
        return True
    return exc.refused


def _keep(session: Session, ctx: Context, attempt: RechargeAttempt, made: ActionLink) -> None:
    """Store the link and tell the host, once: a second worker storing the same session
    finds it stored and tells nothing."""
    key = attempt.attempt_key
    if recharge_attempts.keep_link(session, key, made.checkout_session_id, made.url):
        _tell(session, ctx, attempt, made, None)


def _refuse(session: Session, ctx: Context, attempt: RechargeAttempt, reason: str) -> None:
    if recharge_attempts.refuse_link(session, attempt.attempt_key, reason):
        _tell(session, ctx, attempt, None, reason)


def _tell(
    session: Session,
    ctx: Context,
    attempt: RechargeAttempt,
    made: ActionLink | None,
    refused: str | None,
) -> None:
    """``autorecharge.requires_action``, with the link (or why there is none)."""
    account = session.get(Account, attempt.account_pk)
    assert account is not None
    data = RechargeActionData(
        attempt_key=attempt.attempt_key,
        account_id=account.account_id,
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        payment_intent_id=attempt.payment_intent_id,
        reason=attempt.reason,
        checkout_session_id=made.checkout_session_id if made else None,
        checkout_url=made.url if made else None,
        checkout_error=refused,
    )
    emit(
        session,
        ctx,
        EventType.AUTORECHARGE_REQUIRES_ACTION,
        data,
        account_id=account.account_id,
    )
