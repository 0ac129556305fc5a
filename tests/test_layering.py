"""The layering in STYLE.md, checked by parsing every module's imports.

cli, web  ->  core  ->  store, stripe gateway, signature, emulator  ->  models, errors, config
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stripetopup"

# For each part: the stripetopup parts it must never import.
FORBIDDEN = {
    "errors": {
        "core",
        "store",
        "web",
        "cli",
        "db",
        "stripe_gateway",
        "emulator",
        "models",
        "config",
    },
    "money": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator"},
    "json_input": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "models"},
    "ids": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "models", "config"},
    "dates": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator"},
    "redact": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "config"},
    "config": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "models"},
    "models": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "config"},
    "db": {"core", "store", "web", "cli", "stripe_gateway", "emulator"},
    "signature": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator"},
    "stripe_gateway": {"core", "store", "web", "cli", "db", "emulator"},
    "store": {"core", "web", "cli", "stripe_gateway", "emulator"},
    "core": {"web", "cli", "emulator"},
    "web": {"cli", "emulator"},
    "metrics": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "config"},
    "metrics_dir": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "metrics"},
    "stripe_objects": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "models"},
}
# Third-party libraries that belong to one door or adapter only.
OWNERS = {
    "stripe": {"stripe_gateway"},
    "typer": {"cli"},
    "rich": {"cli"},
    "fastapi": {"web"},
    "prometheus_client": {"metrics"},
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    return relative.parts[0]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_the_layers(path: Path) -> None:
    part = part_of(path)
    ours = {
        n.split(".")[1]
        for n in imported(path)
        if n.startswith("stripetopup.") and n.count(".") >= 1
    }
    forbidden = FORBIDDEN.get(part, set())
    if part == "emulator":  # a leaf part of its own: nothing else of ours
        forbidden = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()} - {
            "emulator",
            "__init__",
        }
    assert not (ours & forbidden), f"{part} imports {sorted(ours & forbidden)}"
    third_party = {n.split(".")[0] for n in imported(path)}
    for library, owners in OWNERS.items():
        if library in third_party:
            assert part in owners, f"{path.name} ({part}) imports {library}"


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(p.relative_to(PACKAGE))
        for p in modules()
        if p.name != "__main__.py" and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert missing == []


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """`stripetopup --help` must stay fast: stripe, fastapi, sqlalchemy and friends are
    imported by the commands that need them, not at startup."""
    import subprocess
    import sys

    probe = (
        "import sys; from stripetopup.cli.main import app; "
        "print(' '.join(m for m in ('stripe', 'fastapi', 'sqlalchemy', 'sqlmodel', 'pydantic', "
        "'rich', 'uvicorn', 'httpx', 'alembic', 'starlette') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
