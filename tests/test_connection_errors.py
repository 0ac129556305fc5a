"""When Stripe or the database cannot be reached, the operator reads one short line: where
we tried (never a credential), the cause in a few words, and what to check."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from stripetopup.cli.main import app
from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.stripe_gateway import connection_cause
from tests.conftest import ACCOUNT, settings_env
from tests.support.servers import free_port

# What the SDK said for a refused connection before: one 300-character line of urllib3.
URLLIB3_REFUSED = (
    "Unexpected error communicating with Stripe. If this problem persists, let us know at "
    "support@stripe.com. (Network error: ConnectionError: HTTPConnectionPool(host='127.0.0.1', "
    "port=1): Max retries exceeded with url: /v1/checkout/sessions (Caused by NewConnection"
    "Error(\"HTTPConnection(host='127.0.0.1', port=1): Failed to establish a new connection: "
    '[Errno 111] Connection refused")))'
)


def invoke(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env=env)


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def payment_rows(service: TopUpService) -> int:
    with service.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM stripe_payments")).scalar())


def test_stripe_refusing_the_connection_is_one_line_naming_the_host(
    settings: Settings, service: TopUpService
) -> None:
    port = free_port()
    env = {**settings_env(settings), "STRIPE_API_BASE": f"http://127.0.0.1:{port}"}
    result = invoke(env, "checkout", "--amount", "5", "--user", ACCOUNT)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: could not reach Stripe at 127.0.0.1:{port}: "
        "connection refused (is anything listening there?)\n"
    )
    assert payment_rows(service) == 0


def test_stripe_not_answering_is_one_line_saying_it_timed_out(
    settings: Settings, service: TopUpService
) -> None:
    with silent_server() as port:
        env = {
            **settings_env(settings),
            "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
            "STRIPETOPUP_STRIPE_TIMEOUT_SECONDS": "0.5",
        }
        result = invoke(env, "checkout", "--amount", "5", "--user", ACCOUNT)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: could not reach Stripe at 127.0.0.1:{port}: "
        "timed out (check the network or a firewall)\n"
    )
    assert payment_rows(service) == 0


def test_the_urllib3_message_becomes_a_few_words() -> None:
    assert connection_cause(URLLIB3_REFUSED) == "connection refused (is anything listening there?)"
    resolve = URLLIB3_REFUSED.replace(
        "[Errno 111] Connection refused", "Failed to resolve 'nowhere.invalid'"
    )
    assert connection_cause(resolve) == "host name not found (check the host name and DNS)"
    assert connection_cause("Network error: ProtocolError: x") == "ProtocolError"


def test_an_unreachable_postgres_names_host_port_and_database_but_no_credentials() -> None:
    port = free_port()
    url = f"postgresql://bob:sekrit@127.0.0.1:{port}/ledger?connect_timeout=5"
    result = invoke({"DATABASE_URL": url}, "accounts", "list")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: database unreachable at PostgreSQL 127.0.0.1:{port}/ledger: Connection refused; "
        "check DATABASE_URL and that PostgreSQL is running there and accepts connections\n"
    )
    assert "sekrit" not in result.stderr
    assert "bob" not in result.stderr


def test_an_sqlite_file_that_cannot_be_opened_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "stripetopup.db"
    result = invoke({"DATABASE_URL": f"sqlite:///{path}"}, "accounts", "list")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: database unreachable at SQLite file {path}: unable to open database file; "
        "check DATABASE_URL (a SQLite file, in a directory that exists and is writable)\n"
    )
