"""Parse Stripe's form encoding (bracket notation) into nested dicts and lists.

``line_items[0][price_data][unit_amount]=500&expand[]=x&metadata[k]=v`` becomes
``{"line_items": [{"price_data": {"unit_amount": "500"}}], "expand": ["x"],
"metadata": {"k": "v"}}``.
Values stay strings; the routes convert them. Imports only the stdlib.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_TOKEN = re.compile(r"\[([^\]]*)\]")
_APPEND = object()

# Keys under these names are user data: never turn them into lists.
_FREE_FORM = frozenset({"metadata"})


def split_key(key: str) -> list[str]:
    """``a[b][0][]`` -> ``["a", "b", "0", ""]``."""
    head, bracket, _ = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_TOKEN.findall(key[len(head) :])]


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested structure from ordered ``(key, value)`` pairs."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        tokens = split_key(key)
        node: dict[str, Any] = root
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            name = token if token != "" else f"\x00{len(node)}"
            if last:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = {}
                    node[name] = child
                node = child
    parsed = _listify(root, parent="")
    return parsed if isinstance(parsed, dict) else {}


def _listify(node: dict[str, Any], parent: str) -> Any:
    out: dict[str, Any] = {}
    for key, value in node.items():
        out[key] = _listify(value, key) if isinstance(value, dict) else value
    if parent in _FREE_FORM or not out:
        return out
    if all(_is_index(k) for k in out):
        ordered = sorted(out.items(), key=lambda kv: _index(kv[0]))
        return [v for _, v in ordered]
    return out


def _is_index(key: str) -> bool:
    return key.isdigit() or key.startswith("\x00")


def _index(key: str) -> int:
    return int(key.lstrip("\x00"))


def parse_form(raw: bytes | str) -> dict[str, Any]:
    """Parse an ``application/x-www-form-urlencoded`` body or query string."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return parse_pairs(parse_qsl(text, keep_blank_values=True))
