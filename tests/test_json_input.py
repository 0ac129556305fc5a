"""``json_input.loads``'s shortcut (bounds read off the text) agrees with its full walk.

For any JSON text, as a string or as bytes in any encoding the parser reads, ``loads``
must refuse exactly what parsing and then walking the tree (``check_tree``) refuses, and
return the same value otherwise: the shortcut may only skip a walk that would pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripetopup.json_input import UnsafeJson, check_tree, loads

DEPTH = 6
# Characters that matter to the bounds: NUL, surrogates, the escape's backslash, brackets
# (inside strings they count but do not nest), non-ASCII, 0xED's Hangul, and plain ones.
_CHARS = st.sampled_from(["a", "\x00", "\ud800", "\udfff", "\\", "{", "[", "é", "\ud55c", "€"])
_TEXT = st.lists(_CHARS, max_size=6).map("".join)
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TEXT, children, max_size=3),
    max_leaves=12,
)


def _reference(raw: str | bytes) -> Any:
    value = json.loads(raw)
    check_tree(value, max_depth=DEPTH)
    return value


def _outcome(parse: Any) -> tuple[str, Any]:
    try:
        return "ok", parse()
    except UnsafeJson:
        return "refused", None


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans())
def test_the_shortcut_refuses_exactly_what_the_walk_refuses(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    # As bytes, as json.loads decodes them (surrogatepass), in the encodings it detects.
    encoded = [text.encode(name, "surrogatepass") for name in ("utf-8", "utf-16", "utf-32-le")]
    for raw in (text, *encoded):
        expected = _outcome(lambda: _reference(raw))  # noqa: B023
        assert _outcome(lambda: loads(raw, max_depth=DEPTH)) == expected  # noqa: B023


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('{"a": "x\\u0000y"}', True),  # NUL by escape
        ('{"a": "\\ud800"}', True),  # lone surrogate by escape
        ('{"a": "\\\\u0000"}', False),  # an escaped backslash, then plain text
        ('{"a": "' + "[" * 10 + '"}', False),  # brackets in a string do not nest
        ("[" * DEPTH + "]" * DEPTH, False),
        ("[" * (DEPTH + 1) + "]" * (DEPTH + 1), True),
    ],
)
def test_known_texts(text: str, refused: bool) -> None:
    for raw in (text, text.encode()):
        assert _outcome(lambda: loads(raw, max_depth=DEPTH))[0] == ("refused" if refused else "ok")  # noqa: B023


def test_a_surrogate_encoded_in_bytes_is_refused() -> None:
    raw = '{"a": "\ud800"}'.encode("utf-8", "surrogatepass")
    with pytest.raises(UnsafeJson, match="surrogate"):
        loads(raw, max_depth=DEPTH)
