"""Customers: the object (Stripe's fixture shape) and the ones Checkout creates on completion.

Checkout creates a Customer when the session asks for one (``customer_creation=always``) or
needs one (``invoice_creation`` in payment mode with ``if_required``), from the details the buyer
entered, and links it to the session, the PaymentIntent and the charge.
Imports only the stdlib.
"""

from __future__ import annotations

import secrets
from typing import Any

from stripetopup.emulator.state import EmulatorState, Obj, new_id

Change = tuple[str, Obj, Obj | None]


def customer_object(
    *,
    created: int,
    email: str | None,
    name: str | None = None,
    phone: str | None = None,
    description: str | None = None,
    address: Obj | None = None,
    metadata: dict[str, Any] | None = None,
) -> Obj:
    return {
        "id": new_id("cus", 14),
        "object": "customer",
        "address": address,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def add(state: EmulatorState, customer: Obj) -> None:
    state.customers[customer["id"]] = customer
    state.customer_index.add(customer["id"], customer["created"])


def needs_customer(session: Obj, saving: bool = False) -> bool:
    """Checkout creates a Customer: asked for, or required (invoices, a card to save)."""
    if session.get("customer"):
        return False
    creation = session.get("customer_creation")
    required = bool(session["invoice_creation"]["enabled"]) or saving
    return creation == "always" or (creation == "if_required" and required)


def attach(state: EmulatorState, session: Obj, saving: bool = False) -> list[Change]:
    """On completion: create the session's Customer if needed; link it to the payment."""
    changes: list[Change] = []
    if needs_customer(session, saving):
        details = session.get("customer_details") or {}
        customer = customer_object(
            created=state.clock.now(),
            email=details.get("email"),
            name=details.get("name"),
            address=details.get("address"),
        )
        add(state, customer)
        session["customer"] = customer["id"]
        changes.append(("customer.created", customer, None))
    customer_id = session.get("customer")
    pi = state.payment_intents.get(session.get("payment_intent") or "")
    if customer_id and pi is not None:
        pi["customer"] = customer_id
        charge = state.charges.get(pi.get("latest_charge") or "")
        if charge is not None:
            charge["customer"] = customer_id
    return changes
