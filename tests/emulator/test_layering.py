"""The emulator is a leaf: stdlib, starlette, uvicorn, httpx and itself only; cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import stripetopup.emulator

ALLOWED = {"starlette", "uvicorn", "httpx", "pydantic", "fastapi"}
PACKAGE = Path(stripetopup.emulator.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module)
    return roots


def test_emulator_modules_import_only_the_stdlib_web_libraries_and_themselves() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for name in imported_roots(path):
            top = name.split(".")[0]
            inside = name.startswith("stripetopup.emulator")
            ok = inside or top in ALLOWED or top in sys.stdlib_module_names
            assert ok, f"{path.name} imports {name}"


def test_emulator_modules_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name


def test_importing_the_package_loads_no_web_framework() -> None:
    code = "import sys, stripetopup.emulator; print('starlette' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
