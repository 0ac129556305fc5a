"""The first run, as a newcomer makes it: `cp .env.example .env` works, commands that need no
Stripe key run without one, doctor reports bad settings as failed checks, and a checkout
refused before it touches the database leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from stripetopup.emulator import EmulatorServer
from tests.conftest import API_KEY, ORIGIN
from tests.support.servers import REPO, cli_env, free_port

UNSET = (
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "ALLOWED_FRONTEND_ORIGINS",
)
NO_ORIGINS = (
    "Error: ALLOWED_FRONTEND_ORIGINS is not set: checkout builds its success/cancel URLs from it "
    "(set it, e.g. ALLOWED_FRONTEND_ORIGINS=https://app.example.com)\n"
)
NO_KEY = (
    "Error: STRIPE_SECRET_KEY is not set: this command calls Stripe "
    "(set an sk_ or rk_ key in .env or the environment)\n"
)


@pytest.fixture
def first_run(tmp_path: Path) -> Path:
    """A fresh directory with .env.example copied to .env, as the README says."""
    directory = tmp_path / "first-run"
    directory.mkdir()
    shutil.copy(REPO / ".env.example", directory / ".env")
    return directory


def url_for(database_url: str, first_run: Path) -> str:
    """SQLite: a file that does not exist yet; PostgreSQL: the test's own database."""
    return (
        f"sqlite:///{first_run / 'stripetopup.db'}"
        if database_url.startswith("sqlite")
        else (database_url)
    )


def invoke(first_run: Path, database_url: str, *args: str, **env: str) -> Result:
    from stripetopup.cli.main import app

    values: dict[str, str | None] = dict.fromkeys(UNSET)
    values |= {"STRIPETOPUP_ENV_FILE": str(first_run / ".env"), "DATABASE_URL": database_url}
    values |= env
    return CliRunner().invoke(app, list(args), env=values)


def rows(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar())
    finally:
        engine.dispose()


def test_the_env_example_works_as_copied_in_a_fresh_directory(first_run: Path) -> None:
    env = {k: v for k, v in cli_env({}).items() if k not in (*UNSET, "STRIPETOPUP_ENV_FILE")}
    result = subprocess.run(
        [sys.executable, "-m", "stripetopup", "accounts", "list", "--json"],
        env=env,
        cwd=first_run,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
    assert (first_run / "stripetopup.db").exists()  # .env's DATABASE_URL, created on first use


def test_commands_that_do_not_call_stripe_run_with_a_bad_key(
    first_run: Path, database_url: str
) -> None:
    url = url_for(database_url, first_run)
    bad = {"STRIPE_SECRET_KEY": "pk_live_not_a_secret_key"}
    listed = invoke(first_run, url, "accounts", "list", "--json", **bad)
    assert (listed.exit_code, listed.stdout) == (0, "[]\n")
    refused = invoke(first_run, url, "replay", "evt_123", **bad)
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == (
        "Error: invalid configuration: STRIPE_SECRET_KEY: "
        "must be an sk_test_, sk_live_, rk_test_ or rk_live_ key\n"
    )


def test_doctor_with_the_copied_env_example_checks_everything_and_fails_on_the_key(
    first_run: Path, database_url: str
) -> None:
    url = url_for(database_url, first_run)
    webhook = f"http://127.0.0.1:{free_port()}/billing/webhook"
    result = invoke(first_run, url, "doctor", "--url", webhook, "--json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert (checks["stripe key"]["status"], checks["stripe key"]["message"]) == (
        "fail",
        "STRIPE_SECRET_KEY is not set",
    )
    assert checks["webhook secrets"]["status"] == "fail"
    assert checks["database"]["status"] == "ok"
    human = invoke(first_run, url, "doctor", "--url", webhook)
    assert human.exit_code == 1
    if url.startswith("sqlite"):  # nothing to check in a file not created yet, nor created
        assert checks["database"]["message"] == (
            f"SQLite file {first_run / 'stripetopup.db'} does not exist yet: created on first use"
        )
        assert not (first_run / "stripetopup.db").exists()
        assert human.stdout.splitlines()[-1] == "doctor: 2 ok, 1 warn, 3 fail"
    else:
        assert human.stdout.splitlines()[-1] == "doctor: 5 ok, 1 warn, 3 fail"


def test_a_checkout_refused_before_the_database_creates_nothing(
    first_run: Path, database_url: str, emulator: EmulatorServer
) -> None:
    url = url_for(database_url, first_run)
    checkout = ("checkout", "--amount", "5", "--user", "acct-first")
    no_origins = invoke(first_run, url, *checkout)
    assert (no_origins.exit_code, no_origins.stdout, no_origins.stderr) == (2, "", NO_ORIGINS)
    no_key = invoke(first_run, url, *checkout, ALLOWED_FRONTEND_ORIGINS=ORIGIN)
    assert (no_key.exit_code, no_key.stdout, no_key.stderr) == (2, "", NO_KEY)
    ready = {
        "ALLOWED_FRONTEND_ORIGINS": ORIGIN,
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": emulator.url,
    }
    small = invoke(first_run, url, "checkout", "--amount", "0.10", "--user", "acct-first", **ready)
    assert (small.exit_code, small.stderr) == (
        2,
        "Error: amount must be at least 0.50 (got 0.10)\n",
    )
    odd = invoke(first_run, url, "checkout", "--amount", "5.001", "--user", "acct-first", **ready)
    assert odd.exit_code == 2
    if url.startswith("sqlite"):
        assert not (first_run / "stripetopup.db").exists()
    else:
        assert rows(url, "stripe_payments") == 0
        assert rows(url, "accounts") == 0


def test_an_empty_value_in_the_env_file_means_not_set(tmp_path: Path) -> None:
    from stripetopup.config import load_settings

    env_file = tmp_path / ".env"
    env_file.write_text(
        "STRIPE_SECRET_KEY=\nSTRIPE_WEBHOOK_SECRET=\nSTRIPETOPUP_JWT_SECRET=\n"
        "STRIPETOPUP_JWT_AUDIENCE=\n"
    )
    settings = load_settings(_env_file=str(env_file))
    assert settings.problems == {}
    assert (settings.stripe_secret_key, settings.stripe_webhook_secret) == (None, None)
    # An empty JWT secret must not switch JWT sign-in on (anyone could sign with it).
    assert (settings.jwt_secret, settings.jwt_audience) == (None, None)
