"""Signed links to the hosted top-up page, and the landing links Checkout returns with.

A link is ``<payload>.<signature>``: the payload (base64url) binds a version, a purpose
(``topup`` opens the page, ``landing`` reads and fulfils that account's sessions), an
expiry in unix seconds, a random nonce, how long the page link behind a landing link
stays valid, and the account id; the signature is HMAC-SHA256 over the payload as sent,
with ``STRIPETOPUP_TOPUP_LINK_SECRET``. Nothing is stored: a link is valid until it
expires and may be opened again (reload, back from Checkout).

A token is refused before anything else looks at it: its length and characters first,
then the signature (constant time, compared as sent, so a flipped character in either
part is refused even where base64 would decode it to the same bytes), then the purpose,
the account and the expiry (the context's clock). Imports core (context), config, errors,
ids and the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from stripetopup.config import MAX_LINK_TTL_SECONDS, MIN_LINK_TTL_SECONDS
from stripetopup.core.context import Context
from stripetopup.errors import (
    LinkExpired,
    LinkMissing,
    LinkTampered,
    UsageError,
)

VERSION = "1"
MAX_TOKEN_LENGTH = 512
# A landing link outlives its page link: a Checkout Session may be paid for 24 hours.
LANDING_SECONDS = 25 * 60 * 60
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,440}\.[A-Za-z0-9_-]{43}$")
_NONCE_BYTES = 16
_CHANGED = "this link is incomplete or has been changed"
_DOMAIN = b"stripetopup-link:"  # separates these MACs from anything else the secret signs


class Purpose(StrEnum):
    TOPUP = "topup"  # opens the top-up page and creates sessions from it
    LANDING = "landing"  # reads and fulfils the account's sessions (success, cancel, status)


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link says."""

    purpose: Purpose
    account_id: str
    expires_at: int  # unix seconds
    nonce: str
    back_until: int = 0  # a landing link: until when its page link is still valid

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, tz=UTC)


def _now(ctx: Context) -> int:
    return int(ctx.clock().timestamp())


def _secret(ctx: Context) -> bytes:
    secret, _ = ctx.settings.require_topup_page()
    return secret.get_secret_value().encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, _DOMAIN + body.encode("ascii"), hashlib.sha256).digest())


def mint(ctx: Context, claims: LinkClaims) -> str:
    fields = (
        VERSION,
        claims.purpose.value,
        str(claims.expires_at),
        claims.nonce,
        str(claims.back_until),
        claims.account_id,  # last: the only field that is not ours to shape
    )
    body = _b64("|".join(fields).encode("utf-8"))
    return f"{body}.{_sign(_secret(ctx), body)}"


def check_ttl(ttl: timedelta | None, ctx: Context) -> int:
    """``ttl`` in whole seconds within the bounds, the setting's default when None."""
    if ttl is None:
        return ctx.settings.topup_link_ttl
    seconds = ttl.total_seconds()
    if not MIN_LINK_TTL_SECONDS <= seconds <= MAX_LINK_TTL_SECONDS or seconds != int(seconds):
        raise UsageError(
            f"a link's lifetime is {MIN_LINK_TTL_SECONDS} to {MAX_LINK_TTL_SECONDS} whole seconds",
            param="ttl_seconds",
        )
    return int(seconds)


def page_claims(ctx: Context, account_id: str, ttl_seconds: int) -> LinkClaims:
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    return LinkClaims(Purpose.TOPUP, account_id, _now(ctx) + ttl_seconds, nonce)


def landing_claims(page: LinkClaims) -> LinkClaims:
    """The landing link of a page link: derived, not random, so a retried checkout
    request builds the same return URLs (Stripe's idempotency needs identical params)."""
    return replace(
        page,
        purpose=Purpose.LANDING,
        expires_at=page.expires_at + LANDING_SECONDS,
        back_until=page.expires_at,
    )


def verify(ctx: Context, token: str | None, purpose: Purpose) -> LinkClaims:
    """The claims of a link we signed for ``purpose``, else LinkRefused (the account a
    link names is checked by its user: the landing against the session's account)."""
    if not token:
        raise LinkMissing("this page needs a top-up link from the application")
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise LinkTampered(_CHANGED)
    body, signature = token.split(".")
    if not hmac.compare_digest(signature, _sign(_secret(ctx), body)):
        raise LinkTampered(_CHANGED)
    claims = _decode(body)
    if claims.purpose is not purpose:
        raise LinkTampered("this link is not meant for this page")
    if _now(ctx) >= claims.expires_at:
        raise LinkExpired("this link has expired: top-up links work for a few minutes only")
    return claims


def _decode(body: str) -> LinkClaims:
    """A signed body's fields. Signed by us, so a failure here is a bug or an old version."""
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
        version, purpose, expires_at, nonce, back_until, account_id = text.split("|", 5)
        if version != VERSION:
            raise ValueError(version)
        return LinkClaims(Purpose(purpose), account_id, int(expires_at), nonce, int(back_until))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise LinkTampered(_CHANGED) from None
