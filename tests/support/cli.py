"""The CLI in-process (typer's CliRunner) against a test's settings: exit code, stdout, stderr."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from typer.testing import CliRunner, Result

from stripetopup.cli.main import app
from stripetopup.config import Settings
from tests.conftest import settings_env

Invoke = Callable[..., Result]


def invoker(settings: Settings, extra_env: Mapping[str, str] | None = None) -> Invoke:
    """``invoke("balance", "acct-1")`` runs ``stripetopup balance acct-1`` with ``settings``."""
    runner = CliRunner()
    env = {**settings_env(settings), **(extra_env or {})}

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke
