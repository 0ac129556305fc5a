"""``stripetopup tokens`` (user tokens) and ``stripetopup keys`` (service keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from stripetopup.cli import context
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.results import Credential

JSON_OPTION = typer.Option(False, "--json", help="Write JSON only, to stdout.")
OPEN_OPTION = typer.Option(
    False,
    "--open",
    help="Open ACCOUNT first if it does not exist (and say so); without it an unknown "
    "account is refused.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(_credential_app("user"), name="tokens")
    app.add_typer(_credential_app("service"), name="keys")


def _credential_app(kind: str) -> typer.Typer:
    noun = "user token" if kind == "user" else "service key"
    subject = "ACCOUNT" if kind == "user" else "NAME"
    group = typer.Typer(
        help=(
            "User tokens for the checkout and balance endpoints."
            if kind == "user"
            else "Service keys for the server-to-server spend API."
        ),
        no_args_is_help=True,
    )

    def list_(
        subject_value: str | None = typer.Argument(None, metavar=f"[{subject}]"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        def human(rows: list[Credential]) -> None:
            table(
                f"{noun.capitalize()}s",
                [
                    Column("ID", keep=True),
                    Column(subject.capitalize(), keep=True),
                    Column("Created", priority=2),
                    Column("Last used", priority=1),
                    Column("Status", priority=3),
                ],
                [
                    (
                        c.id,
                        c.subject,
                        c.created_at.strftime("%Y-%m-%d %H:%M"),
                        c.last_used_at.strftime("%Y-%m-%d %H:%M") if c.last_used_at else "never",
                        "revoked" if c.revoked_at else "active",
                    )
                    for c in rows
                ],
            )

        run_with(
            json_output, lambda: context.service().list_credentials(kind, subject_value), human
        )

    def revoke(
        credential_id: str = typer.Argument(..., metavar="ID", help="The id shown by list."),
        json_output: bool = JSON_OPTION,
    ) -> None:
        run_with(
            json_output,
            lambda: context.service().revoke_credential(kind, credential_id),
            lambda c: say(f"Revoked {noun} {c.id} ({c.subject})."),
        )

    create = _create_user_token if kind == "user" else _create_service_key
    group.command("create", help=f"Create a {noun}; prints the secret once.")(create)
    group.command("list", help=f"List {noun}s (never their secrets).")(list_)
    group.command("revoke", help=f"Revoke a {noun} by id.")(revoke)
    return group


def _create_user_token(
    account: str = typer.Argument(..., metavar="ACCOUNT", help="Who the user token is for."),
    open_account: bool = OPEN_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    service = context.service

    def produce() -> dict[str, object]:
        # Opening is explicit and reported: a token never opens an account by itself.
        opened = service().open_account(account).created if open_account else False
        credential, secret = service().create_token(account)
        return {**credential.to_json(), "secret": secret, "account_opened": opened}

    run_with(json_output, produce, _print_created("user token"))


def _create_service_key(
    subject_value: str = typer.Argument(..., metavar="NAME", help="Who the service key is for."),
    name: str | None = typer.Option(None, "--name", help="Service name (same as NAME)."),
    json_output: bool = JSON_OPTION,
) -> None:
    def produce() -> dict[str, object]:
        credential, secret = context.service().create_service_key(name or subject_value)
        return {**credential.to_json(), "secret": secret}

    run_with(json_output, produce, _print_created("service key"))


def _print_created(noun: str) -> Callable[[dict[str, object]], None]:
    def human(result: dict[str, object]) -> None:
        if result.get("account_opened"):
            say(f"Opened account {result['subject']}.")
        say(f"Created {noun} {result['id']} for {result['subject']}.")
        say("Store it now; it is shown only once:")
        typer.echo(str(result["secret"]))

    return human
