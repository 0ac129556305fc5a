"""Secrets (sk_/rk_ keys, whsec_ secrets, bearer tokens) never reach logs, output or errors."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from stripetopup.errors import StripeUnavailable
from stripetopup.redact import redact
from tests.conftest import (
    ACCOUNT,
    API_KEY,
    NEW_SECRET,
    OLD_SECRET,
    ORIGIN,
    Running,
    make_settings,
    settings_env,
)
from tests.support.stripe_events import body, checkout_session, event, sign


def assert_no_secrets(text: str, *extra: str) -> None:
    for secret in (API_KEY, OLD_SECRET, NEW_SECRET, *extra):
        assert secret not in text
        assert secret[8:] not in text  # not even the random part


def test_webhook_errors_and_logs_carry_no_secret(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = running.user_token()
    payload = body(event("checkout.session.completed", checkout_session(ACCOUNT)))
    bodies = [
        running.http.post(
            "/billing/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload, "whsec_wrong_" + "z" * 20)},
        ).text,
        running.http.post(
            "/billing/webhook",
            content=payload,
            headers={"Stripe-Signature": "t=1,v1=" + NEW_SECRET},
        ).text,
        running.http.post(
            "/billing/checkout-session",
            json={"amount_cents": 1},
            headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
        ).text,
        running.http.post(
            "/billing/checkout-session",
            json={"amount_cents": 500},
            headers={"Authorization": f"Bearer {token}x", "Origin": ORIGIN},
        ).text,
    ]
    assert_no_secrets("\n".join(bodies) + caplog.text, token)


def test_a_stripe_authentication_error_names_no_key(
    database_url: str, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(
        database_url,
        emulator.url,
        stripe_secret_key=SecretStr("sk_live_" + "q" * 24),
        stripe_api_base=None,
    )
    # A live key may not go to the emulator, so point it at Stripe's real address: on this
    # offline machine the connection fails, and the message must still not carry the key.
    service = TopUpService.from_settings(
        settings.model_copy(update={"stripe_max_network_retries": 0, "stripe_timeout_seconds": 2})
    )
    service.open_account(ACCOUNT)
    with pytest.raises(StripeUnavailable) as raised:
        service.create_checkout(ACCOUNT, 500, origin=ORIGIN)
    service.close()
    assert "q" * 16 not in raised.value.message + caplog.text


def test_the_cli_never_prints_a_configured_secret(
    settings: Settings, service: TopUpService
) -> None:
    env = settings_env(settings)
    runner = CliRunner()
    outputs = [
        runner.invoke(app, ["balance", "nobody"], env=env),
        runner.invoke(app, ["credit", ACCOUNT, "--amount", "x", "--reason", "r"], env=env),
        runner.invoke(
            app,
            ["balance", ACCOUNT],
            env={**env, "STRIPE_WEBHOOK_SECRET": "not-a-whsec-" + NEW_SECRET},
        ),
        runner.invoke(app, ["balance", ACCOUNT], env={**env, "STRIPE_SECRET_KEY": API_KEY + "!"}),
    ]
    assert_no_secrets("\n".join(r.stdout + r.stderr for r in outputs))


def test_settings_hide_secrets_in_their_repr(settings: Settings) -> None:
    assert_no_secrets(repr(settings) + str(settings))


def test_redact_masks_keys_secrets_tokens_and_jwts() -> None:
    jwt = "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    text = f"key {API_KEY} secret {NEW_SECRET} token stu_abcdEFGH1234 jwt {jwt}"
    cleaned = redact(text)
    assert_no_secrets(cleaned, "stu_abcdEFGH1234", "c2lnbmF0dXJl")
    assert "sk_test_[redacted]" in cleaned


STRIPE_LIVE_KEY = "sk_live_" + "51Hx9aZ" * 5  # letters and digits only, as Stripe's are


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("evt_stu_abcdEFGH1234", "evt_stu_[redacted]"),
        ("evt_stk_abcd-EF_GH12", "evt_stk_[redacted]"),
        (f"id_{API_KEY}", "id_sk_test_[redacted]"),
        (f"x-{API_KEY}.", "x-sk_test_[redacted]."),
        (f"key={NEW_SECRET}", "key=whsec_[redacted]"),
        (f"cs_test_a1{NEW_SECRET}", "cs_test_a1whsec_[redacted]"),
        ("Bearerstu_abcdEFGH1234", "Bearerstu_[redacted]"),
        (f"acct{STRIPE_LIVE_KEY}", "acctsk_live_[redacted]"),
        ("2rk_test_" + "Ab1" * 8, "2rk_test_[redacted]"),
        ("token_eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "token_[redacted-jwt]"),
    ],
)
def test_redact_masks_a_secret_glued_to_the_word_before_it(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "evt_1NG8Du2eZvKYlo2CUI4p6A4p",
        "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ",
        "pi_3NxYz2eZvKYlo2C1a2b3c4d5",
        "hold_0123456789abcdef01234567",
        "evt_doctor_0123456789abcdef01234567",
        "pk_test_TYooMQauvdEDq54NiTphI7jx",
        "task_test_refund_path",
        "network_live_feed_2024",
        "desk_test_room",
        "acct-alice",
        "sk_test_ and stu_ alone",
        "task_test_refunds_for_the_checkout_path_and_the_webhook",
    ],
)
def test_redact_leaves_ordinary_ids_and_words_alone(text: str) -> None:
    assert redact(text) == text
