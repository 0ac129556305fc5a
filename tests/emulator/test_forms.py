"""Bracket-notation form parsing, as Stripe's SDKs encode parameters."""

from __future__ import annotations

from stripetopup.emulator.forms import parse_form


def test_nested_lists_and_dicts_are_rebuilt() -> None:
    raw = (
        "line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1"
        "&line_items[1][quantity]=2&metadata[0]=zero&metadata[k]=v"
        "&expand[]=a&expand[]=b&types[0]=x&created[gte]=5"
    )
    assert parse_form(raw) == {
        "line_items": [{"price_data": {"unit_amount": "500"}, "quantity": "1"}, {"quantity": "2"}],
        "metadata": {"0": "zero", "k": "v"},
        "expand": ["a", "b"],
        "types": ["x"],
        "created": {"gte": "5"},
    }


def test_blank_values_are_kept() -> None:
    assert parse_form(b"metadata[k]=&a=1") == {"metadata": {"k": ""}, "a": "1"}
