"""The README documents every command, and .env.example every setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from stripetopup.cli.main import app
from stripetopup.config import Settings

REPO = Path(__file__).resolve().parents[1]


def command_paths(group: Any, prefix: str = "stripetopup") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        paths.append(f"{prefix} {name}")
        if hasattr(command, "commands"):  # a group (typer may carry its own click)
            paths.extend(command_paths(command, f"{prefix} {name}"))
    return paths


def test_every_command_appears_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    root = typer.main.get_command(app)
    missing = []
    for path in command_paths(root):
        *group, name = path.split(" ")
        # "stripetopup tokens create" may be written as "tokens create" or "`create`" in a row
        if path not in readme and not re.search(rf"{' '.join(group[1:])}.*\b{name}\b", readme):
            missing.append(path)
    assert missing == []


def test_the_readme_opens_with_make_demo_and_make_test() -> None:
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == [
        "make demo",
        "make test",
    ]


def test_every_setting_is_in_the_env_example() -> None:
    example = (REPO / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        variable = (
            field.validation_alias
            if isinstance(field.validation_alias, str)
            else f"STRIPETOPUP_{name.upper()}"
        )
        assert re.search(rf"^#? ?{variable}=", example, re.MULTILINE), variable


def test_the_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text()
    example = readme.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # the example's sqlite:///./stripetopup.db lands here
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    service = namespace["service"]
    assert service.balance("acct-42").balance_cents == 1000 - 150 - 320
    service.close()
