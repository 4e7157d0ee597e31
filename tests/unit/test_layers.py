"""The layers import one way: cli -> simulation -> ledger -> projections -> domain; domain
is pure. The generator and the bench (simulation/) use the ledger; the ledger never uses
them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "projections", "ledger", "simulation", "cli")


def imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.extend((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_no_layer_imports_one_above_it(package: str) -> None:
    above = LAYERS[LAYERS.index(package) + 1 :]
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in imports(package)
        if name.split(".")[0] in above
    ]
    assert not wrong


def test_domain_imports_only_the_standard_library_and_eventsourcing_domain() -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"domain"}
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in imports("domain")
        if name.split(".")[0] not in allowed_roots and name != "eventsourcing.domain"
    ]
    assert not wrong


# --- no import cycles, and the library's internals in one module ---------------------

PACKAGES = ("domain", "projections", "ledger", "simulation", "cli", "web", "witness")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules a module imports, anywhere in it (inside functions and
    under TYPE_CHECKING too): `from a import b` names a.b if that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in names:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others() -> None:
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_a_cycle_is_found_where_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _private_names(paths: list[Path]) -> set[str]:
    """The private names (one leading underscore) paths define: functions and methods,
    classes, and attributes set on self."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


# Underscored, but the library's documented way for an aggregate class to create an
# aggregate with an event of its own (eventsourcing's domain docs).
DOCUMENTED = {"_create"}


def test_only_the_adapter_touches_the_library_s_private_internals() -> None:
    """Every private name of the library that the project does not define itself is
    reached only from ledger/library.py (which checks the library's version)."""
    import eventsourcing

    library = sorted(Path(eventsourcing.__file__).parent.rglob("*.py"))
    project = list(modules().values())
    theirs = _private_names(library) - _private_names(project) - DOCUMENTED
    reached = sorted(
        f"{path.relative_to(ROOT)} uses {node.attr}"
        for path in project
        if path.relative_to(ROOT) != Path("ledger/library.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in theirs
    )
    assert reached == []


def test_the_web_application_reads_through_the_facade_and_writes_through_commands() -> None:
    """web/ reaches no storage: no recorder, read models' runner, log store or SQL."""
    internals = ("ledger.recorder", "ledger.postgres", "ledger.read_models", "ledger.log",
                 "projections", "sqlite3", "psycopg")  # fmt: skip
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in imports("web")
        if name.startswith(internals)
    ]
    assert not wrong
