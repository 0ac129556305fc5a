"""The spend API's grants over real HTTP, on both databases: a grant with its terms under an
Idempotency-Key (a retry answers the same, another body is 409), bad terms are a 400 that
writes nothing, the list is in burn-down order, and the balance shows paid, promotional,
held, available and the next expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stripetopup.core import TopUpService
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT
from tests.support.grants import grants, verified
from tests.support.servers import serve_in_thread

GRANTS = f"/api/v1/accounts/{ACCOUNT}/grants"


@pytest.fixture
def http(service: TopUpService) -> Iterator[httpx.Client]:
    _, key = service.create_service_key("billing-worker")
    with (
        serve_in_thread(create_app(service, jobs=False)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c,
    ):
        yield c


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_a_grant_is_created_once_per_idempotency_key(
    http: httpx.Client, service: TopUpService
) -> None:
    body = {
        "amount_cents": 500,
        "category": "promotional",
        "priority": 10,
        "expires_at": _later(30),
    }
    first = http.post(GRANTS, json=body, headers={"Idempotency-Key": "welcome"})
    assert first.status_code == 201, first.text
    assert first.headers["Idempotent-Replayed"] == "false"
    answer = first.json()
    assert answer["grant"]["category"] == "promotional"
    assert (answer["grant"]["priority"], answer["grant"]["remaining_cents"]) == (10, 500)
    again = http.post(GRANTS, json=body, headers={"Idempotency-Key": "welcome"})
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json()["entry"] == answer["entry"]
    other = http.post(GRANTS, json={**body, "priority": 11}, headers={"Idempotency-Key": "welcome"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert len(grants(service, ACCOUNT)) == 1
    assert verified(service)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount_cents": 500, "priority": 101}, "priority"),
        ({"amount_cents": 500, "category": "free"}, "category"),
        ({"amount_cents": 500, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"amount_cents": 500, "expires_at": "2999-01-01T00:00:00"}, "expires_at"),
        ({"amount_cents": 0}, "amount_cents"),
    ],
)
def test_bad_grant_terms_are_a_400_that_writes_nothing(
    http: httpx.Client, service: TopUpService, body: dict[str, object], param: str
) -> None:
    response = http.post(GRANTS, json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 400, response.text
    assert param in (response.json()["error"]["param"] or "")
    assert grants(service, ACCOUNT) == []


def test_the_balance_shows_credit_by_kind_and_the_next_expiry(
    http: httpx.Client, service: TopUpService
) -> None:
    soon = _later(7)
    service.credit(ACCOUNT, 1000, reason="paid", idempotency_key="paid")
    http.post(
        GRANTS,
        json={"amount_cents": 300, "category": "promotional", "expires_at": soon},
        headers={"Idempotency-Key": "promo"},
    )
    http.post(
        f"/api/v1/accounts/{ACCOUNT}/holds",
        json={"amount_cents": 200},
        headers={"Idempotency-Key": "h"},
    )
    balance = http.get(f"/api/v1/accounts/{ACCOUNT}/balance").json()
    assert (balance["paid_cents"], balance["promotional_cents"]) == (1000, 300)
    assert (balance["held_cents"], balance["available_cents"]) == (200, 1100)
    assert balance["next_expiry"]["amount_cents"] == 300
    assert datetime.fromisoformat(balance["next_expiry"]["expires_at"]) == datetime.fromisoformat(
        soon
    )
    listed = http.get(GRANTS).json()["grants"]
    assert [g["source"] for g in listed] == ["grant:service:billing-worker:promo", "manual:paid"]
