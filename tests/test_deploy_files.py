"""The deployment files, checked as far as a machine without a Docker engine can check them.

``Dockerfile`` and ``docker-compose.yml`` must parse, agree with each other and with the
README's "Deploying" section, and pass only variables stripetopup really reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
import yaml
from dockerfile_parse import DockerfileParser

from stripetopup.cli.main import app
from stripetopup.config import Settings

REPO = Path(__file__).resolve().parents[1]


def dockerfile() -> dict[str, list[str]]:
    """Each instruction of the Dockerfile and the values it was given, in order."""
    parsed = DockerfileParser(path=str(REPO / "Dockerfile"))
    found: dict[str, list[str]] = {}
    for item in parsed.structure:
        found.setdefault(item["instruction"], []).append(item["value"])
    return found


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def prose(section: str) -> str:
    """The section with its line breaks folded, for phrases that wrap."""
    return " ".join(section.split())


def table_rows(section: str, header: str) -> dict[str, str]:
    """The first-column names (in backticks) of the table under ``header``, and their rows."""
    rows: dict[str, str] = {}
    lines = section[section.index(header) :].splitlines()[2:]
    for line in lines:
        if not line.startswith("|"):
            break
        name = re.match(r"\| `([^`]+)` \|", line)
        assert name, line
        rows[name.group(1)] = line
    return rows


def image_command() -> list[str]:
    instructions = dockerfile()
    entrypoint = json.loads(instructions["ENTRYPOINT"][-1])
    cmd = json.loads(instructions["CMD"][-1])
    return [*entrypoint, *cmd]


def real_variables() -> set[str]:
    """Every variable stripetopup reads: the settings and the CLI options' envvars."""
    names = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names.add(alias if isinstance(alias, str) else f"STRIPETOPUP_{field.upper()}")

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str):
                names.add(envvar)
        for child in getattr(command, "commands", {}).values():
            walk(child)

    walk(typer.main.get_command(app))
    return names


def parses_as_cli(args: list[str]) -> None:
    """Let Click parse ``stripetopup ARGS`` without running it (unknown options raise)."""
    root: Any = typer.main.get_command(app)  # a Click group (typer may carry its own click)
    name, *rest = args
    command = root.get_command(root.make_context("stripetopup", [name]), name)
    assert command is not None, f"no command {name!r}"
    command.make_context(name, list(rest))


def test_the_dockerfile_parses_and_runs_the_command_the_readme_names() -> None:
    command = image_command()
    assert command == ["stripetopup", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert f"its command is `{' '.join(command)}`" in prose(readme_section("Deploying"))
    parses_as_cli(command[1:])


def test_the_production_steps_no_longer_promise_four_workers_in_the_image() -> None:
    steps = readme_section("Production setup")
    assert "--workers 4" not in steps
    assert "`stripetopup serve --host 0.0.0.0 --port 8000`" in prose(steps)


def test_the_image_exposes_its_port_and_keeps_the_sqlite_file_on_a_volume() -> None:
    instructions = dockerfile()
    assert instructions["EXPOSE"] == ["8000"]
    assert json.loads(instructions["VOLUME"][-1]) == ["/data"]
    assert "DATABASE_URL=sqlite:////data/stripetopup.db" in instructions["ENV"]
    assert "/healthz" in instructions["HEALTHCHECK"][-1]
    assert ":8000/" in instructions["HEALTHCHECK"][-1]
    section = prose(readme_section("Deploying"))
    assert "exposed port `8000`" in section
    assert "volume `/data` (`/data/stripetopup.db`" in section


def test_the_dockerfile_names_every_setting_required_at_run_time_and_only_real_ones() -> None:
    comments = " ".join(dockerfile()["COMMENT"])
    named = set(re.findall(r"\b(?:STRIPE|STRIPETOPUP|DATABASE|ALLOWED)_[A-Z_]+\b", comments))
    required = set(table_rows(readme_section("Deploying"), "| Variable |"))
    assert required <= named
    assert named <= real_variables()
    assert required <= real_variables()


def test_the_compose_services_are_the_ones_the_readme_lists() -> None:
    services = compose()["services"]
    described = table_rows(readme_section("Deploying"), "| Service |")
    assert set(services) == set(described) == {"db", "migrate", "app"}
    assert "`pgdata`" in described["db"]
    assert "`stripetopup db upgrade`" in described["migrate"]
    assert "`/healthz`" in described["app"]
    assert f"`{' '.join(image_command())}`" in described["app"]


def test_postgres_keeps_its_data_in_a_named_volume_and_reports_health() -> None:
    spec = compose()
    db = spec["services"]["db"]
    assert "pgdata" in spec["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_the_schema_is_upgraded_before_the_app_serves() -> None:
    services = compose()["services"]
    migrate, serving = services["migrate"], services["app"]
    assert migrate["command"] == ["db", "upgrade"]
    parses_as_cli(migrate["command"])
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert serving["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert migrate["image"] == serving["image"]
    assert migrate["environment"] == serving["environment"]


def test_the_app_serves_the_image_command_with_a_healthcheck_on_healthz() -> None:
    serving = compose()["services"]["app"]
    assert ["stripetopup", *serving["command"]] == image_command()
    assert serving["ports"] == ["8000:8000"]
    probe = " ".join(serving["healthcheck"]["test"])
    assert serving["healthcheck"]["test"][0] == "CMD"
    assert "http://127.0.0.1:8000/healthz" in probe


def test_every_variable_compose_passes_is_a_real_setting() -> None:
    services = compose()["services"]
    passed = set(services["app"]["environment"]) | set(services["migrate"]["environment"])
    assert passed - real_variables() == set()


def test_compose_refuses_to_start_without_the_required_settings() -> None:
    environment = compose()["services"]["app"]["environment"]
    required = set(table_rows(readme_section("Deploying"), "| Variable |")) - {"DATABASE_URL"}
    for name in required:
        assert environment[name] == f"${{{name}:?set {name} in .env}}"
    assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    assert environment["DATABASE_URL"].endswith("@db:5432/stripetopup")


@pytest.mark.parametrize("pattern", [".env", "*.db", ".venv/", ".git", "demo/"])
def test_the_build_context_leaves_out_secrets_and_local_state(pattern: str) -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert pattern in ignored
