"""Checkout in ``mode=setup``: save a card without paying, through a SetupIntent.

``create_setup_session`` validates the parameters (no ``line_items``; ``currency`` optional)
and stores an open session with no amounts and ``payment_status: no_payment_required``.
``complete`` is what the buyer's "Save card" does: a succeeded SetupIntent (``seti_…``) holding
the new PaymentMethod, attached to the session's customer (given, or created with
``customer_creation=always``), and the events ``setup_intent.created``,
``setup_intent.succeeded``, ``payment_method.attached``, ``checkout.session.completed``.
Imports only the stdlib.
"""

from __future__ import annotations

import copy
from typing import Any

from stripetopup.emulator import checkout_options, customers, objects, payment_methods, sessions
from stripetopup.emulator.objects import rand
from stripetopup.emulator.state import EmulatorState, Obj, new_id
from stripetopup.emulator.stripe_errors import StripeError, missing, unknown_param

Change = tuple[str, Obj, Obj | None]
_ACCEPTED = frozenset(
    {
        "mode",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "customer",
        "customer_creation",
        "customer_email",
        "currency",
        "expires_at",
        "expand",
        "locale",
        "payment_method_types",
        "setup_intent_data",
        "ui_mode",
    }
)


def create_setup_session(state: EmulatorState, params: dict[str, Any], url_base: str) -> Obj:
    for name in params:
        if name == "line_items":
            raise StripeError(
                400, "You cannot pass `line_items` in `setup` mode.", param="line_items"
            )
        if name not in _ACCEPTED:
            raise unknown_param(name)
    if not params.get("success_url") and params.get("ui_mode", "hosted") == "hosted":
        raise missing("success_url")
    now = state.clock.now()
    expires_at = sessions.expiry_and_metadata(params, now)
    data = params.get("setup_intent_data") or {}
    if not isinstance(data, dict):
        raise StripeError(400, "Invalid object", param="setup_intent_data")
    session = objects.checkout_session(
        created=now,
        amount=0,
        currency="",
        params=params,
        expires_at=expires_at,
        livemode=False,
        url_base=url_base,
    )
    session.update(
        mode="setup",
        amount_subtotal=None,
        amount_total=None,
        currency=str(params.get("currency") or "").lower() or None,
        payment_status="no_payment_required",
        total_details=None,
    )
    checkout_options.apply_options(state, session, params)
    state.add_session(session)
    state.session_bases[session["id"]] = url_base
    state.setup_metadata[session["id"]] = dict(data.get("metadata") or {})
    return session


def setup_intent(*, created: int, customer: str | None, pm: str, metadata: dict[str, str]) -> Obj:
    seti_id = new_id("seti")
    return {
        "id": seti_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{seti_id}_secret_{rand(32)}",
        "created": created,
        "customer": customer,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": new_id("setatt"),
        "livemode": False,
        "mandate": None,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": pm,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    }


def complete(state: EmulatorState, session: Obj, card: str, email: str) -> list[Change]:
    """The buyer saves ``card`` (a test token); the changes to publish (caller emits)."""
    now = state.clock.now()
    pm = payment_methods.resolve(state, card)
    pm["billing_details"]["email"] = email
    session.update(
        status="complete",
        url=None,
        customer_details={
            "address": None,
            "email": email,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    state.open_sessions.discard(session["id"])
    changes = customers.attach(state, session)
    seti = setup_intent(
        created=now,
        customer=session.get("customer"),
        pm=pm["id"],
        metadata=state.setup_metadata.get(session["id"], {}),
    )
    state.setup_intents[seti["id"]] = seti
    changes.append(("setup_intent.created", copy.deepcopy(seti), None))
    seti["status"] = "succeeded"
    session["setup_intent"] = seti["id"]
    if session.get("customer"):
        changes += payment_methods.attach_to(state, pm, session["customer"])
    changes.append(("setup_intent.succeeded", seti, {"status": "requires_payment_method"}))
    return changes
