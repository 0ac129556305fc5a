"""The identifiers we take from outside: account ids and hold ids. A leaf (stdlib + errors).

One rule for account ids, applied by every door through the core (CLI arguments, web path
parameters, a JWT's ``sub``, the Python API): 1 to 128 ASCII letters, digits and
``. _ : @ + -``, starting with a letter or digit. That fits what host applications use as
ids (UUIDs, ``user_123``, ``org:42``, emails such as ``ann+eu@example.com``) and needs no
quoting in a URL path or a shell: no spaces, slashes, percent signs or control characters.

New accounts must follow the rule. Accounts opened by earlier releases, which took 1 to 200
characters without control characters, stay readable and spendable: a lookup refuses only
an id no stored account can have (:func:`check_account_id`: empty, too long, control
characters or NUL, lone surrogates), so it never reaches the database, and looks up every
other id; the store then reports an unknown id off the rule with the rule, since it can
never be opened.

Hold ids are ours: ``hold_`` and 24 lowercase hex digits, exactly as generated.

Outbound event ids are ours too: ``msg_`` (Stripe's ``evt_`` names Stripe's events) and a
ULID (26 Crockford base-32 characters: 48 bits of milliseconds, then 80 random bits), so
they sort by creation time to the millisecond, as Svix's ``msg_`` ids do.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TypeGuard

from stripetopup.errors import InvalidAccountId, InvalidHoldId

MAX_ACCOUNT_ID_LENGTH = 128
STORED_ACCOUNT_ID_LENGTH = 200  # the accounts.account_id column; earlier releases took this
ACCOUNT_ID_RULE = (
    f"1 to {MAX_ACCOUNT_ID_LENGTH} ASCII letters, digits and . _ : @ + -, "
    "starting with a letter or digit"
)
_ACCOUNT_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@+-]{{0,{MAX_ACCOUNT_ID_LENGTH - 1}}}")

HOLD_ID_PREFIX = "hold_"
HOLD_ID_RULE = "hold_ followed by 24 lowercase hex digits"
_HOLD_ID = re.compile(r"hold_[0-9a-f]{24}")

_SHOWN_LENGTH = 64  # how much of a refused id an error message repeats


def follows_account_rule(account_id: str) -> bool:
    """True when ``account_id`` may name a new account."""
    return _ACCOUNT_ID.fullmatch(account_id) is not None


def check_new_account_id(account_id: object) -> str:
    """``account_id`` if a new account may have it, else InvalidAccountId naming the rule."""
    if not isinstance(account_id, str) or not follows_account_rule(account_id):
        raise invalid_account_id(account_id)
    return account_id


def could_be_stored(account_id: object) -> TypeGuard[str]:
    """False for an id no account can have, not even one opened by an earlier release."""
    return (
        isinstance(account_id, str)
        and 1 <= len(account_id) <= STORED_ACCOUNT_ID_LENGTH
        and not any(_unstorable(ch) for ch in account_id)
    )


def _unstorable(ch: str) -> bool:
    """Control characters (NUL among them), refused since the first release, and lone
    surrogates, which no database driver can encode."""
    code = ord(ch)
    return code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF


def check_account_id(account_id: object) -> str:
    """``account_id`` if it is worth looking up, else InvalidAccountId naming the rule."""
    if not could_be_stored(account_id):
        raise invalid_account_id(account_id)
    return account_id


def invalid_account_id(account_id: object) -> InvalidAccountId:
    return InvalidAccountId(
        f"invalid account id {shown(account_id)}: account ids are {ACCOUNT_ID_RULE}",
        param="account_id",
    )


def new_hold_id() -> str:
    """A fresh hold id: 96 random bits, in the shape :func:`check_hold_id` accepts."""
    return HOLD_ID_PREFIX + secrets.token_hex(12)


MESSAGE_ID_PREFIX = "msg_"
MESSAGE_ID_RULE = "msg_ followed by 26 Crockford base-32 characters (0-9, A-Z without I L O U)"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MESSAGE_ID = re.compile(r"msg_[0-9A-HJKMNP-TV-Z]{26}")


def new_message_id(now_ms: int | None = None) -> str:
    """A fresh outbound event id: ``msg_`` and a ULID of ``now_ms`` (default: now)."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (millis % 2**48) << 80 | secrets.randbits(80)
    return MESSAGE_ID_PREFIX + "".join(_CROCKFORD[(value >> s) & 31] for s in range(125, -1, -5))


def is_message_id(value: object) -> TypeGuard[str]:
    """True when ``value`` has the shape of the ids :func:`new_message_id` makes."""
    return isinstance(value, str) and _MESSAGE_ID.fullmatch(value) is not None


GRANT_ID_PREFIX = "grant_"
_GRANT_ID = re.compile(r"grant_[0-9a-f]{24}")


def new_grant_id() -> str:
    """A fresh credit grant id: ``grant_`` and 96 random bits in hex."""
    return GRANT_ID_PREFIX + secrets.token_hex(12)


def is_grant_id(value: object) -> bool:
    return isinstance(value, str) and _GRANT_ID.fullmatch(value) is not None


def check_hold_id(hold_id: object) -> str:
    """``hold_id`` if it has the shape of the ids we generate, else InvalidHoldId."""
    if not isinstance(hold_id, str) or _HOLD_ID.fullmatch(hold_id) is None:
        raise InvalidHoldId(
            f"invalid hold id {shown(hold_id)}: hold ids are {HOLD_ID_RULE}", param="hold_id"
        )
    return hold_id


def shown(value: object) -> str:
    """``value`` quoted for a message, escapes visible, cut to a readable length."""
    if not isinstance(value, str):
        return f"of type {type(value).__name__}"
    if len(value) <= _SHOWN_LENGTH:
        return repr(value)
    return f"{value[:_SHOWN_LENGTH]!r}... ({len(value)} characters)"
