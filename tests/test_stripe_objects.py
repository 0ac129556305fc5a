"""Typed Stripe objects at the boundary, and states stored as the strings they always were."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from stripetopup.core import TopUpService
from stripetopup.core.ledger import reversals
from stripetopup.core.reconcile.kinds import KINDS, DifferenceKind
from stripetopup.errors import PayloadError
from stripetopup.models import EventResult, HoldStatus, LedgerKind, PaymentState
from stripetopup.stripe_objects import CheckoutSession
from tests.conftest import ACCOUNT, NEW_SECRET, Running
from tests.support.stripe_events import body, checkout_session, event, sign

PACKAGE = Path(__file__).resolve().parents[1] / "stripetopup"
TABLES = ("ledger_entries", "stripe_payments", "accounts")


def rows(service: TopUpService) -> dict[str, int]:
    with service.engine.connect() as connection:
        return {
            table: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


def deliver(running: Running, obj: dict[str, Any]) -> tuple[Any, str]:
    evt = event("checkout.session.completed", obj)
    payload = body(evt)
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, NEW_SECRET)}
    return running.http.post("/billing/webhook", content=payload, headers=headers), evt["id"]


INTEGER, STRING = "Input should be a valid integer", "Input should be a valid string"


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("amount_total", "500", INTEGER),
        ("amount_total", True, INTEGER),  # an int to Python, not to Stripe: never one cent
        ("amount_total", 5.0, INTEGER),
        ("currency", 840, STRING),
        ("livemode", "false", "Input should be a valid boolean"),
        ("client_reference_id", 42, STRING),
    ],
)
def test_a_paid_session_with_a_mistyped_money_field_is_refused_naming_the_field(
    running: Running, field: str, value: object, why: str
) -> None:
    obj = {**checkout_session(ACCOUNT, 500), field: value}
    before = rows(running.service)
    response, event_id = deliver(running, obj)
    refusal = f"Stripe checkout session {obj['id']}: field {field}: {why}"
    assert response.status_code == 500  # kept as a failure, and Stripe retries
    assert response.json()["error"]["code"] == "processing_failed"
    assert response.json()["error"]["message"] == f"event {event_id} failed: {refusal}"
    record = running.service.event(event_id)
    assert (record.outcome, record.error) == ("failed", f"PayloadError: {refusal}")
    assert rows(running.service) == before  # no payment row, no entry: nothing half-written
    assert running.service.balance(ACCOUNT).balance_cents == 0


def test_a_paid_session_whose_amount_total_is_null_is_kept_for_attention(
    running: Running,
) -> None:
    response, _ = deliver(running, {**checkout_session(ACCOUNT, 500), "amount_total": None})
    assert response.status_code == 200
    assert response.json()["result"] == "attention"
    [payment] = running.service.payments(state="attention")
    assert payment.attention_reason == "the session has no positive amount_total"
    assert running.service.balance(ACCOUNT).balance_cents == 0


def test_a_paid_session_is_stored_with_the_same_strings_as_before(running: Running) -> None:
    response, event_id = deliver(running, checkout_session(ACCOUNT, 700))
    assert response.status_code == 200
    with running.service.engine.connect() as connection:
        state = connection.execute(sa.text("SELECT state FROM stripe_payments")).scalar_one()
        kind = connection.execute(sa.text("SELECT kind FROM ledger_entries")).scalar_one()
        outcome = connection.execute(
            sa.text("SELECT outcome FROM webhook_events WHERE event_id = :id"), {"id": event_id}
        ).scalar_one()
    assert (type(state), state) == (str, "credited")
    assert (type(kind), kind) == (str, "topup")
    assert (type(outcome), outcome) == (str, "credited")
    assert response.content.count(b'"result":"credited"') == 1


def test_a_refund_without_an_amount_is_a_payload_error_naming_the_field() -> None:
    refund = {"id": "re_1", "currency": "usd", "payment_intent": "pi_1", "status": "succeeded"}
    with pytest.raises(PayloadError) as caught:
        reversals.settle(reversals.REFUNDS, refund, 0, {})
    assert caught.value.message == "Stripe refund re_1: field amount: Field required"


def test_a_dispute_with_a_mistyped_balance_transaction_names_where_it_is() -> None:
    dispute = {
        "id": "du_1",
        "amount": 500,
        "currency": "usd",
        "payment_intent": "pi_1",
        "status": "warning_needs_response",
        "balance_transactions": [{"amount": "-500"}],
    }
    with pytest.raises(PayloadError) as caught:
        reversals.settle(reversals.DISPUTES, dispute, 0, {})
    assert caught.value.message == (
        "Stripe dispute du_1: field balance_transactions.0.amount: Input should be a valid integer"
    )


def test_a_session_keeps_the_fields_it_does_not_type_and_reads_an_expanded_intent() -> None:
    obj = {**checkout_session(ACCOUNT, 500), "payment_intent": {"id": "pi_9", "object": "x"}}
    checkout = CheckoutSession.parse(obj)
    assert checkout.payment_intent_id == "pi_9"
    assert checkout.model_extra is not None
    assert checkout.model_extra["mode"] == "payment"


def test_the_states_and_kinds_keep_their_stored_values_and_their_order() -> None:
    assert list(PaymentState) == [
        "created",
        "pending",
        "failed",
        "expired",
        "no_payment_required",
        "attention",
        "credited",
        "dismissed",
    ]
    assert set(EventResult) == {
        "credited",
        "debited",
        "already_applied",
        "recorded",
        "attention",
        "ignored",
        "failed",
    }
    assert set(HoldStatus) == {"open", "captured", "released", "expired"}
    assert {"topup", "refund", "refund_reversed", "dispute", "dispute_reinstated"} <= set(
        LedgerKind
    )
    assert list(KINDS) == list(DifferenceKind)
    assert [kind for kind, fixable in KINDS.items() if fixable] == [
        "paid_not_credited",
        "refund_not_debited",
        "dispute_not_debited",
    ]


EVENT_PATH = [
    "core/events/credit.py",
    "core/events/registry.py",
    "core/events/sessions.py",
    "core/events/reversals.py",
    "core/ledger/reversals.py",
    "core/events/process.py",
    "core/events/replay.py",
    "core/payments/resolve.py",
    "core/reconcile/runner.py",
    "core/reconcile/compare.py",
    "core/doctor/runner.py",
    "stripe_objects.py",
]


@pytest.mark.parametrize("name", EVENT_PATH)
def test_the_event_path_imports_at_the_top_of_its_modules_only(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    inner = [
        f"{function.name}:{node.lineno}"
        for function in functions
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert inner == []
