"""``stripetopup autorecharge``: an account's auto-recharge rule (set, show, pause, resume, off).

Amounts are dollars like every money option (``--below 5 --amount 20``); ``--cooldown`` is
a length of time (``10m``). A rule needs a saved card whose buyer consented (see ``cards``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import Account, JsonOutput
from stripetopup.cli.output import guard, run_with, say
from stripetopup.money import format_cents, parse_dollars

if TYPE_CHECKING:
    from stripetopup.core.recharge.types import RechargeRun, RuleOff, RuleTerms, RuleView

autorecharge_app = typer.Typer(
    help="An account's auto-recharge rule: autorecharge set ACCOUNT --below 5 --amount 20 "
    "--monthly-cap 100 [--cooldown 10m]; autorecharge show|pause|resume|off ACCOUNT.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(autorecharge_app, name="autorecharge")


def _cents(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    with guard():
        return parse_dollars(text, param=option)


def _terms(
    below: str, amount: str | None, up_to: str | None, cap: str, count: int | None, cooldown: str
) -> RuleTerms:
    from stripetopup.core.recharge.types import RuleTerms  # deferred: start-up cost
    from stripetopup.dates import parse_duration

    with guard():
        pause = parse_duration(cooldown, param="--cooldown")
    return RuleTerms(
        below_cents=_cents(below, "--below") or 0,
        monthly_cap_cents=_cents(cap, "--monthly-cap") or 0,
        amount_cents=_cents(amount, "--amount"),
        up_to_cents=_cents(up_to, "--up-to"),
        monthly_count=count,
        cooldown_seconds=int(pause.total_seconds()),
    )


def _human(rule: RuleView) -> None:
    charge = (
        f"{format_cents(rule.amount_cents)}"
        if rule.amount_cents is not None
        else f"up to {format_cents(rule.up_to_cents or 0)}"
    )
    count = f", at most {rule.monthly_count} charges" if rule.monthly_count else ""
    state = rule.status + (f" ({rule.paused_reason})" if rule.paused_reason else "")
    say(f"Auto-recharge of {rule.account_id}: {state}")
    say(
        f"  below {format_cents(rule.below_cents)}: charge {charge}; at most "
        f"{format_cents(rule.monthly_cap_cents)} a month{count}; "
        f"cooldown {rule.cooldown_seconds}s"
    )
    card = rule.card
    say(
        f"  card: {card.brand} •••• {card.last4} ({card.payment_method_id})"
        if card
        else "  card: none"
    )
    for attempt in rule.attempts[:1]:  # the latest; --json lists more
        why = f" ({attempt.reason})" if attempt.reason else ""
        say(f"  last attempt: {attempt.attempt_key} {attempt.status}{why}")
        if attempt.status != "requires_action":
            continue
        if attempt.checkout_url:
            say(f"  the buyer finishes it on-session at: {attempt.checkout_url}")
            say(f"    (Checkout Session {attempt.checkout_session_id})")
        elif attempt.checkout_error:
            say(f"  no checkout link: {attempt.checkout_error}")
        else:
            say("  checkout link: not made yet (the worker's next run makes it)")


@autorecharge_app.command("set")
def set_rule(
    account: Account,
    below: Annotated[str, typer.Option("--below", help="Recharge below this balance (dollars).")],
    monthly_cap: Annotated[
        str, typer.Option("--monthly-cap", help="At most this much a calendar month (dollars).")
    ],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Charge this much each time (dollars).")
    ] = None,
    up_to: Annotated[
        str | None, typer.Option("--up-to", help="Or charge up to this balance (dollars).")
    ] = None,
    monthly_count: Annotated[
        int | None, typer.Option("--monthly-count", help="At most this many charges a month.")
    ] = None,
    cooldown: Annotated[
        str, typer.Option("--cooldown", help="At least this long between charges (e.g. 10m).")
    ] = "10m",
    json_output: JsonOutput = False,
) -> None:
    """Set (or replace) an account's auto-recharge rule; it needs a consented saved card."""
    terms = _terms(below, amount, up_to, monthly_cap, monthly_count, cooldown)
    run_with(json_output, lambda: context.service().set_auto_recharge(account, terms), _human)


@autorecharge_app.command("show")
def show(account: Account, json_output: JsonOutput = False) -> None:
    """Show an account's rule, its state (and why it is paused), the card it charges and the
    latest attempt (with the buyer's Checkout link when the bank wants them)."""
    run_with(json_output, lambda: context.service().auto_recharge(account), _human)


@autorecharge_app.command("pause")
def pause(account: Account, json_output: JsonOutput = False) -> None:
    """Pause an account's rule: nothing is charged until it is resumed."""
    run_with(json_output, lambda: context.service().pause_auto_recharge(account), _human)


@autorecharge_app.command("resume")
def resume(account: Account, json_output: JsonOutput = False) -> None:
    """Resume a paused rule (it needs a consented saved card still)."""
    run_with(json_output, lambda: context.service().resume_auto_recharge(account), _human)


@autorecharge_app.command("off")
def off(account: Account, json_output: JsonOutput = False) -> None:
    """Delete an account's rule (its saved cards stay; remove them with cards remove)."""

    def human(answer: RuleOff) -> None:
        say(f"Auto-recharge of {account} is off." if answer.deleted else f"{account} had no rule.")

    run_with(json_output, lambda: context.service().auto_recharge_off(account), human)


@autorecharge_app.command("run")
def run(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the pending attempts (for cron).")
    ] = True,
    json_output: JsonOutput = False,
) -> None:
    """Charge every pending recharge attempt once, and make the Checkout link of each that
    needs the buyer (serve does this in the background)."""

    def human(done: RechargeRun) -> None:
        if not done.results:
            say("No recharge attempt was pending.")
        for key, state in done.results.items():
            say(f"{key}: {state}")
        for key, link in done.links.items():
            say(f"{key}: checkout link {link}")

    run_with(json_output, lambda: context.service().run_auto_recharge(), human)
