"""The package's layering and its import graph, checked by parsing every module's imports.

Top may import bottom, never the reverse (the emulator is a leaf of its own):

cli, web  ->  core  ->  store, stripe gateway, signature, emulator  ->  models, errors, config

No module may reach itself again through the modules it imports (an import cycle), at
import time or through an import deferred into a function; and the CLI declares every
option and argument in one style, Typer's ``Annotated``.
"""

from __future__ import annotations

import ast
import graphlib
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
    # The engine and the column types, on sqlalchemy core alone (the quick read commands).
    "engines": {"core", "store", "web", "cli", "db", "stripe_gateway", "emulator", "models"},
    "columns": {
        "core",
        "store",
        "web",
        "cli",
        "db",
        "engines",
        "stripe_gateway",
        "emulator",
        "models",
        "config",
    },
    # The reads on the driver itself and the leaves they share with the engine path.
    "driver_reads": {"core", "store", "web", "cli", "db", "engines", "schema", "models"},
    "database_errors": {"core", "store", "web", "cli", "db", "engines", "models", "config"},
    "schema_head": {"core", "store", "web", "cli", "db", "engines", "models", "config"},
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
    "jinja2": {"web"},
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


# Import cycles -----------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(body: list[ast.stmt], *, deferred: bool) -> list[ast.Import | ast.ImportFrom]:
    """The imports that run: at import time, and with ``deferred`` those inside functions
    too; never those under ``if TYPE_CHECKING:``, which the type checker alone reads."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            found.extend(_imports_of(node.orelse, deferred=deferred))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if deferred:
                found.extend(_imports_of(node.body, deferred=deferred))  # type: ignore[arg-type]
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    found.extend(_imports_of([child], deferred=deferred))
                elif isinstance(child, ast.excepthandler):
                    found.extend(_imports_of(child.body, deferred=deferred))
    return found


def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (``from pkg import mod`` is an edge to mod)."""
    paths = {module_name(p): p for p in modules()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports_of(ast.parse(path.read_text()).body, deferred=deferred):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..a import b
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (``a, b, a``), or ``[]`` when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_the_cycle_finder_finds_a_cycle_and_its_path() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert sorted(set(cycle_in({"a": {"b"}, "b": {"a"}, "c": {"a"}}))) == ["a", "b"]


def test_the_import_graph_sees_deferred_and_relative_imports_but_not_type_checking_ones() -> None:
    eager, deferred = import_graph(deferred=False), import_graph(deferred=True)
    # __init__'s re-export, made on first use (a room's module loads without the service)
    assert "stripetopup.core.service" not in eager["stripetopup.core"]
    assert "stripetopup.core.service" in deferred["stripetopup.core"]
    assert "stripetopup.cli.context" in eager["stripetopup.cli.main"]  # from pkg import mod
    assert "stripetopup.core" not in eager["stripetopup.cli.context"]  # TYPE_CHECKING only
    assert "stripetopup.core" in deferred["stripetopup.cli.context"]  # inside service()


def test_no_module_imports_itself_back_at_import_time() -> None:
    assert cycle_in(import_graph(deferred=False)) == []


def test_no_import_cycle_hides_behind_an_import_deferred_into_a_function() -> None:
    assert cycle_in(import_graph(deferred=True)) == []


def test_nothing_points_at_notes_outside_the_repository() -> None:
    """A newcomer who clones the repository can read whatever the code refers to."""
    outside = ("DESIGN" + ".md", "STYLE" + ".md", "../" + "shared")
    repository = PACKAGE.parent
    texts = [*modules(), repository / "README.md", *sorted((repository / "docs").glob("*.md"))]
    pointing = [
        str(path.relative_to(repository))
        for path in texts
        if any(name in path.read_text() for name in outside)
    ]
    assert pointing == []


# One CLI style -----------------------------------------------------------------------------
def _typer_declarations(tree: ast.Module) -> set[str]:
    """Module-level names bound to ``typer.Option(...)``/``typer.Argument(...)`` themselves
    (not inside ``Annotated[...]``): the old default-value style's shared options."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_typer_parameter(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _is_typer_parameter(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"Option", "Argument"}
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "typer"
    )


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE / "cli").rglob("*.py")),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_cli_parameters_are_declared_with_annotated_not_as_defaults(path: Path) -> None:
    tree = ast.parse(path.read_text())
    shared = _typer_declarations(tree)
    old_style = [
        f"{node.name}() line {default.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for default in [*node.args.defaults, *node.args.kw_defaults]
        if _is_typer_parameter(default) or (isinstance(default, ast.Name) and default.id in shared)
    ]
    assert old_style == []
    assert shared == set()


def test_the_json_option_is_declared_once() -> None:
    declared = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / "cli").rglob("*.py"))
        if '"--json"' in path.read_text()
    ]
    assert declared == ["cli/options.py"]


# The rooms of stripetopup/core/ (docs/architecture.md): which room may import which. The flat
# shared modules (context.py; answers.py, the answers' base) serve every room; service.py
# composes the rooms and is imported only by core/__init__.py, the doors and host applications.
CORE = PACKAGE / "core"
ROOM_MAY_IMPORT = {
    "outbound": set(),
    "ledger": {"outbound"},
    "auth": {"ledger"},
    "spending": {"ledger", "outbound"},
    # events: fulfilment on landing credits through the one exactly-once credit path.
    "checkout": {"events", "ledger", "recharge", "spending"},
    # recharge: a paid session records the card it saved; Stripe's card events end one.
    "events": {"ledger", "outbound", "recharge"},
    "payments": {"events", "ledger"},
    # recharge: a missing auto-recharge credit is fixed through the worker's settle path.
    "reconcile": {"events", "ledger", "recharge"},
    "doctor": {"events", "ledger"},
    "grants": {"ledger", "outbound", "spending"},
    # recharge never imports checkout (checkout imports it): the service hands the worker
    # the checkout room's maker of a requires_action attempt's Checkout link.
    "recharge": {"ledger", "outbound"},
}
SHARED = {"context", "answers"}
FLAT = {"service": set(ROOM_MAY_IMPORT)}


def room_of(path: Path) -> str:
    relative = path.relative_to(CORE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def core_parts_imported(path: Path) -> set[str]:
    """The rooms and flat modules of core/ that a module imports (``from stripetopup.core
    import x`` counts as x)."""
    parts: set[str] = set()
    for name in imported(path):
        pieces = name.split(".")
        if pieces[:2] == ["stripetopup", "core"] and len(pieces) > 2:
            parts.add(pieces[2])
    return parts


def test_every_room_is_in_the_rule_and_has_a_docstring_saying_what_it_may_import() -> None:
    rooms = {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert rooms == set(ROOM_MAY_IMPORT)
    for room in rooms:
        docstring = ast.get_docstring(ast.parse((CORE / room / "__init__.py").read_text()))
        assert docstring is not None, room
        assert "May " in docstring, room


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CORE.rglob("*.py") if p.name != "__init__.py" or p.parent != CORE),
    ids=lambda p: str(p.relative_to(CORE)),
)
def test_core_module_imports_only_the_rooms_its_room_may_import(path: Path) -> None:
    room = room_of(path)
    allowed = ROOM_MAY_IMPORT.get(room, FLAT.get(room, set())) | {room} | SHARED
    wrong = core_parts_imported(path) - allowed
    assert not wrong, f"core/{path.relative_to(CORE)} ({room}) imports {sorted(wrong)}"


def test_nothing_in_core_imports_the_service_but_the_package_itself() -> None:
    importers = sorted(
        str(p.relative_to(CORE))
        for p in CORE.rglob("*.py")
        if p != CORE / "__init__.py" and {"service", "TopUpService"} & core_parts_imported(p)
    )
    assert importers == []


def test_the_rooms_import_each_other_without_a_cycle() -> None:
    done: set[str] = set()

    def visit(room: str, trail: tuple[str, ...]) -> None:
        assert room not in trail, f"room cycle: {' -> '.join((*trail, room))}"
        if room not in done:
            for other in ROOM_MAY_IMPORT[room]:
                visit(other, (*trail, room))
            done.add(room)

    for room in ROOM_MAY_IMPORT:
        visit(room, ())
