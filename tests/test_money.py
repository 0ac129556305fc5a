"""The one money formatter: cents as dollars for people, with the currency when known."""

from __future__ import annotations

import pytest

from stripetopup.money import format_cents, format_money


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (500, "usd", "5.00 USD"),
        (-125, "eur", "-1.25 EUR"),
        (0, "usd", "0.00 USD"),
        (1, "usd", "0.01 USD"),
        (100_000_000_00, "usd", "100000000.00 USD"),
        (500, None, "5.00"),
        (500, "", "5.00"),
    ],
)
def test_an_amount_is_dollars_and_cents_then_the_upper_case_currency(
    cents: int, currency: str | None, shown: str
) -> None:
    assert format_money(cents, currency) == shown


def test_an_amount_without_a_currency_is_what_format_cents_writes() -> None:
    assert format_money(-2) == format_cents(-2) == "-0.02"


def test_an_unknown_amount_is_a_question_mark_or_the_words_given() -> None:
    assert format_money(None, "usd") == "?"
    assert format_money(None, "usd", unknown="the amount") == "the amount"
    assert format_money(None, unknown="") == ""
