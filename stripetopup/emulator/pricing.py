"""Checkout amounts with discounts and tax, in integer minor units, consistent to the unit.

Per line item and for the session: ``amount_total = amount_subtotal - amount_discount +
exclusive tax``; ``amount_tax`` counts exclusive and inclusive tax alike (inclusive tax is
already inside the subtotal). A percent coupon is rounded half up per line item; an amount
coupon is capped at the subtotal and shared out by largest remainder. Tax is one deterministic
rate (``state.tax_rate_bps`` basis points, 10% by default) on the discounted amount, rounded
half up; a price's ``tax_behavior`` chooses exclusive or inclusive (``unspecified`` takes
``state.tax_behavior``). Imports only the stdlib.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from stripetopup.emulator.state import EmulatorState, Obj

BPS = 10_000


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def discount_shares(subtotals: list[int], coupon: Obj | None) -> list[int]:
    """The discount of each line item for ``coupon`` (none: all zero)."""
    if coupon is None:
        return [0] * len(subtotals)
    if coupon.get("percent_off") is not None:
        percent = Decimal(str(coupon["percent_off"]))
        return [
            int((Decimal(s) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for s in subtotals
        ]
    total = sum(subtotals)
    off = min(int(coupon["amount_off"]), total)
    if total == 0:
        return [0] * len(subtotals)
    shares = [off * s // total for s in subtotals]
    by_remainder = sorted(range(len(subtotals)), key=lambda i: (-(off * subtotals[i] % total), i))
    for i in by_remainder[: off - sum(shares)]:
        shares[i] += 1
    return shares


def line_tax(taxable: int, behavior: str, rate_bps: int) -> tuple[int, int]:
    """``(exclusive, inclusive)`` tax on ``taxable`` minor units."""
    if behavior == "inclusive":
        return 0, taxable - half_up(taxable * BPS, BPS + rate_bps)
    return half_up(taxable * rate_bps, BPS), 0


def reprice(state: EmulatorState, session: Obj, coupon: Obj | None, taxed: bool) -> None:
    """Recompute the amounts of ``session`` and its line items (caller holds the lock)."""
    items = state.line_items.get(session["id"], [])
    shares = discount_shares([item["amount_subtotal"] for item in items], coupon)
    discount = tax = exclusive_total = 0
    for item, share in zip(items, shares, strict=True):
        behavior = item["price"]["tax_behavior"]
        if behavior == "unspecified":
            behavior = state.tax_behavior
        exclusive, inclusive = (
            line_tax(item["amount_subtotal"] - share, behavior, state.tax_rate_bps)
            if taxed
            else (0, 0)
        )
        item["amount_discount"] = share
        item["amount_tax"] = exclusive + inclusive
        item["amount_total"] = item["amount_subtotal"] - share + exclusive
        discount += share
        tax += exclusive + inclusive
        exclusive_total += exclusive
    subtotal = sum(item["amount_subtotal"] for item in items)
    session["amount_subtotal"] = subtotal
    session["amount_total"] = subtotal - discount + exclusive_total
    session["total_details"] = {
        **session["total_details"],
        "amount_discount": discount,
        "amount_tax": tax,
    }
