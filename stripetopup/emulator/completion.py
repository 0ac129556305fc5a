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

from stripetopup.emulator import (
    checkout_options,
    customers,
    discounts,
    invoices,
    payment_methods,
    setup_mode,
)
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import StripeError

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


# Cards a buyer can complete Checkout with (the declining ones would be refused on the page).
CHECKOUT_CARDS = tuple(
    token
    for token, (_, _, outcome) in payment_methods.TEST_CARDS.items()
    if outcome in (None, "authentication_required")
)


def check_card(card: str | None) -> None:
    if card is not None and card not in CHECKOUT_CARDS:
        raise StripeError(
            400,
            f"The emulator's Checkout completes only with {', '.join(CHECKOUT_CARDS)}; "
            "declines are for off-session PaymentIntents.",
            param="card",
        )


def attach(state: EmulatorState, session: Obj, card: str | None) -> list[Change]:
    """On completion: the Customer Checkout creates or was given; the card it saves.

    With ``payment_intent_data[setup_future_usage]`` the card that paid (``card``, else
    ``pm_card_visa``) becomes a PaymentMethod of the session's customer; naming a ``card``
    without saving it only sets the brand and last 4 of the payment. A delayed (bank debit)
    payment saves nothing.
    """
    future = state.session_future_usage.get(session["id"])
    changes = customers.attach(state, session, saving=bool(future))
    pi = state.payment_intents.get(session.get("payment_intent") or "")
    if pi is None or (card is None and not future):
        return changes
    charge = state.charges.get(pi.get("latest_charge") or "")
    if charge is not None and "card" not in charge["payment_method_details"]:
        return changes  # a delayed (bank debit) payment: no card to save
    pm = payment_methods.resolve(state, card or "pm_card_visa")
    pm["billing_details"]["email"] = buyer_email(state, session)
    pi.update(payment_method=pm["id"], setup_future_usage=future)
    if charge is not None:
        charge["payment_method"] = pm["id"]
        details = charge["payment_method_details"].get("card")
        if details is not None:
            details.update(brand=pm["card"]["brand"], last4=pm["card"]["last4"])
    if future and session.get("customer"):
        changes += payment_methods.attach_to(state, pm, session["customer"])
    return changes


def save_card(state: EmulatorState, session: Obj, card: str | None, email: str) -> list[Change]:
    """``mode=setup``: the buyer saves a card (``pm_card_visa`` unless named)."""
    return setup_mode.complete(state, session, card or "pm_card_visa", email)


def finish(state: EmulatorState, session: Obj) -> list[Change]:
    """After a successful (or not required) payment: redemptions and the invoice's events."""
    discounts.redeem(state, session)
    return invoices.create_for_session(state, session)
