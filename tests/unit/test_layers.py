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
