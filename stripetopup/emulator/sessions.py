"""Checkout Session creation: Stripe's parameter validation and the resulting objects.

Validates ``POST /v1/checkout/sessions`` parameters the way Stripe does (missing params,
integers, currency minimums, ``expires_at`` window) and stores the session and its line items.
Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

from stripetopup.emulator import checkout_options, objects
from stripetopup.emulator.listing import parse_int
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import (
    StripeError,
    invalid_integer,
    missing,
    out_of_range,
    unknown_param,
)

DEFAULT_TTL = 24 * 3600
MIN_TTL = 30 * 60

# Minimum charge amounts in minor units (Stripe's table, the common currencies).
MINIMUMS = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "cad": 50,
    "aud": 50,
    "chf": 50,
    "jpy": 50,
    "nzd": 50,
    "sgd": 50,
    "sek": 300,
    "nok": 300,
    "dkk": 250,
    "mxn": 1000,
    "hkd": 400,
}
ZERO_DECIMAL = frozenset({"jpy"})

# Real Stripe parameters the emulator accepts and ignores; anything else is "unknown".
_ACCEPTED = frozenset(
    {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "payment_intent_data",
        "customer_email",
        "expires_at",
        "expand",
        "locale",
        "submit_type",
        "payment_method_types",
        "customer_creation",
        "billing_address_collection",
        "allow_promotion_codes",
        "invoice_creation",
        "ui_mode",
        "currency",
        "custom_text",
        "phone_number_collection",
        "consent_collection",
        "automatic_tax",
        "tax_id_collection",
        "payment_method_options",
        "livemode",
        "discounts",
        "customer",
    }
)
_TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def create_session(state: EmulatorState, params: dict[str, Any], url_base: str) -> Obj:
    """Validate ``params`` and store a new open session (caller holds the lock)."""
    for name in params:
        if name not in _ACCEPTED or name == "livemode":
            raise unknown_param(name)
    mode = params.get("mode")
    if not mode:
        raise missing("mode")
    if mode != "payment":
        raise StripeError(
            400,
            f"The emulator supports only mode=payment and mode=setup, not '{mode}'.",
            code="parameter_invalid_string",
            param="mode",
        )
    if not params.get("success_url") and params.get("ui_mode", "hosted") == "hosted":
        raise missing("success_url")
    now = state.clock.now()
    currency, amount, items = _line_items(params, now)
    minimum = MINIMUMS.get(currency, 50)
    if amount < minimum:
        raise StripeError(
            400,
            "The Checkout Session's total amount due must add up to at least "
            f"{_money(minimum, currency)} {currency}",
            code="amount_too_small",
            param="line_items",
        )
    expires_at = _expires_at(params, now)
    _check_metadata(params.get("metadata"), "metadata")
    pi_data = params.get("payment_intent_data") or {}
    if not isinstance(pi_data, dict):
        raise StripeError(400, "Invalid object", param="payment_intent_data")
    _check_metadata(pi_data.get("metadata"), "payment_intent_data[metadata]")
    session = objects.checkout_session(
        created=now,
        amount=amount,
        currency=currency,
        params=params,
        expires_at=expires_at,
        livemode=False,
        url_base=url_base,
    )
    state.line_items[session["id"]] = items
    try:
        checkout_options.apply_options(state, session, params)
        future = _future_usage(pi_data)
    except StripeError:
        del state.line_items[session["id"]]
        raise
    if 0 < session["amount_total"] < minimum:
        del state.line_items[session["id"]]
        raise StripeError(
            400,
            "The Checkout Session's total amount due after discounts must add up to at least "
            f"{_money(minimum, currency)} {currency}",
            code="amount_too_small",
            param="discounts",
        )
    state.add_session(session)
    state.session_bases[session["id"]] = url_base
    state.pi_metadata[session["id"]] = dict(pi_data.get("metadata") or {})
    if future:
        state.session_future_usage[session["id"]] = future
    return session


def _future_usage(pi_data: dict[str, Any]) -> str | None:
    value = pi_data.get("setup_future_usage") or None
    if value not in (None, "off_session", "on_session"):
        raise StripeError(
            400,
            "Invalid payment_intent_data[setup_future_usage]: must be one of off_session or "
            "on_session",
            param="payment_intent_data[setup_future_usage]",
        )
    return value


def expiry_and_metadata(params: dict[str, Any], now: int) -> int:
    """The checks every mode shares: ``metadata``, and ``expires_at`` (returned)."""
    _check_metadata(params.get("metadata"), "metadata")
    return _expires_at(params, now)


def minimum_amount(currency: str) -> int:
    """The smallest total a session in ``currency`` may charge (Stripe's table; else 50)."""
    return MINIMUMS.get(currency, 50)


def _line_items(params: dict[str, Any], now: int) -> tuple[str, int, list[Obj]]:
    raw = params.get("line_items")
    if not raw:
        raise missing("line_items")
    if not isinstance(raw, list):
        raise StripeError(400, "Invalid array", param="line_items")
    currency: str | None = None
    total = 0
    items: list[Obj] = []
    for i, entry in enumerate(raw):
        where = f"line_items[{i}]"
        if not isinstance(entry, dict):
            raise StripeError(400, "Invalid object", param=where)
        if "price" in entry:
            raise StripeError(
                400,
                f"No such price: '{entry['price']}'",
                code="resource_missing",
                param=f"{where}[price]",
            )
        data = entry.get("price_data")
        if not isinstance(data, dict):
            raise missing(f"{where}[price_data]")
        item_currency = str(data.get("currency") or "").lower()
        if not item_currency:
            raise missing(f"{where}[price_data][currency]")
        if currency is not None and item_currency != currency:
            raise StripeError(
                400, "Line items must all have the same currency.", param=f"{where}[price_data]"
            )
        currency = item_currency
        if "unit_amount" not in data:
            raise missing(f"{where}[price_data][unit_amount]")
        unit = _int(data["unit_amount"], f"{where}[price_data][unit_amount]", minimum=0)
        if "quantity" not in entry:
            raise missing(f"{where}[quantity]")
        quantity = _int(entry["quantity"], f"{where}[quantity]", minimum=1)
        product = data.get("product_data")
        name = product.get("name") if isinstance(product, dict) else None
        if not name:
            raise missing(f"{where}[price_data][product_data][name]")
        tax_behavior = str(data.get("tax_behavior") or "unspecified")
        if tax_behavior not in _TAX_BEHAVIORS:
            raise StripeError(
                400,
                "Invalid tax_behavior: must be one of exclusive, inclusive, or unspecified",
                param=f"{where}[price_data][tax_behavior]",
            )
        items.append(
            objects.line_item(
                created=now,
                currency=item_currency,
                unit_amount=unit,
                quantity=quantity,
                name=str(name),
                livemode=False,
                tax_behavior=tax_behavior,
            )
        )
        total += unit * quantity
    assert currency is not None
    if len(currency) != 3 or not currency.isalpha():
        raise StripeError(
            400,
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(MINIMUMS)),
            param="line_items[0][price_data][currency]",
        )
    return currency, total, items


def _expires_at(params: dict[str, Any], now: int) -> int:
    if "expires_at" not in params:
        return now + DEFAULT_TTL
    value = parse_int(params, "expires_at", params["expires_at"])
    if value < now + MIN_TTL:
        raise StripeError(
            400,
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            param="expires_at",
        )
    if value > now + DEFAULT_TTL:
        raise StripeError(
            400,
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return value


def _int(value: Any, param: str, minimum: int) -> int:
    if not isinstance(value, str | int) or not str(value).lstrip("-").isdigit():
        raise invalid_integer(param, value)
    number = int(value)
    if number < minimum:
        raise out_of_range(param, f"This value must be greater than or equal to {minimum}.")
    return number


def _check_metadata(value: Any, param: str) -> None:
    if value is None or value == "":
        return
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param=param)
    if len(value) > 50:
        raise StripeError(400, "You can specify up to 50 metadata keys.", param=param)
    for key, item in value.items():
        if len(key) > 40:
            raise StripeError(
                400, f"Metadata keys can have up to 40 characters. ({key})", param=param
            )
        if len(str(item)) > 500:
            raise StripeError(400, "Metadata values can have up to 500 characters.", param=param)


def _money(minor: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return f"{minor}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{minor // 100}.{minor % 100:02d}"
