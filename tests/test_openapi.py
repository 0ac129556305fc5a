"""``/openapi.json`` documents every answer, and the web door prints the answers' JSON as ever.

Every 2xx and every error answer of every operation has a schema (a host application can
generate its client from the document); errors are the one error shape, with its
``request_id``; FastAPI's 422, which this app never answers, is not documented. Over real
HTTP, the bytes of each answer are those of the result's JSON (tests/test_answers.py shows
that JSON is byte for byte what it was), keys in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stripetopup.core import TopUpService
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, ORIGIN, Running
from tests.support.servers import serve_in_thread

ERROR_REF = "#/components/schemas/ErrorResponse"


def compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def schema_of(answer: dict[str, Any]) -> dict[str, Any] | None:
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return schema if schema else None


def test_every_answer_of_every_operation_has_a_schema(running: Running) -> None:
    spec = running.http.get("/openapi.json").json()
    seen = 0
    for method, path, operation in operations(spec):
        answers = operation["responses"]
        assert any(status.startswith("2") for status in answers), (method, path)
        for status, answer in answers.items():
            assert schema_of(answer) is not None, (method, path, status)
            seen += 1
    assert seen > 40


def test_every_error_answer_is_the_one_error_shape_with_its_request_id(running: Running) -> None:
    spec = running.http.get("/openapi.json").json()
    for method, path, operation in operations(spec):
        errors = {s: a for s, a in operation["responses"].items() if not s.startswith("2")}
        assert "500" in errors, (method, path)
        for status, answer in errors.items():
            if (path, status) == ("/healthz", "503"):  # the probe's own shape: Health
                assert schema_of(answer) == {"$ref": "#/components/schemas/Health"}
                continue
            assert schema_of(answer) == {"$ref": ERROR_REF}, (method, path, status)
    shape = spec["components"]["schemas"]
    assert set(shape["ErrorResponse"]["properties"]) == {"error"}
    assert {"code", "message", "param", "request_id"} <= set(shape["ErrorDetail"]["properties"])


def test_the_document_promises_no_422_which_the_app_never_answers(running: Running) -> None:
    spec = running.http.get("/openapi.json").json()
    for method, path, operation in operations(spec):
        assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    response = running.http.post(
        "/billing/checkout-session",
        json={"amount_cents": "five"},
        headers={"Authorization": f"Bearer {running.user_token()}", "Origin": ORIGIN},
    )
    assert response.status_code == 400


def test_the_checkout_body_and_both_credential_schemes_are_documented(running: Running) -> None:
    spec = running.http.get("/openapi.json").json()
    checkout = spec["paths"]["/billing/checkout-session"]["post"]
    body = checkout["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"amount_cents", "amount", "save_payment_method"}
    assert checkout["security"] == [{"UserToken": []}]
    assert spec["paths"]["/billing/balance"]["get"]["security"] == [{"UserToken": []}]
    assert spec["components"]["securitySchemes"]["UserToken"]["scheme"] == "bearer"
    success = checkout["responses"]["200"]
    assert schema_of(success) == {"$ref": "#/components/schemas/CheckoutLinkAnswer"}


def test_the_user_balance_prints_the_same_bytes_as_its_results(running: Running) -> None:
    running.service.credit(ACCOUNT, 1234, reason="café ☕", idempotency_key="k1")
    token = running.user_token()
    response = running.http.get("/billing/balance", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    expected = running.service.balance(ACCOUNT).to_json()
    expected["entries"] = [e.to_json() for e in running.service.ledger(ACCOUNT, limit=10)]
    assert response.content == compact(expected)


@pytest.fixture
def spend_http(service: TopUpService) -> Iterator[httpx.Client]:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    _, key = service.create_service_key("billing-worker")
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(
            base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http,
    ):
        yield http


def test_the_spend_api_prints_the_same_bytes_as_its_results(
    service: TopUpService, spend_http: httpx.Client
) -> None:
    def post(path: str, body: object, key: str) -> httpx.Response:
        return spend_http.post(path, json=body, headers={"Idempotency-Key": key})

    debit = post(f"/accounts/{ACCOUNT}/debits", {"amount_cents": 150, "reason": "é"}, "d1")
    again = service.spend(
        ACCOUNT, 150, idempotency_key="d1", reason="é", actor="service:billing-worker"
    )
    assert (debit.status_code, debit.content) == (201, compact(again.to_json()))
    hold = post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 250}, "h1")
    assert hold.status_code == 201
    hold_id = hold.json()["id"]
    captured = post(f"/holds/{hold_id}/capture", {"amount_cents": 100}, "c1")
    repeat = service.capture_hold(
        hold_id, 100, idempotency_key="c1", actor="service:billing-worker"
    )
    assert (captured.status_code, captured.content) == (200, compact(repeat.to_json()))
    shown = spend_http.get(f"/holds/{hold_id}")
    assert shown.content == compact(service.get_hold(hold_id).to_json())
    balance = spend_http.get(f"/accounts/{ACCOUNT}/balance")
    assert balance.content == compact(service.balance(ACCOUNT).to_json())
    page = spend_http.get(f"/accounts/{ACCOUNT}/entries", params={"limit": 2})
    entries = service.ledger(ACCOUNT, limit=2)
    assert page.content == compact(
        {
            "object": "list",
            "url": f"/api/v1/accounts/{ACCOUNT}/entries",
            "has_more": True,
            "data": [e.to_json() for e in entries],
        }
    )
