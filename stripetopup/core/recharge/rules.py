"""An account's auto-recharge rule: set (only with a consented, active saved card), show,
pause, resume and off.

The terms are checked before anything is written: a threshold, exactly one of a fixed
amount (within the top-up bounds) or a target above the threshold, a monthly cap that
allows at least one charge, an optional monthly count and a cooldown. The card a recharge
charges is the account's newest active saved card. Imports core (context, the room's cards
and types), db, errors, models, money and store.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.recharge.cards import view as card_view
from stripetopup.core.recharge.types import AttemptView, CardView, RuleOff, RuleTerms, RuleView
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import InvalidAmount, NoSavedCard, NotFound, UsageError
from stripetopup.models import (
    MAX_INTEGER,
    Account,
    AttemptStatus,
    AutoRechargeRule,
    RechargeAttempt,
    RuleState,
)
from stripetopup.money import check_bounds, format_cents
from stripetopup.store import accounts, cards, recharge_attempts, recharge_rules

MAX_COOLDOWN = timedelta(days=30)
MAX_MONTHLY_COUNT = 1000
DEFAULT_COOLDOWN_SECONDS = 600


def check_terms(ctx: Context, terms: RuleTerms) -> RuleTerms:
    """The terms, or the first thing wrong with them (nothing written)."""
    settings = ctx.settings
    _cents(terms.below_cents, "below", minimum=1)
    if (terms.amount_cents is None) == (terms.up_to_cents is None):
        raise UsageError("give either amount or up_to, not both or neither", param="amount")
    smallest = settings.min_amount_cents
    if terms.amount_cents is not None:
        smallest = check_bounds(
            terms.amount_cents,
            minimum=settings.min_amount_cents,
            maximum=settings.max_amount_cents,
        )
    if terms.up_to_cents is not None:
        _cents(terms.up_to_cents, "up_to", minimum=terms.below_cents + settings.min_amount_cents)
    _cents(terms.monthly_cap_cents, "monthly_cap", minimum=smallest)
    if terms.monthly_count is not None and not 1 <= terms.monthly_count <= MAX_MONTHLY_COUNT:
        raise UsageError(f"monthly_count must be 1 to {MAX_MONTHLY_COUNT}", param="monthly_count")
    if not 0 <= terms.cooldown_seconds <= MAX_COOLDOWN.total_seconds():
        raise UsageError("cooldown must be 0s to 30d", param="cooldown")
    return terms


def _cents(value: int, param: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not minimum <= value <= MAX_INTEGER:
        raise InvalidAmount(f"{param} must be at least {format_cents(minimum)}", param=param)


def _account(session: Session, account_id: str) -> tuple[Account, int]:
    account = accounts.get(session, account_id)
    assert account.id is not None
    return account, account.id


def charged_card(session: Session, account_pk: int) -> CardView | None:
    """The card a recharge charges: the account's newest active saved card."""
    active = cards.for_account(session, account_pk, active_only=True)
    return card_view(active[-1]) if active else None


def _require_card(session: Session, account: Account, account_pk: int) -> None:
    if charged_card(session, account_pk) is None:
        raise NoSavedCard(
            f"account {account.account_id} has no saved card with consent: the buyer must "
            "save one first (checkout --save-card, save_payment_method, the top-up page)"
        )


def set_rule(ctx: Context, account_id: str, terms: RuleTerms) -> RuleView:
    checked = check_terms(ctx, terms)

    def work(session: Session) -> RuleView:
        account, pk = _account(session, account_id)
        _require_card(session, account, pk)
        values = {**asdict(checked), "status": RuleState.ACTIVE.value, "paused_reason": None}
        recharge_rules.put(session, pk, values, ctx.clock())
        return _view(session, account, pk)

    return run_in_transaction(ctx.engine, work)


def show(ctx: Context, account_id: str) -> RuleView:
    with transaction(ctx.engine) as session:
        account, pk = _account(session, account_id)
        return _view(session, account, pk)


def pause(ctx: Context, account_id: str, reason: str = "paused by an operator") -> RuleView:
    return _set_status(ctx, account_id, RuleState.PAUSED, reason)


def resume(ctx: Context, account_id: str) -> RuleView:
    return _set_status(ctx, account_id, RuleState.ACTIVE, None)


def _set_status(ctx: Context, account_id: str, status: RuleState, reason: str | None) -> RuleView:
    def work(session: Session) -> RuleView:
        account, pk = _account(session, account_id)
        if status == RuleState.ACTIVE:
            _require_card(session, account, pk)
        if not recharge_rules.set_status(session, pk, status.value, reason, ctx.clock()):
            raise _no_rule(account_id)
        return _view(session, account, pk)

    return run_in_transaction(ctx.engine, work)


def off(ctx: Context, account_id: str) -> RuleOff:
    """Delete the account's rule (``deleted`` False when it had none)."""

    def work(session: Session) -> RuleOff:
        account, pk = _account(session, account_id)
        return RuleOff(account.account_id, bool(recharge_rules.delete(session, pk)))

    return run_in_transaction(ctx.engine, work)


def _no_rule(account_id: str) -> NotFound:
    return NotFound(
        f"account {account_id} has no auto-recharge rule; set one with: "
        f"stripetopup autorecharge set {account_id} --below 5 --amount 20 --monthly-cap 100"
    )


def _view(session: Session, account: Account, account_pk: int) -> RuleView:
    rule = recharge_rules.find(session, account_pk)
    if rule is None:
        raise _no_rule(account.account_id)
    attempts = tuple(attempt_view(a) for a in recharge_attempts.for_account(session, account_pk))
    return rule_view(account.account_id, rule, charged_card(session, account_pk), attempts)


def attempt_view(row: RechargeAttempt) -> AttemptView:
    return AttemptView(
        attempt_key=row.attempt_key,
        status=AttemptStatus(row.status),
        amount_cents=row.amount_cents,
        currency=row.currency,
        payment_method_id=row.payment_method_id,
        reason=row.reason,
        payment_intent_id=row.payment_intent_id,
        created_at=row.created_at,
        finished_at=row.finished_at,
        checkout_session_id=row.checkout_session_id,
        checkout_url=row.checkout_url,
        checkout_error=row.checkout_error,
    )


def rule_view(
    account_id: str,
    rule: AutoRechargeRule,
    card: CardView | None,
    attempts: tuple[AttemptView, ...] = (),
) -> RuleView:
    return RuleView(
        account_id=account_id,
        status=RuleState(rule.status),
        paused_reason=rule.paused_reason,
        below_cents=rule.below_cents,
        amount_cents=rule.amount_cents,
        up_to_cents=rule.up_to_cents,
        monthly_cap_cents=rule.monthly_cap_cents,
        monthly_count=rule.monthly_count,
        cooldown_seconds=rule.cooldown_seconds,
        card=card,
        attempts=attempts,
        updated_at=rule.updated_at,
    )
