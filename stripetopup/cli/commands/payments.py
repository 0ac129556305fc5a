"""``stripetopup payments``: the local record of Checkout Sessions, and resolving strays.

``payments assign cs_... ACCOUNT --reason`` credits a payment that needs attention through
the exactly-once path (a dismissed one only with ``--force``); ``payments dismiss cs_...
--reason`` marks it dismissed; ``payments show cs_...`` prints it with every decision made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput, Limit, ResolutionReason, Since, parse_date
from stripetopup.cli.output import run_with, table
from stripetopup.cli.tables import Column
from stripetopup.money import format_money

if TYPE_CHECKING:
    from stripetopup.core.payments.types import Decision, Payment, PaymentDetail, Resolution

payments_app = typer.Typer(
    help="List payments (Checkout Sessions) and their state.", no_args_is_help=False
)


User = Annotated[str | None, typer.Option("--user", help="Only this account.")]
Attention = Annotated[bool, typer.Option("--attention", help="Only payments needing an operator.")]
CheckoutSessionId = Annotated[str, typer.Argument(help="The payment's cs_... id.")]


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")


# The session id (what `payments assign` needs), the account and the amount are never
# left out; on a narrow terminal the currency goes first.
PAYMENT_COLUMNS = [
    Column("Session", keep=True),
    Column("Account", keep=True),
    Column("Amount", keep=True, numeric=True),
    Column("Currency", priority=1),
    Column("Stripe status", priority=2),
    Column("Payment", priority=3),
    Column("State", priority=6),
    Column("Created", priority=4),
    Column("Note", wrap=True, priority=5),
]


@payments_app.callback(invoke_without_command=True)
def payments(
    ctx: typer.Context,
    since: Since = None,
    user: User = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Our state: created, pending, credited, failed, expired, attention..."
        ),
    ] = None,
    attention: Attention = False,
    limit: Limit = 200,
    json_output: JsonOutput = False,
) -> None:
    """List payments, newest first."""
    if ctx.invoked_subcommand is None:  # `payments` alone, or `payments list`
        list_payments(since, user, status, attention, limit, json_output)


# `payments list` is the group's own listing under a name: one function, one set of options.
payments_app.command("list", help="List payments, newest first (same as `payments`).")(payments)


def list_payments(
    since: str | None,
    user: str | None,
    status: str | None,
    attention: bool,
    limit: int,
    json_output: bool,
) -> None:
    since_at = parse_date(since, "--since")
    state = "attention" if attention else status

    def human(rows: list[Payment]) -> None:
        table(
            "Payments",
            PAYMENT_COLUMNS,
            [
                (
                    p.checkout_session_id,
                    p.account_id,
                    _amount(p),
                    p.currency,
                    p.status,
                    p.payment_status,
                    p.state,
                    p.created_at.strftime("%Y-%m-%d %H:%M"),
                    p.attention_reason,
                )
                for p in rows
            ],
        )

    run_with(
        json_output,
        lambda: context.service().payments(
            since=since_at, account_id=user, state=state, limit=limit
        ),
        human,
    )


def _amount(payment: Payment) -> str:
    """Stripe's amount, or what was asked for while Stripe has not said; blank if neither."""
    cents = payment.amount_total_cents
    if cents is None:
        cents = payment.amount_requested_cents
    return format_money(cents, unknown="")


@payments_app.command("assign")
def assign_command(
    checkout_session_id: CheckoutSessionId,
    account: Annotated[str, typer.Argument(help="The account to credit.")],
    reason: ResolutionReason,
    force: Annotated[
        bool,
        typer.Option("--force", help="Assign a payment even though it was dismissed (recorded)."),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Credit a stray paid session to ACCOUNT (Stripe's amount, exactly once).

    A dismissed payment is refused unless --force; either way its history is kept."""

    def human(done: Resolution) -> None:
        payment = done.payment
        if not done.changed:
            typer.echo(
                f"Already assigned: {payment.checkout_session_id} is credited to {account} "
                f"(entry {done.entry_id}); no change."
            )
            return
        currency = payment.currency
        typer.echo(
            f"Assigned {payment.checkout_session_id} to {account}: credited "
            f"{format_money(done.amount_cents, currency)} (entry {done.entry_id})."
        )
        for source, cents in done.reversals:
            verb = "Debited" if cents < 0 else "Credited"
            money = format_money(abs(cents), currency)
            typer.echo(f"{verb} {money} for {source}, already in Stripe.")
        typer.echo(f"Balance of {account}: {format_money(done.balance_cents, currency)}.")

    run_with(
        json_output,
        lambda: context.service().assign_payment(
            checkout_session_id, account, reason=reason, force=force
        ),
        human,
    )


@payments_app.command("dismiss")
def dismiss_command(
    checkout_session_id: CheckoutSessionId,
    reason: ResolutionReason,
    json_output: JsonOutput = False,
) -> None:
    """Dismiss a payment: nothing is credited for it, now or later."""

    def human(done: Resolution) -> None:
        if not done.changed:
            typer.echo(f"Already dismissed: {checkout_session_id}; no change.")
            return
        typer.echo(
            f"Dismissed {checkout_session_id}: nothing credited ({done.payment.resolution})."
        )

    run_with(
        json_output,
        lambda: context.service().dismiss_payment(checkout_session_id, reason=reason),
        human,
    )


@payments_app.command("show")
def show_command(checkout_session_id: CheckoutSessionId, json_output: JsonOutput = False) -> None:
    """Show one payment and its resolution history (every assign and dismiss)."""

    def human(detail: PaymentDetail) -> None:
        for line in detail_lines(detail):
            typer.echo(line)

    run_with(json_output, lambda: context.service().payment(checkout_session_id), human)


def detail_lines(detail: PaymentDetail) -> list[str]:
    """``payments show`` for people: one ``name: value`` line each, then the history."""
    p = detail.payment
    lines = [
        f"payment: {p.checkout_session_id}",
        f"account: {p.account_id or '-'}",
        f"amount: {_amount(p) or '-'} {p.currency.upper()}",
        f"stripe status: {p.status}/{p.payment_status}",
        f"state: {p.state}",
        f"note: {p.attention_reason or '-'}",
        f"created: {p.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"credited entry: {p.credited_entry_id or '-'}",
    ]
    if p.invoice_id is not None:  # only with invoice creation on: the receipt
        lines.append(f"receipt: {p.hosted_invoice_url or '-'} (invoice {p.invoice_id})")
    if not detail.history:
        return [*lines, "history: none"]
    return [*lines, "history:", *(f"  {_decision(d)}" for d in detail.history)]


def _decision(decision: Decision) -> str:
    what = decision.action
    if decision.account_id is not None:
        what += f" to {decision.account_id}"
    if decision.forced:
        what += " (forced)"
    return f"{decision.at:%Y-%m-%d %H:%M:%S} UTC  {what} by {decision.actor}: {decision.reason}"
