"""Listing: auto-pagination, created filters, status filters and the events' 30-day window."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripetopup.emulator import EmulatorControl


def test_auto_pagination_visits_every_session_once_newest_first(
    client: Any, control: EmulatorControl
) -> None:
    start = control.now() - 10_000
    seeded = control.seed(count=260, state="paid", created_start=start, created_step=10)
    control.seed(count=40, state="open", created_start=start, created_step=0)
    sessions = list(client.v1.checkout.sessions.list(params={"limit": 7}).auto_paging_iter())
    ids = [s.id for s in sessions]
    assert len(ids) == len(set(ids)) == 300
    assert set(seeded["ids"]) <= set(ids)
    created = [s.created for s in sessions]
    assert created == sorted(created, reverse=True)


def test_created_filters_bound_the_listing(client: Any, control: EmulatorControl) -> None:
    start = control.now() - 100_000
    control.seed(count=300, created_start=start, created_step=100)
    window = {"gte": start + 5_000, "lt": start + 20_000}
    listed = client.v1.checkout.sessions.list(params={"limit": 100, "created": window})
    found = [s.created for s in listed.auto_paging_iter()]
    assert len(found) == 150
    assert min(found) == start + 5_000
    assert max(found) == start + 19_900
    gt_lte = client.v1.checkout.sessions.list(
        params={"created": {"gt": start + 5_000, "lte": start + 5_200}}
    )
    assert [s.created for s in gt_lte.data] == [start + 5_200, start + 5_100]
    exact = client.v1.checkout.sessions.list(params={"created": start + 300})
    assert [s.created for s in exact.data] == [start + 300]


def test_ending_before_pages_backwards(client: Any, control: EmulatorControl) -> None:
    start = control.now() - 1_000
    ids = control.seed(count=30, created_start=start, created_step=1)["ids"]
    newest_first = list(reversed(ids))
    page = client.v1.checkout.sessions.list(params={"limit": 5, "ending_before": newest_first[10]})
    assert [s.id for s in page.data] == newest_first[5:10]
    assert page.has_more is True


def test_status_and_payment_intent_filters(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    control.seed(count=5, state="open")
    complete = client.v1.checkout.sessions.list(params={"status": "complete"})
    assert [s.id for s in complete.data] == [paid_session.id]
    by_pi = client.v1.checkout.sessions.list(
        params={"payment_intent": paid_session.payment_intent.id}
    )
    assert [s.id for s in by_pi.data] == [paid_session.id]


def test_list_expand_needs_the_data_prefix(client: Any, paid_session: Any) -> None:
    listed = client.v1.checkout.sessions.list(
        params={"expand": ["data.payment_intent.latest_charge"]}
    )
    assert listed.data[0].payment_intent.latest_charge.paid is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.list(params={"expand": ["payment_intent"]})
    assert "data.payment_intent" in caught.value.user_message


def test_limit_outside_one_to_a_hundred_is_refused(client: Any) -> None:
    for bad in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.checkout.sessions.list(params={"limit": bad})
        assert caught.value.param == "limit"


def test_events_filter_by_type_and_wildcard(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    control.refund(paid_session.id, amount=100)
    exact = client.v1.events.list(params={"type": "checkout.session.completed"})
    assert [e.data.object.id for e in exact.data] == [paid_session.id]
    wildcard = client.v1.events.list(params={"type": "charge.*"})
    assert {e.type for e in wildcard.data} == {"charge.succeeded", "charge.refunded"}
    several = client.v1.events.list(
        params={"types": ["refund.created", "payment_intent.succeeded"]}
    )
    assert [e.type for e in several.data] == ["refund.created", "payment_intent.succeeded"]
    event = client.v1.events.retrieve(exact.data[0].id)
    assert event.object == "event"
    assert event.api_version
    assert event.data.object.payment_status == "paid"


def test_events_older_than_thirty_days_disappear(
    client: Any, control: EmulatorControl, paid_session: Any
) -> None:
    event = client.v1.events.list(params={"type": "checkout.session.completed"}).data[0]
    # The emulator's clock keeps running after it is set, so each side of the 30-day edge
    # is an hour away from it: a slow machine cannot carry the check across.
    control.set_clock(event.created + 30 * 24 * 3600 - 3600)
    assert client.v1.events.retrieve(event.id).id == event.id
    control.set_clock(event.created + 30 * 24 * 3600 + 3600)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.events.retrieve(event.id)
    assert caught.value.http_status == 404
    assert client.v1.events.list().data == []
    assert client.v1.checkout.sessions.retrieve(paid_session.id).payment_status == "paid"


def test_seed_builds_each_state_with_overrides(client: Any, control: EmulatorControl) -> None:
    answer = control.seed(
        count=0,
        sessions=[
            {"state": "paid", "client_reference_id": "acct-1", "amount": 700},
            {"state": "open"},
            {"state": "expired"},
            {"state": "unpaid"},
            {"state": "async_failed", "currency": "eur"},
        ],
    )
    found = {
        s.id: s
        for s in client.v1.checkout.sessions.list(params={"expand": ["data.payment_intent"]}).data
    }
    paid, opened, expired, unpaid, failed = (found[i] for i in answer["ids"])
    assert (paid.payment_status, paid.amount_total, paid.client_reference_id) == (
        "paid",
        700,
        "acct-1",
    )
    assert paid.payment_intent.status == "succeeded"
    assert (opened.status, expired.status) == ("open", "expired")
    assert (unpaid.status, unpaid.payment_status) == ("complete", "unpaid")
    assert unpaid.payment_intent.status == "processing"
    assert failed.payment_intent.status == "requires_payment_method"
    assert client.v1.events.list().data == []


def test_seed_cycles_client_reference_ids(client: Any, control: EmulatorControl) -> None:
    control.seed(count=4, client_reference_ids=["a", "b"], created_step=1)
    listed = client.v1.checkout.sessions.list().data
    assert [s.client_reference_id for s in listed] == ["b", "a", "b", "a"]
