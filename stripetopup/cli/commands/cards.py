"""``stripetopup cards``: an account's saved cards (``cards ACCOUNT``) and ``cards remove``.

Like ``grants``, ``cards`` is a group whose default command is ``show``: ``cards acct-1``
runs ``cards show acct-1``; ``cards remove ACCOUNT PM`` detaches the card in Stripe and
ends it here, so nothing charges it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from stripetopup.cli import context
from stripetopup.cli.options import Account, JsonOutput
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from typer._click.core import Context

    from stripetopup.core.recharge.types import CardList, CardView

DEFAULT_COMMAND = "show"


class CardsGroup(TyperGroup):
    """A group that treats an unknown first word as the account of ``show``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


cards_app = typer.Typer(
    cls=CardsGroup,
    help="An account's saved cards and their consent: cards ACCOUNT [--json] (or cards show "
    "ACCOUNT). Remove one (detached in Stripe): cards remove ACCOUNT PM [--json].",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(cards_app, name="cards")


CARD_COLUMNS = [
    Column("Payment method", keep=True),
    Column("Card", keep=True),
    Column("Expires", priority=3),
    Column("Status", keep=True),
    Column("Consent", priority=2),
    Column("Ended", priority=1),
]


def _row(card: CardView) -> tuple[str, ...]:
    consent = f"{card.consent_at:%Y-%m-%d %H:%M} v{card.consent_version} ({card.consent_door})"
    ended = f"{card.ended_reason}" if card.ended_reason else ""
    return (
        card.payment_method_id,
        f"{card.brand} •••• {card.last4}",
        f"{card.exp_month:02d}/{card.exp_year}",
        card.status,
        consent,
        ended,
    )


@cards_app.command(DEFAULT_COMMAND)
def show(account: Account, json_output: JsonOutput = False) -> None:
    """List an account's saved cards, oldest first, with the consent each was saved under."""

    def human(listed: CardList) -> None:
        if not listed.cards:
            say(f"No saved cards for {listed.account_id}.")
            return
        table(f"Saved cards of {listed.account_id}", CARD_COLUMNS, [_row(c) for c in listed.cards])

    run_with(json_output, lambda: context.service().cards(account), human)


@cards_app.command("remove")
def remove(
    account: Account,
    payment_method: Annotated[str, typer.Argument(help="The saved card's pm_... id.")],
    json_output: JsonOutput = False,
) -> None:
    """Detach a saved card in Stripe and end it here: it is never charged again."""

    def human(card: CardView) -> None:
        say(f"Removed {card.brand} •••• {card.last4} ({card.payment_method_id}) of {account}.")

    run_with(json_output, lambda: context.service().remove_card(account, payment_method), human)
