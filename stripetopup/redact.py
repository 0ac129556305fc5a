"""Scrub secrets out of text before it reaches a log line, an error body or a terminal.

A leaf module (stdlib only). It is a second line of defence: secrets are ``SecretStr``
everywhere, but text that comes back from outside (an SDK message, an exception from a
driver) is passed through :func:`redact` before we show it.
"""

from __future__ import annotations

import re

# A secret may be glued to what precedes it (``evt_stu_...``, ``key=sk_test_...``), so a
# word boundary is not enough: ``_`` is a word character. What a prefix may not follow is
# a letter or digit, which would make it the tail of an ordinary word or id (``task_test_``,
# ``network_live_``). Prefixes no word ends with (whsec_, stu_, stk_) are matched anywhere
# (a whsec_ with its base64 tail, + / = included), and so is a Stripe key's shape: its
# prefix then 24 or more letters and digits.
_NOT_AFTER_ALNUM = r"(?<![A-Za-z0-9])"
_SECRET = re.compile(
    rf"{_NOT_AFTER_ALNUM}(?:sk|rk)_(?:test|live)_[A-Za-z0-9_\-]{{4,}}"
    r"|(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{24,}"
    r"|(?:whsec_|stu_|stk_)[A-Za-z0-9_\-+/=]{4,}"
    rf"|{_NOT_AFTER_ALNUM}eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
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
