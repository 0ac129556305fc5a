"""The Invoice a Checkout Session creates after payment, in the shape of Stripe's fixture.

``invoice()`` builds it paid, from the session's amounts and line items (discounts and taxes
per line, totals that add up like the session's); ``draft()`` and ``finalized()`` give the
earlier snapshots that ``invoice.created`` and ``invoice.finalized`` carry.
Imports only the stdlib.
"""

from __future__ import annotations

import copy
from typing import Any

from stripetopup.emulator.state import Obj, new_id

TAX_RATE_ID = "txr_emulator_automatic_tax"


def invoice(
    *, session: Obj, items: list[Obj], customer: Obj, now: int, base_url: str, tax_behavior: str
) -> Obj:
    invoice_id = new_id("in")
    data = session["invoice_creation"]["invoice_data"]
    discount_id = new_id("di") if session.get("discounts") else None
    lines = [_line(item, invoice_id, discount_id, now, tax_behavior) for item in items]
    tax = session["total_details"]["amount_tax"]
    inclusive = sum(t["amount"] for line in lines for t in line["taxes"] if _inclusive(t))
    total = session["amount_total"]
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = sequence + 1
    details = session.get("customer_details") or {}
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": None,
        "account_tax_ids": data.get("account_tax_ids"),
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": total,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": bool(session["automatic_tax"]["enabled"]),
            "liability": session["automatic_tax"]["liability"],
            "provider": session["automatic_tax"]["provider"],
            "status": session["automatic_tax"]["status"],
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": "charge_automatically",
        "created": now,
        "currency": session["currency"],
        "custom_fields": data.get("custom_fields"),
        "customer": customer["id"],
        "customer_address": details.get("address") or customer.get("address"),
        "customer_email": details.get("email") or customer.get("email"),
        "customer_name": details.get("name") or customer.get("name"),
        "customer_phone": details.get("phone") or customer.get("phone"),
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": data.get("description"),
        "discounts": [discount_id] if discount_id else [],
        "due_date": None,
        "effective_at": now,
        "ending_balance": 0,
        "footer": data.get("footer"),
        "from_invoice": None,
        "hosted_invoice_url": f"{base_url}/i/{invoice_id}",
        "invoice_pdf": f"{base_url}/i/{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": bool(session["livemode"]),
        "metadata": dict(data.get("metadata") or {}),
        "next_payment_attempt": None,
        "number": f"{customer['invoice_prefix']}-{sequence:04d}",
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": None,
            "paid_at": now,
            "voided_at": None,
        },
        "subtotal": session["amount_subtotal"],
        "subtotal_excluding_tax": session["amount_subtotal"] - inclusive,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": (
            [{"amount": session["total_details"]["amount_discount"], "discount": discount_id}]
            if discount_id
            else []
        ),
        "total_excluding_tax": total - tax,
        "total_pretax_credit_amounts": [],
        "total_taxes": _total_taxes(lines),
        "webhooks_delivered_at": now,
    }


def _inclusive(tax: Obj) -> bool:
    return bool(tax["tax_behavior"] == "inclusive")


def _line(item: Obj, invoice_id: str, discount_id: str | None, now: int, default: str) -> Obj:
    price = item["price"]
    behavior = price["tax_behavior"] if price["tax_behavior"] != "unspecified" else default
    taxes: list[Obj] = []
    if item["amount_tax"]:
        taxable = item["amount_subtotal"] - item["amount_discount"]
        if behavior == "inclusive":
            taxable -= item["amount_tax"]
        taxes.append(
            {
                "amount": item["amount_tax"],
                "tax_behavior": behavior,
                "tax_rate_details": {"tax_rate": TAX_RATE_ID},
                "taxability_reason": "standard_rated",
                "taxable_amount": taxable,
                "type": "tax_rate_details",
            }
        )
    discount_amounts = (
        [{"amount": item["amount_discount"], "discount": discount_id}] if discount_id else []
    )
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": item["amount_subtotal"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": discount_amounts,
        "discountable": True,
        "discounts": [discount_id] if discount_id else [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": {
                "invoice_item": new_id("ii"),
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": {"end": now, "start": now},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        "quantity": item["quantity"],
        "subscription": None,
        "taxes": taxes,
    }


def _total_taxes(lines: list[Obj]) -> list[Obj]:
    out: dict[str, Obj] = {}
    for line in lines:
        for tax in line["taxes"]:
            seen = out.setdefault(tax["tax_behavior"], {**tax, "amount": 0, "taxable_amount": 0})
            seen["amount"] += tax["amount"]
            seen["taxable_amount"] += tax["taxable_amount"]
    return list(out.values())


def draft(paid: Obj) -> Obj:
    """The snapshot ``invoice.created`` carries: a draft, nothing paid, no number or links."""
    out = finalized(paid)
    out.update(
        status="draft",
        number=None,
        hosted_invoice_url=None,
        invoice_pdf=None,
        effective_at=None,
        webhooks_delivered_at=None,
    )
    out["status_transitions"] = {**out["status_transitions"], "finalized_at": None}
    return out


def finalized(paid: Obj) -> Obj:
    """The snapshot ``invoice.finalized`` carries: open, nothing paid yet."""
    out: dict[str, Any] = copy.deepcopy(paid)
    out.update(status="open", amount_paid=0, amount_remaining=paid["amount_due"], attempted=False)
    out["status_transitions"] = {**out["status_transitions"], "paid_at": None}
    return out
