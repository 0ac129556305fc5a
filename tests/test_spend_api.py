"""The spend API over real HTTP (``/api/v1``), on both databases.

uvicorn in a thread for the rules; ``stripetopup serve --workers 2`` as a subprocess for
100 debits racing across processes. The error shape, auth doors and OpenAPI are checked too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, settings_env
from tests.support.servers import cli_env, free_port, serve_in_thread, serve_subprocess


@dataclass
class Api:
    http: httpx.Client
    service: TopUpService
    key: str

    def post(self, path: str, body: object = None, key: str | None = "k") -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.http.post("/api/v1" + path, json=body, headers=headers)

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.http.get("/api/v1" + path, params=params)  # type: ignore[arg-type]

    def other_key(self) -> str:
        """A service key of another name, whose idempotency keys are its own."""
        return self.service.create_service_key("reports-worker")[1]


@pytest.fixture
def api(service: TopUpService) -> Iterator[Api]:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    _, key = service.create_service_key("billing-worker")
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
    ):
        yield Api(http, service, key)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "param" in error
    return dict(error)


def test_the_balance_shows_the_balance_open_holds_and_what_is_available(api: Api) -> None:
    api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 1250}, key="h")
    response = api.get(f"/accounts/{ACCOUNT}/balance")
    assert response.status_code == 200
    assert response.json() == {
        "account_id": ACCOUNT,
        "balance_cents": 5000,
        "balance": "50.00",
        "paid_cents": 5000,
        "promotional_cents": 0,
        "deficit_cents": 0,
        "held_cents": 1250,
        "available_cents": 3750,
        "available": "37.50",
        "next_expiry": None,
        "currency": "usd",
        "low_balance_threshold_cents": None,
        "below_threshold": False,
    }


def test_entries_come_newest_first_a_page_at_a_time(api: Api) -> None:
    for n in range(4):
        assert api.post(f"/accounts/{ACCOUNT}/debits", {"amount_cents": 10}, f"d{n}").is_success
    first = api.get(f"/accounts/{ACCOUNT}/entries", limit=2).json()
    assert first["object"] == "list"
    assert first["has_more"] is True
    assert [e["source"] for e in first["data"]] == [
        "spend:service:billing-worker:d3",
        "spend:service:billing-worker:d2",
    ]
    second = api.get(
        f"/accounts/{ACCOUNT}/entries", limit=2, starting_after=first["data"][-1]["id"]
    ).json()
    assert [e["source"] for e in second["data"]] == [
        "spend:service:billing-worker:d1",
        "spend:service:billing-worker:d0",
    ]
    assert second["has_more"] is True
    last = api.get(
        f"/accounts/{ACCOUNT}/entries", limit=2, starting_after=second["data"][-1]["id"]
    ).json()
    assert ([e["source"] for e in last["data"]], last["has_more"]) == (["manual:fund"], False)
    assert_error(api.get(f"/accounts/{ACCOUNT}/entries", limit=101), 400, "invalid_request")


def test_a_debit_answers_201_and_its_retry_answers_the_same_status_and_body(api: Api) -> None:
    body = {"amount_cents": 250, "reason": "image render"}
    first = api.post(f"/accounts/{ACCOUNT}/debits", body, key="render-1")
    assert first.status_code == 201, first.text
    assert first.headers["Idempotent-Replayed"] == "false"
    assert first.json()["balance_after_cents"] == 4750
    assert first.json()["entry"]["actor"] == "service:billing-worker"
    again = api.post(f"/accounts/{ACCOUNT}/debits", body, key="render-1")
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.service.balance(ACCOUNT).balance_cents == 4750


def test_reusing_an_idempotency_key_with_another_body_is_409(api: Api) -> None:
    assert api.post(f"/accounts/{ACCOUNT}/debits", {"amount_cents": 100}, "k").status_code == 201
    error = assert_error(
        api.post(f"/accounts/{ACCOUNT}/debits", {"amount_cents": 200}, "k"),
        409,
        "idempotency_conflict",
    )
    assert "use a new key" in str(error["message"])
    hold = api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100}, "h")
    assert hold.status_code == 201
    assert_error(
        api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100, "reason": "x"}, "h"),
        409,
        "idempotency_conflict",
    )
    assert api.service.balance(ACCOUNT).balance_cents == 4900


@pytest.mark.parametrize("first", ["debits", "holds"])
def test_one_idempotency_key_never_makes_both_a_debit_and_a_hold(api: Api, first: str) -> None:
    second = "holds" if first == "debits" else "debits"
    made = api.post(f"/accounts/{ACCOUNT}/{first}", {"amount_cents": 100}, "job-77")
    assert made.status_code == 201, made.text
    before = (api.service.balance(ACCOUNT), api.service.ledger(ACCOUNT))
    refused = api.post(f"/accounts/{ACCOUNT}/{second}", {"amount_cents": 100}, "job-77")
    error = assert_error(refused, 409, "idempotency_conflict")
    kind = "a debit" if first == "debits" else "a hold"
    assert error == {
        "code": "idempotency_conflict",
        "message": f"idempotency key 'job-77' was already used for {kind}; "
        "use a new key for a new operation",
        "param": None,
        "request_id": refused.headers["request-id"],
    }
    assert (api.service.balance(ACCOUNT), api.service.ledger(ACCOUNT)) == before
    again = api.post(f"/accounts/{ACCOUNT}/{first}", {"amount_cents": 100}, "job-77")
    assert (again.status_code, again.content) == (201, made.content)
    other = api.http.post(
        f"/api/v1/accounts/{ACCOUNT}/{second}",
        json={"amount_cents": 100},
        headers={"Idempotency-Key": "job-77", "Authorization": f"Bearer {api.other_key()}"},
    )
    assert other.status_code == 201, other.text  # keys are scoped per service key name


def test_a_debit_and_a_hold_racing_with_one_key_never_both_succeed(api: Api) -> None:
    api.service.open_account("acct-bob")
    api.service.credit("acct-bob", 5000, reason="test funds", idempotency_key="fund-bob")

    def attempt(n: int) -> tuple[int, int]:
        key = f"race-{n // 2}"
        if n % 2:
            return n // 2, api.post(
                f"/accounts/{ACCOUNT}/debits", {"amount_cents": 10}, key
            ).status_code
        return n // 2, api.post("/accounts/acct-bob/holds", {"amount_cents": 10}, key).status_code

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(60)))
    by_key: dict[int, list[int]] = {}
    for key, status in outcomes:
        by_key.setdefault(key, []).append(status)
    assert all(sorted(statuses) == [201, 409] for statuses in by_key.values()), by_key
    debits = len(api.service.ledger(ACCOUNT, limit=1000)) - 1
    held = api.service.balance("acct-bob").held_cents // 10
    assert debits + held == 30
    assert api.service.balance(ACCOUNT).balance_cents == 5000 - 10 * debits


def test_insufficient_funds_is_402_with_the_amounts_and_writes_nothing(api: Api) -> None:
    for path in ("debits", "holds"):
        error = assert_error(
            api.post(f"/accounts/{ACCOUNT}/{path}", {"amount_cents": 5001}, path),
            402,
            "insufficient_funds",
        )
        assert (error["available_cents"], error["requested_cents"]) == (5000, 5001)
        assert error["message"] == "insufficient funds: 50.00 available, 50.01 requested"
    assert api.service.balance(ACCOUNT).held_cents == 0
    assert len(api.service.ledger(ACCOUNT)) == 1
    overdraw = {"amount_cents": 5001, "allow_negative": True}
    response = api.post(f"/accounts/{ACCOUNT}/debits", overdraw, "allowed")
    assert (response.status_code, response.json()["balance_after_cents"]) == (201, -1)


def test_holds_are_placed_captured_in_part_and_read_back_over_http(api: Api) -> None:
    placed = api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 2000, "ttl_seconds": 3600})
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["id"]
    capture = api.post(f"/holds/{hold_id}/capture", {"amount_cents": 500}, key="c")
    assert capture.status_code == 200, capture.text
    assert (capture.json()["status"], capture.json()["captured_cents"]) == ("captured", 500)
    assert capture.json()["entry"]["amount_cents"] == -500
    retry = api.post(f"/holds/{hold_id}/capture", {"amount_cents": 500}, key="c")
    assert (retry.status_code, retry.content) == (200, capture.content)
    assert api.get(f"/holds/{hold_id}").json()["status"] == "captured"
    assert_error(api.post(f"/holds/{hold_id}/release", key="r"), 409, "hold_not_open")
    other = api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100}, key="h2").json()["id"]
    released = api.post(f"/holds/{other}/release", key="r")
    assert (released.status_code, released.json()["status"]) == (200, "released")
    assert api.get(f"/accounts/{ACCOUNT}/balance").json()["available_cents"] == 4500


def test_every_write_requires_an_idempotency_key(api: Api) -> None:
    hold_id = api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100}).json()["id"]
    for path, body in (
        (f"/accounts/{ACCOUNT}/debits", {"amount_cents": 100}),
        (f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100}),
        (f"/holds/{hold_id}/capture", {}),
        (f"/holds/{hold_id}/release", None),
    ):
        error = assert_error(api.post(path, body, key=None), 400, "invalid_request")
        assert str(error.pop("request_id")).startswith("req_")
        assert error == {
            "code": "invalid_request",
            "message": "the Idempotency-Key header is required",
            "param": "Idempotency-Key",
        }
    assert api.service.balance(ACCOUNT).balance_cents == 5000


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": 1.5}, "amount_cents"),
        ({"amount_cents": "100"}, "amount_cents"),
        ({"amount_cents": 100, "allow_negative": "yes"}, "allow_negative"),
        ({"amount_cents": 100, "surprise": 1}, "surprise"),
        ({}, "amount_cents"),
    ],
)
def test_invalid_debit_bodies_are_400_in_the_error_shape(
    api: Api, body: dict[str, object], param: str
) -> None:
    error = assert_error(api.post(f"/accounts/{ACCOUNT}/debits", body), 400, "invalid_request")
    assert error["param"] == param


def test_unknown_accounts_and_holds_are_404(api: Api) -> None:
    assert_error(api.get("/accounts/nobody/balance"), 404, "not_found")
    assert_error(api.post("/accounts/nobody/debits", {"amount_cents": 1}), 404, "not_found")
    unknown = "hold_" + "0" * 24  # the shape of a hold id, but no such hold
    assert_error(api.get(f"/holds/{unknown}"), 404, "not_found")
    assert_error(api.post(f"/holds/{unknown}/capture", {}), 404, "not_found")


# Auth: each door takes only its own credential ------------------------------------------


def test_a_user_token_on_the_spend_api_is_403(api: Api) -> None:
    token = api.service.create_token(ACCOUNT)[1]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k"}
    for response in (
        api.http.get(f"/api/v1/accounts/{ACCOUNT}/balance", headers=headers),
        api.http.post(
            f"/api/v1/accounts/{ACCOUNT}/debits", json={"amount_cents": 1}, headers=headers
        ),
    ):
        assert_error(response, 403, "forbidden")
    assert api.service.balance(ACCOUNT).balance_cents == 5000


def test_a_service_key_on_the_user_endpoints_is_403(api: Api) -> None:
    assert_error(api.http.get("/billing/balance"), 403, "forbidden")
    response = api.http.post("/billing/checkout-session", json={"amount_cents": 500})
    assert_error(response, 403, "forbidden")


def test_no_revoked_or_unknown_service_key_is_401(api: Api) -> None:
    path = f"/api/v1/accounts/{ACCOUNT}/balance"
    response = httpx.get(str(api.http.base_url) + path)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_error(
        api.http.get(path, headers={"Authorization": "Bearer stk_nope"}), 401, "unauthorized"
    )
    [credential] = api.service.list_credentials("service")
    api.service.revoke_credential("service", credential.id)
    assert_error(api.http.get(path), 401, "unauthorized")


WEBHOOK_ENDPOINT_OPERATIONS = {
    ("POST", "/api/v1/webhook-endpoints"),
    ("GET", "/api/v1/webhook-endpoints"),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/disable"),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/enable"),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/retry"),
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/retry"),
}
# Repeatable as they are (disabling twice is disabled; a link is minted anew, nothing is
# stored): no Idempotency-Key.
REPEATABLE_POSTS = {
    (path, "POST")
    for method, path in WEBHOOK_ENDPOINT_OPERATIONS
    if method == "POST" and path != "/api/v1/webhook-endpoints"
} | {("/api/v1/accounts/{account_id}/topup-links", "POST")}


def test_the_openapi_document_describes_the_endpoints_their_errors_and_auth(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ServiceKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A service key (`stk_...`) from `stripetopup keys create NAME`. "
        "User tokens are refused (403).",
    }
    operations = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("GET", "/api/v1/accounts/{account_id}/balance"),
        ("GET", "/api/v1/accounts/{account_id}/entries"),
        ("POST", "/api/v1/accounts/{account_id}/debits"),
        ("POST", "/api/v1/accounts/{account_id}/holds"),
        ("POST", "/api/v1/holds/{hold_id}/capture"),
        ("POST", "/api/v1/holds/{hold_id}/release"),
        ("GET", "/api/v1/holds/{hold_id}"),
        ("PUT", "/api/v1/accounts/{account_id}/low-balance-threshold"),
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/accounts/{account_id}/topup-links"),
        *WEBHOOK_ENDPOINT_OPERATIONS,
        ("POST", "/api/v1/accounts/{account_id}/grants"),
        ("GET", "/api/v1/accounts/{account_id}/grants"),
        ("PUT", "/api/v1/accounts/{account_id}/auto-recharge"),
        ("GET", "/api/v1/accounts/{account_id}/auto-recharge"),
        ("DELETE", "/api/v1/accounts/{account_id}/auto-recharge"),
    }
    for (method, path), operation in operations.items():
        assert operation["security"] == [{"ServiceKey": []}], path
        assert {"401", "403", "404"} <= set(operation["responses"]), path
        # Managing webhook endpoints and minting links move no money: only adding an
        # endpoint takes a key.
        if method == "POST" and (path, method) not in REPEATABLE_POSTS:
            assert "409" in operation["responses"], path
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            assert headers == ["Idempotency-Key"], path
    for path in ("/api/v1/accounts/{account_id}/debits", "/api/v1/accounts/{account_id}/holds"):
        assert "402" in operations[("POST", path)]["responses"]
    assert api.http.get("/docs").status_code == 200


# Several workers: the proof --------------------------------------------------------


def same_answer(response: httpx.Response) -> bytes:
    """The body, but for an error's request_id: a refusal is answered anew, under a new id."""
    if response.status_code < 400:
        return response.content
    payload = response.json()
    assert payload["error"].pop("request_id") == response.headers["Request-Id"]
    return json.dumps(payload).encode()


@pytest.mark.slow
def test_100_concurrent_debits_across_two_workers_spend_exactly_the_balance(
    settings: Settings, service: TopUpService
) -> None:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    _, key = service.create_service_key("racer")
    env = cli_env(settings_env(settings))
    with (
        serve_subprocess(["--workers", "2"], env, free_port()) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
        ThreadPoolExecutor(20) as pool,
    ):

        def debit(n: int, amount: int = 100) -> httpx.Response:
            return http.post(
                f"/api/v1/accounts/{ACCOUNT}/debits",
                json={"amount_cents": amount},
                headers={"Idempotency-Key": f"race-{n}"},
            )

        first = list(pool.map(debit, range(100)))
        assert Counter(r.status_code for r in first) == {201: 50, 402: 50}
        retried = list(pool.map(debit, range(100)))
        assert [(r.status_code, same_answer(r)) for r in retried] == [
            (r.status_code, same_answer(r)) for r in first
        ]
        won = next(n for n, r in enumerate(first) if r.status_code == 201)
        assert debit(won, 200).status_code == 409

    balance = service.balance(ACCOUNT)
    assert balance.balance_cents == 0
    entries = service.ledger(ACCOUNT, limit=1000)
    assert len(entries) == 51
    assert sum(e.amount_cents for e in entries) == 0
    assert sorted(e.balance_after_cents for e in entries if e.kind == "spend") == list(
        range(0, 5000, 100)
    )
