"""Scrub secrets out of text before it reaches a log line, an error body or a terminal.

A leaf module (stdlib only). It is a second line of defence: secrets are ``SecretStr``
everywhere, but text that comes back from outside (an SDK message, an exception from a
driver) is passed through :func:`redact` before we show it.
"""

from __future__ import annotations

import re

_SECRET = re.compile(
    r"\b(?:(?:sk|rk)_(?:test|live)_|whsec_|stu_|stk_)[A-Za-z0-9_\-]{4,}"
    r"|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
)


def redact(text: str) -> str:
    """Replace anything shaped like an API key, signing secret, token or JWT."""
    return _SECRET.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    value = match.group(0)
    if value.startswith("eyJ"):
        return "[redacted-jwt]"
    head = value.split("_", 2)
    prefix = "_".join(head[:2]) + "_" if value.startswith(("sk_", "rk_")) else head[0] + "_"
    return prefix + "[redacted]"
