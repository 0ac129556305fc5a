"""Who is calling: user tokens / JWTs for the user endpoints, service keys for the spend API.

Each door accepts only its own kind of credential: a service key at a user endpoint, or
a user token at a service endpoint, is Forbidden (403), never silently accepted.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from stripetopup import ids
from stripetopup.core.auth.types import Credential
from stripetopup.core.context import Context
from stripetopup.db import run_in_transaction, transaction
from stripetopup.errors import AuthError, Forbidden
from stripetopup.store import accounts, credentials

_BEARER = "bearer "
# The time claims PyJWT compares. It coerces them with int() first, so "9999999999" (a
# string) or true (a bool) would pass for a number; RFC 7519 says NumericDate is a number.
_TIME_CLAIMS = ("exp", "nbf", "iat")


def bearer_token(authorization: str | None) -> str:
    """The credential in an ``Authorization: Bearer ...`` header."""
    if not authorization:
        raise AuthError("missing Authorization: Bearer credential")
    if not authorization[: len(_BEARER)].lower() == _BEARER:
        raise AuthError("Authorization must use the Bearer scheme")
    token = authorization[len(_BEARER) :].strip()
    if not token or len(token) > 4096 or not token.isascii():
        raise AuthError("malformed bearer credential")
    return token


def authenticate_user(ctx: Context, authorization: str | None) -> str:
    """The account id a user endpoint request acts for."""
    token = bearer_token(authorization)
    if token.startswith(credentials.PREFIXES["service"]):
        raise Forbidden("a service key cannot be used on user endpoints")
    if token.startswith(credentials.PREFIXES["user"]):
        row = run_in_transaction(ctx.engine, lambda s: credentials.lookup(s, token))
        if row is None or row.kind != "user":
            raise AuthError("invalid or revoked token")
        return row.subject
    if ctx.settings.jwt_secret is not None and token.count(".") == 2:
        return _account_from_jwt(ctx, token)
    raise AuthError("invalid or revoked token")


def authenticate_service(ctx: Context, authorization: str | None) -> str:
    """The service name a spend API request acts for."""
    token = bearer_token(authorization)
    if not token.startswith(credentials.PREFIXES["service"]):
        if token.startswith(credentials.PREFIXES["user"]) or token.count(".") == 2:
            raise Forbidden("user credentials cannot be used on the service API")
        raise AuthError("invalid or revoked service key")
    row = run_in_transaction(ctx.engine, lambda s: credentials.lookup(s, token))
    if row is None or row.kind != "service":
        raise AuthError("invalid or revoked service key")
    return row.subject


def _account_from_jwt(ctx: Context, token: str) -> str:
    import jwt  # deferred: start-up cost, only JWT sign-in needs it

    assert ctx.settings.jwt_secret is not None
    try:
        claims = jwt.decode(
            token,
            ctx.settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=ctx.settings.jwt_audience,
            options={
                "require": ["exp", "sub"],
                "verify_aud": ctx.settings.jwt_audience is not None,
            },
        )
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {type(exc).__name__}") from None
    subject = _checked_subject(claims)
    with transaction(ctx.engine) as session:
        if accounts.find(session, subject) is None:
            raise AuthError("invalid token: unknown account")
    return subject


def _checked_subject(claims: dict[str, Any]) -> str:
    """The account a verified JWT names, once the claims we rely on have their JSON types."""
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AuthError(f"invalid token: {name} must be a number")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not ids.could_be_stored(subject):
        # also keeps NUL and the like away from the database
        raise AuthError("invalid token: sub must name the account")
    return subject


def create_credential(ctx: Context, kind: str, subject: str) -> tuple[Credential, str]:
    """Issue a user token for an existing account, or a service key; the secret shows once.

    Issuing a token never opens an account: that is ``open_account`` (``accounts create``).
    """

    def work(session: Session) -> tuple[Credential, str]:
        if kind == "user" and accounts.find(session, subject) is None:
            raise accounts.unknown(subject, alternative=f"tokens create {subject} --open")
        row, secret = credentials.create(session, kind, subject)
        return Credential.of(row), secret

    return run_in_transaction(ctx.engine, work)


def list_credentials(ctx: Context, kind: str, subject: str | None = None) -> list[Credential]:
    with transaction(ctx.engine) as session:
        return [Credential.of(row) for row in credentials.search(session, kind, subject)]


def revoke_credential(ctx: Context, kind: str, credential_id: str) -> Credential:
    return run_in_transaction(
        ctx.engine, lambda s: Credential.of(credentials.revoke(s, kind, credential_id))
    )
