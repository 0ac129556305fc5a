"""``stripetopup tokens`` (user tokens) and ``stripetopup keys`` (service keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from stripetopup.cli import context
from stripetopup.cli.options import JsonOutput
from stripetopup.cli.output import run_with, say, table
from stripetopup.cli.tables import Column

if TYPE_CHECKING:
    from stripetopup.core.auth.types import Credential

NOUNS = {"user": "user token", "service": "service key"}
SUBJECTS = {"user": "ACCOUNT", "service": "NAME"}

CredentialId = Annotated[str, typer.Argument(metavar="ID", help="The id shown by list.")]
OpenAccount = Annotated[
    bool,
    typer.Option(
        "--open",
        help="Open ACCOUNT first if it does not exist (and say so); without it an unknown "
        "account is refused.",
    ),
]


def register(app: typer.Typer) -> None:
    tokens = typer.Typer(
        help="User tokens for the checkout and balance endpoints.", no_args_is_help=True
    )
    keys = typer.Typer(
        help="Service keys for the server-to-server spend API.", no_args_is_help=True
    )
    tokens.command("create", help="Create a user token; prints the secret once.")(create_token)
    tokens.command("list", help="List user tokens (never their secrets).")(list_tokens)
    tokens.command("revoke", help="Revoke a user token by id.")(revoke_token)
    keys.command("create", help="Create a service key; prints the secret once.")(create_key)
    keys.command("list", help="List service keys (never their secrets).")(list_keys)
    keys.command("revoke", help="Revoke a service key by id.")(revoke_key)
    app.add_typer(tokens, name="tokens")
    app.add_typer(keys, name="keys")


def create_token(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="Who the user token is for.")],
    open_account: OpenAccount = False,
    json_output: JsonOutput = False,
) -> None:
    service = context.service

    def produce() -> dict[str, object]:
        # Opening is explicit and reported: a token never opens an account by itself.
        opened = service().open_account(account).created if open_account else False
        credential, secret = service().create_token(account)
        return {**credential.to_json(), "secret": secret, "account_opened": opened}

    run_with(json_output, produce, _print_created("user token"))


def create_key(
    subject_value: Annotated[
        str, typer.Argument(metavar="NAME", help="Who the service key is for.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="Service name (same as NAME).")] = None,
    json_output: JsonOutput = False,
) -> None:
    def produce() -> dict[str, object]:
        credential, secret = context.service().create_service_key(name or subject_value)
        return {**credential.to_json(), "secret": secret}

    run_with(json_output, produce, _print_created("service key"))


def list_tokens(
    account: Annotated[str | None, typer.Argument(metavar="[ACCOUNT]")] = None,
    json_output: JsonOutput = False,
) -> None:
    _list("user", account, json_output)


def list_keys(
    name: Annotated[str | None, typer.Argument(metavar="[NAME]")] = None,
    json_output: JsonOutput = False,
) -> None:
    _list("service", name, json_output)


def revoke_token(credential_id: CredentialId, json_output: JsonOutput = False) -> None:
    _revoke("user", credential_id, json_output)


def revoke_key(credential_id: CredentialId, json_output: JsonOutput = False) -> None:
    _revoke("service", credential_id, json_output)


def _list(kind: str, subject: str | None, json_output: bool) -> None:
    def human(rows: list[Credential]) -> None:
        table(
            f"{NOUNS[kind].capitalize()}s",
            [
                Column("ID", keep=True),
                Column(SUBJECTS[kind].capitalize(), keep=True),
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

    run_with(json_output, lambda: context.service().list_credentials(kind, subject), human)


def _revoke(kind: str, credential_id: str, json_output: bool) -> None:
    run_with(
        json_output,
        lambda: context.service().revoke_credential(kind, credential_id),
        lambda c: say(f"Revoked {NOUNS[kind]} {c.id} ({c.subject})."),
    )


def _print_created(noun: str) -> Callable[[dict[str, object]], None]:
    def human(result: dict[str, object]) -> None:
        if result.get("account_opened"):
            say(f"Opened account {result['subject']}.")
        say(f"Created {noun} {result['id']} for {result['subject']}.")
        say("Store it now; it is shown only once:")
        typer.echo(str(result["secret"]))

    return human
