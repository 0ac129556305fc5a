"""One reason limit, on both databases: a reason of ``MAX_REASON_LENGTH`` characters is kept
whole, one more is refused at every door (CLI credit and payments dismiss with the core's
line, the spend API with a 400 in the one error shape), and nothing changes.
"""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.models import MAX_REASON_LENGTH
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, settings_env
from tests.support.ledger import entries
from tests.support.servers import serve_in_thread

LONGEST = "r" * MAX_REASON_LENGTH
TOO_LONG = LONGEST + "r"


@pytest.fixture
def cli(settings: Settings, service: TopUpService):  # type: ignore[no-untyped-def]
    env = settings_env(settings)
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def test_the_reason_limit_is_five_hundred_characters() -> None:
    assert MAX_REASON_LENGTH == 500


def test_a_credit_keeps_a_reason_of_the_limit_and_refuses_one_more_character(
    cli, service: TopUpService
) -> None:  # type: ignore[no-untyped-def]
    refused = cli("credit", ACCOUNT, "--amount", "1", "--reason", TOO_LONG)
    assert refused.exit_code == 2
    assert refused.stderr == f"Error: reason is longer than {MAX_REASON_LENGTH} characters\n"
    assert entries(service, ACCOUNT) == []
    kept = cli("credit", ACCOUNT, "--amount", "1", "--reason", LONGEST)
    assert kept.exit_code == 0, kept.stderr
    [entry] = service.ledger(ACCOUNT)
    assert entry.reason == LONGEST


def test_payments_dismiss_refuses_a_reason_past_the_limit_before_looking_the_payment_up(
    cli,
) -> None:  # type: ignore[no-untyped-def]
    refused = cli("payments", "dismiss", "cs_test_nothing", "--reason", TOO_LONG)
    assert refused.exit_code == 2
    assert refused.stderr == f"Error: reason is longer than {MAX_REASON_LENGTH} characters\n"


def test_the_spend_api_refuses_a_reason_past_the_limit_and_debits_nothing(
    service: TopUpService,
) -> None:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    _, key = service.create_service_key("billing-worker")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k"}
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, headers=headers, timeout=60) as http,
    ):
        path = f"/api/v1/accounts/{ACCOUNT}/debits"
        refused = http.post(path, json={"amount_cents": 100, "reason": TOO_LONG})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_request", "reason")
        assert error["message"] == f"String should have at most {MAX_REASON_LENGTH} characters"
        assert service.balance(ACCOUNT).balance_cents == 5000
        kept = http.post(path, json={"amount_cents": 100, "reason": LONGEST})
        assert kept.status_code == 201, kept.text
    assert service.ledger(ACCOUNT, limit=1)[0].reason == LONGEST
