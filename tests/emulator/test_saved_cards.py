"""Saved cards and off-session PaymentIntents through the official SDK: Stripe's test cards,
Checkout saving the card that paid, ``mode=setup``, and the 402 ``card_error`` answers."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorControlError


@pytest.fixture
def customer(client: Any) -> Any:
    return client.v1.customers.create(params={"email": "saver@example.com"})


def saved(client: Any, customer: Any, token: str) -> Any:
    return client.v1.payment_methods.attach(token, params={"customer": customer.id})


def off_session(client: Any, customer: Any, pm: Any, key: str | None = None, **extra: Any) -> Any:
    params = {
        "amount": 2000,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": pm.id,
        "off_session": True,
        "confirm": True,
        "metadata": {"account": "acct-1"},
        **extra,
    }
    options = {"idempotency_key": key} if key else {}
    return client.v1.payment_intents.create(params=params, options=options)


def test_attaching_a_test_token_makes_a_saved_card_of_the_customer(
    client: Any, customer: Any
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    assert pm.id.startswith("pm_")
    assert pm.id != "pm_card_visa"
    assert (pm.object, pm.type, pm.customer) == ("payment_method", "card", customer.id)
    assert (pm.card.brand, pm.card.last4, pm.card.exp_year) == ("visa", "4242", 2034)
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [p.id for p in listed.data] == [pm.id]
    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types[-2:] == ["payment_method.attached", "payment_method.detached"]


def test_an_off_session_charge_of_a_saved_card_succeeds_with_its_events(
    client: Any, customer: Any
) -> None:
    pm = saved(client, customer, "pm_card_mastercard")
    pi = off_session(client, customer, pm)
    assert (pi.status, pi.amount, pi.amount_received, pi.customer) == (
        "succeeded",
        2000,
        2000,
        customer.id,
    )
    assert pi.payment_method == pm.id
    assert pi.metadata.to_dict() == {"account": "acct-1"}
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.status, charge.paid, charge.customer) == ("succeeded", True, customer.id)
    assert charge.payment_method_details.card.last4 == "4444"
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types[-3:] == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]


@pytest.mark.parametrize(
    ("token", "code", "decline_code", "message", "has_charge"),
    [
        (
            "pm_card_chargeDeclined",
            "card_declined",
            "generic_decline",
            "Your card was declined.",
            True,
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
            True,
        ),
        (
            "pm_card_authenticationRequired",
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
            False,
        ),
    ],
)
def test_a_declined_off_session_charge_is_a_402_card_error_like_stripe(
    client: Any,
    customer: Any,
    token: str,
    code: str,
    decline_code: str,
    message: str,
    has_charge: bool,
) -> None:
    pm = saved(client, customer, token)
    with pytest.raises(stripe.CardError) as caught:
        off_session(client, customer, pm)
    error = caught.value
    assert (error.http_status, error.code, error.user_message) == (402, code, message)
    body = error.json_body["error"]
    assert (body["type"], body["decline_code"]) == ("card_error", decline_code)
    assert body["payment_method"]["id"] == pm.id
    pi = client.v1.payment_intents.retrieve(body["payment_intent"]["id"])
    assert (pi.status, pi.payment_method) == ("requires_payment_method", None)
    assert pi.last_payment_error.decline_code == decline_code
    assert ("charge" in body) is has_charge
    types = [e.type for e in reversed(client.v1.events.list().data)]
    failed = ["charge.failed"] if has_charge else []
    assert types[-(len(failed) + 2) :] == [
        "payment_intent.created",
        *failed,
        "payment_intent.payment_failed",
    ]
    if has_charge:
        charge = client.v1.charges.retrieve(body["charge"])
        assert (charge.status, charge.failure_code, charge.outcome.reason) == (
            "failed",
            "card_declined",
            decline_code,
        )


def test_a_declined_charge_replays_the_same_402_under_its_idempotency_key(
    client: Any, customer: Any
) -> None:
    pm = saved(client, customer, "pm_card_chargeDeclined")
    with pytest.raises(stripe.CardError) as first:
        off_session(client, customer, pm, key="attempt-1")
    with pytest.raises(stripe.CardError) as again:
        off_session(client, customer, pm, key="attempt-1")
    assert again.value.headers["Idempotent-Replayed"] == "true"
    first_pi = first.value.json_body["error"]["payment_intent"]["id"]
    assert again.value.json_body["error"]["payment_intent"]["id"] == first_pi
    created = client.v1.events.list(params={"type": "payment_intent.created"}).data
    assert len(created) == 1


def test_a_saved_card_can_be_made_to_decline_later(
    client: Any, customer: Any, control: EmulatorControl
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    control.set_card_decline(pm.id, "insufficient_funds")
    with pytest.raises(stripe.CardError) as caught:
        off_session(client, customer, pm)
    assert caught.value.json_body["error"]["decline_code"] == "insufficient_funds"
    control.set_card_decline(pm.id, None)
    assert off_session(client, customer, pm).status == "succeeded"


def test_an_authentication_required_card_on_session_asks_for_action(
    client: Any, customer: Any
) -> None:
    pm = saved(client, customer, "pm_card_authenticationRequired")
    pi = client.v1.payment_intents.create(
        params={
            "amount": 700,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": pm.id,
            "confirm": True,
        }
    )
    assert (pi.status, pi.next_action.type) == ("requires_action", "use_stripe_sdk")


def test_checkout_with_setup_future_usage_saves_the_card_that_paid(
    client: Any, params: Any, control: EmulatorControl, customer: Any
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(
            customer=customer.id, payment_intent_data={"setup_future_usage": "off_session"}
        )
    )
    control.pay(created.id, card="pm_card_authenticationRequired")
    session = client.v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["payment_intent"]}
    )
    pi = session.payment_intent
    assert (pi.setup_future_usage, pi.customer) == ("off_session", customer.id)
    pm = client.v1.payment_methods.retrieve(pi.payment_method)
    assert (pm.customer, pm.card.last4) == (customer.id, "3184")
    with pytest.raises(stripe.CardError) as caught:
        off_session(client, customer, pm)
    assert caught.value.code == "authentication_required"


def test_checkout_saving_a_card_without_a_customer_creates_one(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    created = client.v1.checkout.sessions.create(
        params=params(payment_intent_data={"setup_future_usage": "off_session"})
    )
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id)
    methods = client.v1.customers.payment_methods.list(session.customer)
    assert [m.card.last4 for m in methods.data] == ["4242"]


def test_a_setup_mode_session_saves_a_card_without_paying(
    client: Any, control: EmulatorControl, customer: Any
) -> None:
    created = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "customer": customer.id,
            "success_url": "https://app.example.com/ok",
            "setup_intent_data": {"metadata": {"account": "acct-1"}},
        }
    )
    assert (created.mode, created.amount_total, created.payment_status) == (
        "setup",
        None,
        "no_payment_required",
    )
    control.pay(created.id)
    session = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["setup_intent"]})
    seti = session.setup_intent
    assert (session.status, seti.object, seti.status) == ("complete", "setup_intent", "succeeded")
    assert (seti.customer, seti.metadata.to_dict()) == (customer.id, {"account": "acct-1"})
    assert client.v1.payment_methods.retrieve(seti.payment_method).customer == customer.id
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types[-4:] == [
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
        "checkout.session.completed",
    ]
    assert session.payment_intent is None


def test_setup_mode_refuses_line_items(client: Any, params: Any) -> None:
    p = params()
    p["mode"] = "setup"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=p)
    assert caught.value.param == "line_items"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 10}, "amount"),
        ({"customer": "cus_nope"}, "customer"),
        ({"payment_method": "pm_nope"}, "payment_method"),
        ({"confirm": False}, "off_session"),
    ],
)
def test_bad_payment_intent_parameters_are_refused(
    client: Any, customer: Any, change: dict[str, Any], param: str
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    params = {
        "amount": 2000,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": pm.id,
        "off_session": True,
        "confirm": True,
        **change,
    }
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params=params)
    assert caught.value.param == param


def test_a_card_of_another_customer_is_refused(client: Any, customer: Any) -> None:
    other = client.v1.customers.create(params={"email": "other@example.com"})
    pm = saved(client, other, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        off_session(client, customer, pm)
    assert caught.value.param == "payment_method"


def test_a_lost_answer_hides_a_charge_that_a_retry_with_the_same_key_finds(
    client: Any, customer: Any, control: EmulatorControl
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    control.fault("/v1/payment_intents", "lose_answer", method="POST")
    with pytest.raises(stripe.APIConnectionError):
        off_session(client, customer, pm, key="attempt-7")
    again = off_session(client, customer, pm, key="attempt-7")
    assert again.status == "succeeded"
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.events.list(params={"type": "charge.succeeded"}).data) == 1


def test_payment_intents_are_listed_newest_first_by_customer_and_window(
    client: Any, customer: Any, params: Any, control: EmulatorControl
) -> None:
    checkout = client.v1.checkout.sessions.create(params=params())
    control.pay(checkout.id)
    pm = saved(client, customer, "pm_card_visa")
    control.advance_clock(60)
    first = off_session(client, customer, pm)
    control.advance_clock(60)
    second = off_session(client, customer, pm)
    listed = client.v1.payment_intents.list(params={"customer": customer.id})
    assert [pi.id for pi in listed.data] == [second.id, first.id]
    everything = [pi.id for pi in client.v1.payment_intents.list().auto_paging_iter()]
    assert len(everything) == 3
    window = client.v1.payment_intents.list(params={"created": {"gte": second.created}})
    assert [pi.id for pi in window.data] == [second.id]


def test_setup_mode_refuses_a_delayed_method_and_payment_mode_refuses_setup_intent_data(
    client: Any, params: Any, control: EmulatorControl
) -> None:
    setup = client.v1.checkout.sessions.create(
        params={"mode": "setup", "success_url": "https://app.example.com/ok"}
    )
    with pytest.raises(EmulatorControlError) as caught:
        control.pay(setup.id, method="delayed")
    assert caught.value.status_code == 400
    assert client.v1.checkout.sessions.retrieve(setup.id).status == "open"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            params=params(setup_intent_data={"metadata": {"a": "b"}})
        )
    assert refused.value.code == "parameter_unknown"


def test_payment_intents_page_by_cursor_in_a_window_with_the_latest_charge_expanded(
    client: Any, customer: Any, control: EmulatorControl
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    made = []
    for _ in range(5):
        control.advance_clock(10)
        made.append(off_session(client, customer, pm))
    window = {"gte": made[1].created, "lt": made[4].created}  # the 2nd, 3rd and 4th
    params: dict[str, Any] = {"limit": 2, "created": window, "expand": ["data.latest_charge"]}
    first = client.v1.payment_intents.list(params=params)
    assert ([pi.id for pi in first.data], first.has_more) == ([made[3].id, made[2].id], True)
    assert first.data[0].latest_charge.object == "charge"
    assert first.data[0].latest_charge.payment_intent == made[3].id
    rest = client.v1.payment_intents.list(params={**params, "starting_after": made[2].id})
    assert ([pi.id for pi in rest.data], rest.has_more) == ([made[1].id], False)
    back = client.v1.payment_intents.list(params={**params, "ending_before": made[1].id})
    assert [pi.id for pi in back.data] == [made[3].id, made[2].id]
    with pytest.raises(stripe.InvalidRequestError) as caught:  # as on Stripe: no such filter
        client.v1.payment_intents.list(params={"metadata": {"account": "acct-1"}})
    assert caught.value.http_status == 400


def test_an_off_session_charge_is_refunded_and_disputed_with_its_events(
    client: Any, customer: Any, control: EmulatorControl
) -> None:
    pm = saved(client, customer, "pm_card_visa")
    pi = off_session(client, customer, pm)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})
    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 500, pi.id)
    by_control = control.refund(pi.id, amount=300)
    assert by_control["payment_intent"] == pi.id
    dispute = control.dispute(pi.id, amount=1200)
    control.close_dispute(dispute["id"], "lost")
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert (charge.amount_refunded, charge.disputed) == (800, True)
    assert [r.id for r in client.v1.refunds.list(params={"payment_intent": pi.id}).data] == [
        by_control["id"],
        refund.id,
    ]
    [listed] = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert (listed.id, listed.status, listed.amount) == (dispute["id"], "lost", 1200)
    kinds = ["charge.refunded", "refund.created", "charge.dispute.created", "charge.dispute.closed"]
    for kind in kinds:
        sent = client.v1.events.list(params={"type": kind}).data
        assert sent, kind
        assert sent[0].data.object.to_dict()["payment_intent"] == pi.id, kind
