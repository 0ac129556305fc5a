"""Customers through the official SDK, and Checkout Sessions that use or create them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl


def test_a_customer_is_created_retrieved_updated_and_listed(client: Any) -> None:
    customer = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"account": "acct-1"}}
    )
    assert customer.id.startswith("cus_")
    assert (customer.object, customer.email, customer.name) == (
        "customer",
        "ada@example.com",
        "Ada",
    )
    assert customer.metadata.to_dict() == {"account": "acct-1"}
    assert (
        customer.balance,
        customer.delinquent,
        customer.invoice_settings.default_payment_method,
    ) == (
        0,
        False,
        None,
    )
    updated = client.v1.customers.update(customer.id, params={"name": "Ada L."})
    assert updated.name == "Ada L."
    assert client.v1.customers.retrieve(customer.id).name == "Ada L."
    listed = client.v1.customers.list(params={"email": "ada@example.com"})
    assert [c.id for c in listed.data] == [customer.id]
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types == ["customer.created", "customer.updated"]
    change = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert change.data.previous_attributes.to_dict() == {"name": "Ada"}


def test_deleting_a_customer_answers_the_stub_and_emits_customer_deleted(client: Any) -> None:
    customer = client.v1.customers.create(params={"email": "gone@example.com"})
    deleted = client.v1.customers.delete(customer.id)
    assert (deleted.id, deleted.deleted) == (customer.id, True)
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    event = client.v1.events.list(params={"type": "customer.deleted"}).data[0]
    assert (event.data.object.id, event.data.object.email) == (customer.id, "gone@example.com")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.delete(customer.id)
    assert caught.value.http_status == 404
    assert client.v1.customers.list().data == []


def test_a_session_for_a_customer_carries_it_to_the_payment(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    created = client.v1.checkout.sessions.create(params=params(customer=customer.id))
    assert created.customer == customer.id
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["payment_intent.latest_charge", "customer"]}
    )
    assert session.customer.email == "ada@example.com"
    assert session.customer_details.email == "ada@example.com"
    assert session.payment_intent.customer == customer.id
    assert session.payment_intent.latest_charge.customer == customer.id
    assert client.v1.customers.list().data[0].id == customer.id  # no second customer


def test_customer_creation_always_creates_one_from_the_buyers_details(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(customer_creation="always", customer_email="new@example.com")
    )
    assert (created.customer_creation, created.customer) == ("always", None)
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id)
    customer = client.v1.customers.retrieve(session.customer)
    assert customer.email == "new@example.com"
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types.index("customer.created") < types.index("checkout.session.completed")


def test_the_buyers_customer_address_makes_tax_known_at_creation(client: Any, params: Any) -> None:
    customer = client.v1.customers.create(
        params={"email": "a@example.com", "address": {"country": "US", "postal_code": "10001"}}
    )
    session = client.v1.checkout.sessions.create(
        params=params(1000, customer=customer.id, automatic_tax={"enabled": True})
    )
    assert session.automatic_tax.status == "complete"
    assert (session.amount_total, session.total_details.amount_tax) == (1100, 100)


@pytest.mark.parametrize(
    ("extra", "param", "status"),
    [
        ({"customer": "cus_nope"}, "customer", 404),
        ({"customer_creation": "sometimes"}, "customer_creation", 400),
    ],
)
def test_bad_customer_parameters_are_refused(
    client: Any, params: Any, extra: dict[str, Any], param: str, status: int
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params(**extra))
    assert (caught.value.http_status, caught.value.param) == (status, param)


def test_a_deleted_customer_or_a_second_source_of_email_is_refused(
    client: Any, params: Any
) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.checkout.sessions.create(
            params=params(customer=customer.id, customer_email="b@example.com")
        )
    assert "customer, customer_email" in both.value.user_message
    client.v1.customers.delete(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.checkout.sessions.create(params=params(customer=customer.id))
    assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")


def test_an_invalid_email_is_refused(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"email": "not-an-email"})
    assert (caught.value.param, caught.value.code) == ("email", "email_invalid")


def test_a_deleted_customer_expands_to_the_stub(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    created = client.v1.checkout.sessions.create(params=params(customer=customer.id))
    client.v1.customers.delete(customer.id)
    session = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["customer"]})
    assert session.customer.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
