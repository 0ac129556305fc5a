"""Shared fixtures: real databases (SQLite and PostgreSQL), the emulator, the app on loopback.

Every test that takes ``database_url`` (directly or through ``service``) runs on both
databases. PostgreSQL is required when CI=true; elsewhere its tests skip with a loud reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.db import create_db_engine
from stripetopup.emulator import EmulatorControl, EmulatorServer
from stripetopup.web.app import create_app
from tests.support.clock import ManualClock
from tests.support.servers import serve_in_thread

PG_ADMIN_URL = os.environ.get(
    "STRIPETOPUP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
API_KEY = "sk_test_stripetopuptests0001"
OLD_SECRET = "whsec_old_" + "a" * 24
NEW_SECRET = "whsec_new_" + "b" * 24
ORIGIN = "https://app.example.com"
ACCOUNT = "acct-alice"


def pytest_configure(config: pytest.Config) -> None:
    os.environ["STRIPETOPUP_ENV_FILE"] = os.devnull


# Databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A database of this test process's own (xdist worker and pid), migrated once."""
    name = f"stripetopup_test_{worker_id}_{os.getpid()}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {type(exc.orig).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required when CI=true)")
        pytest.skip(f"!!! SKIPPING POSTGRESQL TESTS: {reason}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_db_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_db_engine(url)
    tables = ", ".join(
        f'"{t}"' for t in sa.inspect(engine).get_table_names() if t != "alembic_version"
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "stripetopup.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


# The emulator ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def _control_session(emulator: EmulatorServer) -> Iterator[EmulatorControl]:
    with EmulatorControl(emulator.url) as control:
        yield control


@pytest.fixture
def control(_control_session: EmulatorControl) -> EmulatorControl:
    """The emulator's control API, reset for this test."""
    _control_session.reset()
    return _control_session


# Settings, service and the app ------------------------------------------------------------


def make_settings(database_url: str, emulator_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "stripe_secret_key": SecretStr(API_KEY),
        "stripe_webhook_secret": SecretStr(f"old:{OLD_SECRET},new:{NEW_SECRET}"),
        "stripe_api_base": emulator_url,
        "database_url": database_url,
        "allowed_frontend_origins": [ORIGIN],
        "stripe_max_network_retries": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for subprocesses."""
    assert settings.stripe_secret_key
    assert settings.stripe_webhook_secret
    return {
        "STRIPE_SECRET_KEY": settings.stripe_secret_key.get_secret_value(),
        "STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret.get_secret_value(),
        "STRIPE_API_BASE": settings.stripe_api_base or "",
        "DATABASE_URL": settings.database_url,
        "ALLOWED_FRONTEND_ORIGINS": ",".join(settings.allowed_frontend_origins),
        "STRIPETOPUP_STRIPE_MAX_NETWORK_RETRIES": str(settings.stripe_max_network_retries),
    }


@pytest.fixture
def settings(database_url: str, emulator: EmulatorServer) -> Settings:
    return make_settings(database_url, emulator.url)


@pytest.fixture
def service(settings: Settings) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    yield service
    service.close()


@dataclass
class Running:
    """The app on loopback, wired to the emulator's webhook delivery."""

    url: str
    service: TopUpService
    control: EmulatorControl
    http: httpx.Client
    endpoint_id: str

    def user_token(self, account_id: str = ACCOUNT) -> str:
        return self.service.create_token(account_id)[1]


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand; a module may override it (another start)."""
    return ManualClock()


@pytest.fixture
def clocked(settings: Settings, clock: ManualClock) -> Iterator[TopUpService]:
    """A service on ``clock`` with ACCOUNT open (a module may override it, e.g. funded)."""
    service = TopUpService.from_settings(settings, clock=clock)
    service.open_account(ACCOUNT)
    yield service
    service.close()


@pytest.fixture
def running(service: TopUpService, control: EmulatorControl) -> Iterator[Running]:
    app = create_app(service)
    with (
        serve_in_thread(app) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        endpoint = control.add_webhook_endpoint(url + "/billing/webhook", secrets=[NEW_SECRET])
        yield Running(url, service, control, http, str(endpoint["id"]))
        control.wait_idle(timeout=30)
    app.state.webhook_writer.stop()  # as serve's lifespan does: nothing left for later
