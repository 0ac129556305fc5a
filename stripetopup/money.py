"""Money parsing and formatting: integer minor units inside, Decimal dollars only for people.

A leaf module: imports only the stdlib and ``stripetopup.errors``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from stripetopup.errors import InvalidAmount

CENT = Decimal("0.01")
MAX_CENTS = 2**63 - 1  # a signed 64-bit integer: what any amount must fit before range checks
_MAX_DOLLAR_DIGITS = 16  # 16 whole-dollar digits in cents stay below MAX_CENTS


def parse_dollars(text: str | int | Decimal, *, param: str = "amount") -> int:
    """Turn ``"5"``, ``"5.25"`` or ``Decimal("5")`` into cents; refuse anything ambiguous.

    Refused: more than two decimals, zero, negatives, NaN, infinities, exponents and
    anything that is not a plain decimal number.
    """
    raw = str(text).strip()
    if not raw or any(ch not in "0123456789." for ch in raw) or raw.count(".") > 1:
        raise InvalidAmount(f"{param} must be a positive dollar amount like 5 or 5.25", param=param)
    if len(raw) > 2 * _MAX_DOLLAR_DIGITS or len(raw.partition(".")[0]) > _MAX_DOLLAR_DIGITS:
        raise InvalidAmount(f"{param} is too large", param=param)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidAmount(f"{param} is not a number: {raw!r}", param=param) from None
    if value != value.quantize(CENT):
        raise InvalidAmount(f"{param} has more than two decimals: {raw}", param=param)
    cents = int(value * 100)
    if cents <= 0:
        raise InvalidAmount(f"{param} must be greater than zero", param=param)
    return cents


def check_cents(value: object, *, param: str = "amount_cents") -> int:
    """Accept only a positive ``int`` of cents (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(f"{param} must be an integer number of cents", param=param)
    if value <= 0:
        raise InvalidAmount(f"{param} must be greater than zero", param=param)
    if value > MAX_CENTS:
        raise InvalidAmount(f"{param} is too large", param=param)
    return value


def check_bounds(cents: int, *, minimum: int, maximum: int, param: str = "amount") -> int:
    """Refuse a top-up amount outside ``[minimum, maximum]`` cents."""
    if cents < minimum:
        raise InvalidAmount(
            f"{param} must be at least {format_cents(minimum)} (got {format_cents(cents)})",
            param=param,
        )
    if cents > maximum:
        raise InvalidAmount(
            f"{param} must be at most {format_cents(maximum)} (got {format_cents(cents)})",
            param=param,
        )
    return cents


def to_decimal(cents: int) -> Decimal:
    """Cents as dollars, quantized to 0.01."""
    return (Decimal(cents) / 100).quantize(CENT)


def format_cents(cents: int) -> str:
    """``500`` -> ``"5.00"``, ``-125`` -> ``"-1.25"``: the string form used in JSON and tables."""
    return str(to_decimal(cents))


def format_money(cents: int | None, currency: str | None = None, *, unknown: str = "?") -> str:
    """``(500, "usd")`` -> ``"5.00 USD"``: an amount for people, its currency when known.

    The one formatter of the CLI, the core's messages and the pages. An amount that is not
    known (``None``: Stripe has not said) is shown as ``unknown``.
    """
    if cents is None:
        return unknown
    return f"{format_cents(cents)} {(currency or '').upper()}".rstrip()
