"""POST /billing/webhook: signature checks, status codes, failures and retries.

Every request is really signed (tests.support.stripe_events.sign); nothing is switched off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorControl
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, NEW_SECRET, OLD_SECRET, Running
from tests.support.clock import ManualClock
from tests.support.servers import serve_in_thread
from tests.support.stripe_events import body, checkout_session, event, sign

TABLES = ("ledger_entries", "stripe_payments", "webhook_events", "accounts")


def counts(running: Running) -> dict[str, int]:
    with running.service.engine.connect() as connection:
        return {
            table: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


def post(running: Running, payload: bytes, signature: str | None, path: str = "/billing/webhook"):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return running.http.post(path, content=payload, headers=headers)


def paid_event(amount: int = 500) -> bytes:
    return body(event("checkout.session.completed", checkout_session(ACCOUNT, amount)))


def test_a_signed_paid_event_is_credited_on_either_path_spelling(running: Running) -> None:
    for path in ("/billing/webhook", "/billing/webhook/"):
        payload = paid_event()
        response = post(running, payload, sign(payload, NEW_SECRET), path)
        assert response.status_code == 200, response.text
        assert response.json()["result"] == "credited"
    assert running.service.balance(ACCOUNT).balance_cents == 1000


def test_both_secrets_verify_while_a_secret_is_rolled_and_the_log_says_which(
    running: Running,
) -> None:
    for secret, label in ((OLD_SECRET, "old"), (NEW_SECRET, "new")):
        evt = event("checkout.session.completed", checkout_session(ACCOUNT, 100))
        payload = body(evt)
        assert post(running, payload, sign(payload, secret)).status_code == 200
        assert running.service.event(evt["id"]).secret_label == label


TOLERANCE = 300
# Against the real clock a stale or early signature is a minute past the tolerance, so the
# time between signing and the server's check (seconds on a loaded machine) cannot carry
# it back inside; the edges to the second are tested below against a clock that stands still.
OUTSIDE = TOLERANCE + 60


@pytest.mark.parametrize(
    ("case", "make_signature"),
    [
        ("missing", lambda p: None),
        ("wrong secret", lambda p: sign(p, "whsec_wrong_" + "c" * 20)),
        ("tampered body", lambda p: sign(p.replace(b"500", b"900"), NEW_SECRET)),
        ("360 s old", lambda p: sign(p, NEW_SECRET, int(time.time()) - OUTSIDE)),
        ("360 s ahead", lambda p: sign(p, NEW_SECRET, int(time.time()) + OUTSIDE)),
        ("no v1", lambda p: f"t={int(time.time())},v0=abc"),
        ("garbage", lambda p: "nonsense"),
    ],
)
def test_a_bad_signature_is_400_and_changes_nothing(
    running: Running, case: str, make_signature
) -> None:  # type: ignore[no-untyped-def]
    assert running.service.settings.webhook_tolerance_seconds == TOLERANCE
    before = counts(running)
    payload = paid_event()
    response = post(running, payload, make_signature(payload))
    assert response.status_code == 400, case
    assert response.json()["error"]["code"] == "invalid_signature"
    assert counts(running) == before


@pytest.fixture
def clock() -> ManualClock:
    # Years from the real clock: only the service's own clock can make these cases pass.
    return ManualClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def still(settings: Settings, control: EmulatorControl, clock: ManualClock) -> Iterator[Running]:
    """The app on loopback over a service whose clock stands still until the test moves it."""
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield Running(url, service, control, http, endpoint_id="")
    service.close()


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-TOLERANCE - 1, 400), (-TOLERANCE, 200), (TOLERANCE, 200), (TOLERANCE + 1, 400)],
)
def test_the_signature_tolerance_is_300_seconds_either_way_to_the_second(
    still: Running, clock: ManualClock, offset: int, status: int
) -> None:
    before = counts(still)
    payload = paid_event()
    response = post(still, payload, sign(payload, NEW_SECRET, clock.timestamp() + offset))
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"] == {
            "code": "invalid_signature",
            "message": "Stripe-Signature timestamp is outside the tolerance window",
            "param": None,
            "request_id": response.headers["request-id"],
        }
        assert counts(still) == before
    else:
        assert response.json()["result"] == "credited"
        assert still.service.balance(ACCOUNT).balance_cents == 500


def test_a_signature_header_with_non_ascii_bytes_is_400(running: Running) -> None:
    before = counts(running)
    payload = paid_event()
    header = sign(payload, NEW_SECRET).encode() + b",v1=\xff\xfe"
    response = running.http.post(
        "/billing/webhook", content=payload, headers=[(b"Stripe-Signature", header)]
    )
    assert response.status_code == 400
    assert counts(running) == before


def test_a_signed_body_that_is_not_json_is_400_and_kept_as_a_failure(running: Running) -> None:
    before = counts(running)
    payload = b"this is not json"
    response = post(running, payload, sign(payload, NEW_SECRET))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert counts(running) == {**before, "webhook_events": before["webhook_events"] + 1}


def test_an_unknown_event_type_is_200_and_ignored(running: Running) -> None:
    evt = event("customer.created", {"id": "cus_123", "object": "customer"})
    payload = body(evt)
    response = post(running, payload, sign(payload, NEW_SECRET))
    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert running.service.event(evt["id"]).outcome == "ignored"


def test_a_body_over_one_mebibyte_is_413(running: Running) -> None:
    payload = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    response = post(running, payload, sign(payload, NEW_SECRET))
    assert response.status_code == 413
    assert counts(running)["webhook_events"] == 0


def test_an_unknown_account_other_currency_or_mode_is_kept_for_attention(running: Running) -> None:
    cases = [
        checkout_session("acct-nobody", 500),
        checkout_session(ACCOUNT, 500, currency="eur"),
        checkout_session(ACCOUNT, 500, livemode=True),
        checkout_session(None, 500),
    ]
    for obj in cases:
        payload = body(event("checkout.session.completed", obj, livemode=obj["livemode"]))
        response = post(running, payload, sign(payload, NEW_SECRET))
        assert response.status_code == 200
        assert response.json()["result"] == "attention"
    attention = running.service.payments(state="attention")
    assert len(attention) == 4
    assert running.service.balance(ACCOUNT).balance_cents == 0


def test_fifty_concurrent_deliveries_of_one_event_credit_once(running: Running) -> None:
    for round_number in range(3):
        payload = paid_event(100 + round_number)
        with ThreadPoolExecutor(max_workers=25) as pool:
            copies = [payload] * 50
            statuses = list(
                pool.map(lambda p: post(running, p, sign(p, NEW_SECRET)).status_code, copies)
            )
        assert statuses == [200] * 50
    assert counts(running)["ledger_entries"] == 3
    assert running.service.balance(ACCOUNT).balance_cents == 100 + 101 + 102


def test_one_payment_arriving_as_two_different_events_credits_once(running: Running) -> None:
    obj = checkout_session(ACCOUNT, 700)
    completed = body(event("checkout.session.completed", obj))
    succeeded = body(event("checkout.session.async_payment_succeeded", obj))
    with ThreadPoolExecutor(max_workers=20) as pool:
        payloads = [completed, succeeded] * 20
        statuses = list(
            pool.map(lambda p: post(running, p, sign(p, NEW_SECRET)).status_code, payloads)
        )
    assert set(statuses) == {200}
    assert counts(running)["ledger_entries"] == 1
    assert running.service.balance(ACCOUNT).balance_cents == 700


def _install_failing_trigger(running: Running) -> None:
    with running.service.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_ledger BEFORE INSERT ON ledger_entries "
                "BEGIN SELECT RAISE(FAIL, 'disk on fire'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION fail_ledger() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER fail_ledger BEFORE INSERT ON ledger_entries "
                "FOR EACH ROW EXECUTE FUNCTION fail_ledger()"
            )


def _drop_failing_trigger(running: Running) -> None:
    with running.service.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER fail_ledger")
        else:
            connection.exec_driver_sql("DROP TRIGGER fail_ledger ON ledger_entries")
            connection.exec_driver_sql("DROP FUNCTION fail_ledger()")


def test_a_failure_inside_processing_is_500_recorded_and_the_retry_succeeds(
    running: Running,
) -> None:
    evt = event("checkout.session.completed", checkout_session(ACCOUNT, 1200))
    payload = body(evt)
    _install_failing_trigger(running)
    try:
        response = post(running, payload, sign(payload, NEW_SECRET))
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "processing_failed"
        record = running.service.event(evt["id"])
        assert record.outcome == "failed"
        assert record.error is not None
        assert "disk on fire" in record.error
        assert counts(running)["ledger_entries"] == 0
        assert counts(running)["stripe_payments"] == 0  # nothing half-written
        assert running.service.balance(ACCOUNT).balance_cents == 0
    finally:
        _drop_failing_trigger(running)
    retry = post(running, payload, sign(payload, NEW_SECRET))
    assert retry.status_code == 200
    assert retry.json()["result"] == "credited"
    record = running.service.event(evt["id"])
    assert (record.outcome, record.error, record.attempts) == ("credited", None, 2)
    assert running.service.balance(ACCOUNT).balance_cents == 1200
