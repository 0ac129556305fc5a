"""What completing a Checkout Session adds for the buyer-flow options.

``prepare`` runs before the payment is built: the buyer's address is now known, so automatic tax
is computed and the session repriced. ``attach`` runs when the session completes: the Customer
Checkout creates (or was given) is linked to the payment. ``finish`` runs once the payment has
succeeded: it counts the coupon's redemption and creates the post-purchase invoice. Both
return the extra events to publish before ``checkout.session.completed``.
Sessions without these options are untouched.
Imports only the stdlib.
"""

from __future__ import annotations

from stripetopup.emulator import checkout_options, customers, discounts, invoices
from stripetopup.emulator.state import EmulatorState, Obj

# The address the emulator's buyer "types" on the hosted page when tax needs a location.
BUYER_ADDRESS = {
    "city": "San Francisco",
    "country": "US",
    "line1": "510 Townsend St",
    "line2": None,
    "postal_code": "94103",
    "state": "CA",
}
DEFAULT_EMAIL = "customer@example.com"

Change = tuple[str, Obj, Obj | None]


def taxed(session: Obj) -> bool:
    return bool(session["automatic_tax"]["enabled"])


def prepare(state: EmulatorState, session: Obj) -> None:
    """Reprice with tax (the location is now known) or with the discount applied on the page."""
    if taxed(session) or session.get("discounts"):
        checkout_options.reprice(state, session, located_now=True)


def buyer_email(state: EmulatorState, session: Obj) -> str:
    customer = state.customers.get(session.get("customer") or "")
    if customer is not None and customer.get("email"):
        return str(customer["email"])
    return str(session["customer_email"] or DEFAULT_EMAIL)


def buyer_address(state: EmulatorState, session: Obj) -> Obj | None:
    """``customer_details.address``: only filled when tax asked for it (null as before)."""
    if not taxed(session):
        return None
    customer = state.customers.get(session.get("customer") or "")
    address = (customer or {}).get("address")
    return dict(address) if address and address.get("country") else dict(BUYER_ADDRESS)


def attach(state: EmulatorState, session: Obj) -> list[Change]:
    """On completion (paid or not yet): the Customer Checkout creates or was given."""
    return customers.attach(state, session)


def finish(state: EmulatorState, session: Obj) -> list[Change]:
    """After a successful (or not required) payment: redemptions and the invoice's events."""
    discounts.redeem(state, session)
    return invoices.create_for_session(state, session)
