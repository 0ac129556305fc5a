"""``/v1/customers``: create, retrieve, update, list and delete, with ``customer.*`` events.

A deleted customer stays stored (flagged) so that its sessions and invoices still resolve, but
retrieving it answers Stripe's stub ``{"id", "object": "customer", "deleted": true}``, it is left
out of lists and can no longer be updated, deleted again or given to a Checkout Session.
Imports only the stdlib.
"""

from __future__ import annotations

import copy
from typing import Any

from stripetopup.emulator import customers, payments
from stripetopup.emulator.calls import Call, only, text
from stripetopup.emulator.listing import expand, expand_params, page
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import StripeError, no_such, unknown_param

_ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")
_FIELDS = {"address", "description", "email", "metadata", "name", "phone", "expand"}


def _address(raw: Any) -> Obj | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise StripeError(400, "Invalid object", param="address")
    for key in raw:
        if key not in _ADDRESS:
            raise unknown_param(f"address[{key}]")
    return {key: (str(raw[key]) if raw.get(key) not in (None, "") else None) for key in _ADDRESS}


def _email(params: dict[str, Any]) -> str | None:
    email = text(params, "email", 512)
    if email is not None and ("@" not in email or email.startswith("@") or email.endswith("@")):
        raise StripeError(
            400, f"Invalid email address: {email}", code="email_invalid", param="email"
        )
    return email


def _metadata(params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get("metadata")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise StripeError(400, "Invalid object", param="metadata")
    return dict(raw)


def live_customer(state: EmulatorState, customer_id: str, param: str = "id") -> Obj:
    """A stored, not deleted customer, or Stripe's 404."""
    customer = state.customers.get(customer_id)
    if customer is None or customer.get("deleted"):
        raise no_such("customer", customer_id, param)
    return customer


def create_customer(call: Call) -> Obj:
    params, state = call.params, call.state
    only(params, _FIELDS)
    customer = customers.customer_object(
        created=state.clock.now(),
        email=_email(params),
        name=text(params, "name", 256),
        phone=text(params, "phone", 20),
        description=text(params, "description", 350),
        address=_address(params.get("address")),
        metadata=_metadata(params),
    )
    customers.add(state, customer)
    payments.emit(state, [("customer.created", customer, None)], call.origin)
    return expand(state, customer, expand_params(params))


def retrieve_customer(call: Call) -> Obj:
    only(call.params, {"expand"})
    customer = call.state.customers.get(call.path["id"])
    if customer is None:
        raise no_such("customer", call.path["id"])
    if customer.get("deleted"):
        return stub(customer)
    return expand(call.state, customer, expand_params(call.params))


def update_customer(call: Call) -> Obj:
    params, state = call.params, call.state
    only(params, _FIELDS)
    customer = live_customer(state, call.path["id"])
    changes: dict[str, Any] = {}
    if "email" in params:
        changes["email"] = _email(params)
    for name, limit in (("name", 256), ("phone", 20), ("description", 350)):
        if name in params:
            changes[name] = text(params, name, limit)
    if "address" in params:
        changes["address"] = _address(params["address"])
    if "metadata" in params:
        merged = {**customer["metadata"], **_metadata(params)}
        changes["metadata"] = {k: v for k, v in merged.items() if v != ""}
    previous = {k: copy.deepcopy(customer[k]) for k, v in changes.items() if customer[k] != v}
    customer.update(changes)
    if previous:
        payments.emit(state, [("customer.updated", customer, previous)], call.origin)
    return expand(state, customer, expand_params(params))


def delete_customer(call: Call) -> Obj:
    only(call.params, set())
    state = call.state
    customer = live_customer(state, call.path["id"])
    payments.emit(state, [("customer.deleted", customer, None)], call.origin)
    customer["deleted"] = True
    return stub(customer)


def list_customers(call: Call) -> Obj:
    params = call.params
    only(params, {"limit", "starting_after", "ending_before", "created", "expand", "email"})
    email = params.get("email")

    def keep(customer: Obj) -> bool:
        return not customer.get("deleted") and (email is None or customer["email"] == email)

    state = call.state
    return page(
        state,
        state.customer_index,
        state.customers,
        params,
        url="/v1/customers",
        object_name="customer",
        keep=keep,
    )


def stub(customer: Obj) -> Obj:
    return {"id": customer["id"], "object": "customer", "deleted": True}
