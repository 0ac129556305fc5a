"""What an endpoint may be: its URL, its event filter and its description, checked once.

URLs are ``https://`` (``http://`` only to a loopback host, unless
``STRIPETOPUP_HOOKS_ALLOW_HTTP``), at most 2000 printable ASCII characters, with a host, no
user or password (a secret in a URL ends up in logs) and no fragment. Event filters are
event types (``balance.credited``), a family (``balance.*``) or everything (``*``), each
matching at least one type of the catalogue (a typo is refused, not silently never sent).
Imports stdlib, the room's catalogue, ``stripetopup.errors`` and ``stripetopup.ids`` only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from stripetopup.core.outbound.catalogue import EventType
from stripetopup.errors import UsageError
from stripetopup.ids import shown

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
MAX_PATTERNS = 30
_PATTERN = re.compile(r"\*|[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){0,3}(\.\*)?")
_LOOPBACK_NAMES = {"localhost"}
EVENT_TYPES = tuple(event_type.value for event_type in EventType)


def check_url(url: object, *, allow_http: bool) -> str:
    """``url`` if an endpoint may have it, else UsageError (param ``url``) saying why."""
    if not isinstance(url, str) or not url:
        raise _bad_url("an endpoint needs a URL, like https://app.example.com/hooks")
    if len(url) > MAX_URL_LENGTH:
        raise _bad_url(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise _bad_url(f"{shown(url)} has spaces, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _bad_url(f"{shown(url)} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad_url(f"{shown(url)} is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _bad_url("a URL may not carry a user or password (they would be logged)")
    if parts.fragment or url.endswith("#"):
        raise _bad_url("a URL may not have a #fragment")
    if port == 0:
        raise _bad_url("port 0 cannot be sent to")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise _bad_url(
            "http:// is allowed only to a loopback host; use https:// "
            "(or set STRIPETOPUP_HOOKS_ALLOW_HTTP=true)"
        )
    return url


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """The event filter, stripped and without repeats; UsageError (param ``events``)."""
    cleaned: list[str] = []
    for raw in patterns:
        pattern = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(pattern, str) or _PATTERN.fullmatch(pattern) is None:
            raise UsageError(
                f"invalid event filter {shown(pattern)}: use an event type "
                "(balance.credited), a family (balance.*) or * for every event",
                param="events",
            )
        if not any(matches([pattern], known) for known in EVENT_TYPES):
            raise UsageError(
                f"event filter {shown(pattern)} matches no event type; the types are "
                + ", ".join(EVENT_TYPES),
                param="events",
            )
        if pattern not in cleaned:
            cleaned.append(pattern)
    if not 1 <= len(cleaned) <= MAX_PATTERNS:
        raise UsageError(f"give 1 to {MAX_PATTERNS} event filters", param="events")
    return tuple(cleaned)


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """True when ``event_type`` is one the filter takes."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_description(description: object) -> str | None:
    if description is None:
        return None
    if (
        not isinstance(description, str)
        or len(description) > MAX_DESCRIPTION_LENGTH
        or not description.isprintable()
    ):
        raise UsageError(
            f"a description is one printable line of at most {MAX_DESCRIPTION_LENGTH} characters",
            param="description",
        )
    return description.strip() or None


def _bad_url(why: str) -> UsageError:
    return UsageError(f"invalid endpoint URL: {why}", param="url")
