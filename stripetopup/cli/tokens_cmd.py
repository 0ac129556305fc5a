"""``stripetopup tokens`` (user tokens) and ``stripetopup keys`` (service keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from stripetopup.cli import context
from stripetopup.cli.output import run_with, say, table

if TYPE_CHECKING:
    from stripetopup.core.results import Credential

JSON_OPTION = typer.Option(False, "--json", help="Write JSON only, to stdout.")


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

    def create(
        subject_value: str = typer.Argument(..., metavar=subject, help=f"Who the {noun} is for."),
        name: str | None = typer.Option(None, "--name", help="Service name (same as NAME)."),
        json_output: bool = JSON_OPTION,
    ) -> None:
        service = context.service

        def produce() -> dict[str, object]:
            credential, secret = (
                service().create_token(subject_value)
                if kind == "user"
                else (service().create_service_key(name or subject_value))
            )
            return {**credential.to_json(), "secret": secret}

        def human(result: dict[str, object]) -> None:
            say(f"Created {noun} {result['id']} for {result['subject']}.")
            say("Store it now; it is shown only once:")
            typer.echo(str(result["secret"]))

        run_with(json_output, produce, human)

    def list_(
        subject_value: str | None = typer.Argument(None, metavar=f"[{subject}]"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        def human(rows: list[Credential]) -> None:
            table(
                f"{noun.capitalize()}s",
                ["ID", subject.capitalize(), "Created", "Last used", "Status"],
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

    group.command("create", help=f"Create a {noun}; prints the secret once.")(create)
    group.command("list", help=f"List {noun}s (never their secrets).")(list_)
    group.command("revoke", help=f"Revoke a {noun} by id.")(revoke)
    return group
