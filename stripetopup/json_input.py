"""Parsing JSON from outside (request bodies, signed webhooks) within bounds every layer can keep.

The stdlib parser with three bounds added: nesting depth, integers that fit a signed 64-bit
column, and strings every database can store (no NUL, no lone surrogate, in keys as in
values). ``NaN``, ``Infinity`` and floats that overflow to them are refused. A failure is
:class:`UnsafeJson` with a one-line message naming where it is; each door turns it into its
own error. A leaf module: imports only the stdlib.
"""

from __future__ import annotations

import json
import math
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_MAX_INT_DIGITS = len(str(INT64_MAX))
_MAX_KEY_SHOWN = 40


class UnsafeJson(ValueError):
    """Raised when text is not JSON, or is JSON outside the bounds; ``param`` says where."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def loads(raw: bytes | str, *, max_depth: int) -> Any:
    """The parsed value; UnsafeJson if it is not JSON or breaks a bound."""
    try:
        value = json.loads(
            raw, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except RecursionError:
        raise UnsafeJson(f"JSON is nested more than {max_depth} levels deep") from None
    except UnsafeJson:
        raise
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise UnsafeJson("body is not valid JSON") from None
    if not _plainly_within(raw, max_depth):
        check_tree(value, max_depth=max_depth)
    return value


def _plainly_within(raw: bytes | str, max_depth: int) -> bool:
    """True when the text alone shows its parse keeps every bound, so the walk is skipped
    (a webhook's common case: a few C scans of its text instead of a Python walk of every
    value). A parsed string can only get a NUL or a lone surrogate from a ``\\u`` escape:
    the strict parser refuses raw control characters in strings, and text that encodes as
    UTF-8 holds no surrogate. Nesting is at most the number of ``{`` and ``[`` in the text.
    False means "walk it" (:func:`check_tree`), never "refuse".
    """
    if isinstance(raw, bytes):
        # Without NUL bytes the parser reads UTF-8 (json.detect_encoding), so these byte
        # scans see the characters it parses. It decodes with surrogatepass, so a surrogate
        # may come encoded (ED A0-BF ..): any 0xED byte is left to the walk.
        if b"\x00" in raw or b"\xed" in raw or b"\\u" in raw:
            return False
        return raw.count(b"{") + raw.count(b"[") <= max_depth
    if "\\u" in raw or not (raw.isascii() or _encodes(raw)):
        return False
    return raw.count("{") + raw.count("[") <= max_depth


def check_tree(value: Any, *, max_depth: int) -> None:
    """UnsafeJson unless ``value`` nests at most ``max_depth`` deep with storable strings."""
    if not _within(value, max_depth):
        _refuse(value, max_depth)


def _within(value: Any, max_depth: int) -> bool:
    """True when ``value`` keeps every bound: the common case, walked without the paths
    a refusal names (:func:`_refuse` walks again to find them)."""
    containers: list[tuple[Any, int]] = []
    strings: list[str] = []
    if isinstance(value, dict | list):
        containers.append((value, 0))
    elif isinstance(value, str):
        strings.append(value)
    while containers:
        item, depth = containers.pop()
        if depth >= max_depth:
            return False
        if isinstance(item, dict):
            strings.extend(item)  # keys: always strings in parsed JSON
            children = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, str):
                strings.append(child)
            elif isinstance(child, dict | list):
                containers.append((child, depth + 1))
    # One pass over every string: ASCII without NUL, the common case, costs two C calls.
    joined = "".join(strings)
    return "\x00" not in joined and (joined.isascii() or all(map(_encodes, strings)))


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(value: Any, max_depth: int) -> None:
    """Raise the UnsafeJson naming the first place in ``value`` that breaks a bound."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            check_text(item, path)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise UnsafeJson(f"JSON is nested more than {max_depth} levels deep")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    check_text(key, path, key=True)
                stack.append((child, depth + 1, _child_path(path, key)))
    raise AssertionError("_within refused a value that breaks no bound")


def check_text(text: str, path: str, *, key: bool = False) -> None:
    """UnsafeJson if ``text`` (at ``path``) holds a NUL or a lone surrogate.

    No database stores those: PostgreSQL refuses NUL, and neither encodes a lone surrogate.
    """
    where = path or "the body"
    what = f"a key in {where}" if key else where
    param = path or None
    if "\x00" in text:
        raise UnsafeJson(f"{what} contains a NUL character", param=param)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UnsafeJson(f"{what} contains an unpaired surrogate", param=param) from None


def _child_path(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    shown = str(key)
    if len(shown) > _MAX_KEY_SHOWN or not shown.isprintable() or not shown.isascii():
        shown = "?"
    return f"{path}.{shown}" if path else shown


def _bounded_int(text: str) -> int:
    # Checked before int(): a 5000-digit literal must not cost a big-number conversion.
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise UnsafeJson("JSON holds an integer outside the signed 64-bit range")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise UnsafeJson("JSON holds an integer outside the signed 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJson("JSON holds a number too large for a float")
    return value


def _no_constant(text: str) -> Any:
    raise UnsafeJson(f"{text} is not valid JSON")
