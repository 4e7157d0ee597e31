"""The auditor's side of the log (ledger/log/audit.py) needs no storage: neither its
own imports nor those of the project's modules it reaches name a recorder, a
database driver, the library's persistence or the log's store, and a process that
checks a bundle with it never loads any of them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgpack

from domain.ids import household_id
from ledger import merkle
from ledger.checkpoint import Checkpoint, StoredCheckpoint, generate_key, parse_signer, sign_note
from ledger.log import smt
from ledger.log.audit import (
    HouseholdProof,
    ProvenEvent,
    ProvenLeaf,
    ProvenRecord,
    bundle,
    leaf_bytes,
)
from ledger.log.record import LOG_RECORD_ID, MAP_HEAD, MapHead, map_head_state

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("domain", "projections", "ledger", "cli", "web")
STORAGE = (
    "sqlite3",
    "psycopg",
    "eventsourcing.persistence",
    "eventsourcing.sqlite",
    "eventsourcing.postgres",
    "ledger.recorder",
    "ledger.postgres",
    "ledger.store",
    "ledger.log.store",
)


def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(name: str, path: Path) -> set[str]:
    """Every module the file imports, wherever in the file (in functions, and under
    TYPE_CHECKING too), and for `from X import y` also X.y in case y is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def reached(start: str) -> set[str]:
    """The modules a module imports, following the project's own modules (and the
    packages that hold them) transitively; modules outside the project are listed
    but not followed."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        path = _module_path(name) if parts[0] in PROJECT else None
        if path is not None:
            todo.extend(_imports(name, path) - seen)
    return {name for name in seen if parts_known(name)}


def parts_known(name: str) -> bool:
    """A module outside the project, or one of its modules that exists (not `from
    ledger.checkpoint import Verifier` read as a module ledger.checkpoint.Verifier)."""
    return name.split(".")[0] not in PROJECT or _module_path(name) is not None


def storage_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == s or m.startswith(s + ".") for s in STORAGE))


def test_the_auditors_module_reaches_no_storage_through_its_imports() -> None:
    modules = reached("ledger.log.audit")
    # What it does need is found, so the walk follows imports at all.
    assert {"ledger.merkle", "ledger.checkpoint", "domain.ids", "msgpack"} <= modules
    assert storage_in(modules) == []


def test_the_walk_finds_storage_where_there_is_some() -> None:
    assert {"sqlite3", "eventsourcing.persistence", "ledger.log.store"} <= set(
        storage_in(reached("ledger.recorder"))
    )
    assert "ledger.log.store" in storage_in(reached("ledger.log.verification"))


CHECK_ALONE = """
import json, sys
from ledger.log.audit import audit_verify
from ledger.checkpoint import parse_verifier
report = audit_verify(json.load(sys.stdin), parse_verifier(sys.argv[1]))
print(json.dumps({"summary": report.summary(), "modules": sorted(sys.modules)}))
"""

ORIGIN = "ledger.test.example/office"


def test_a_bundle_is_checked_in_a_process_that_loads_no_storage() -> None:
    # A household's three events among others, and the map head that ends the log,
    # their tree and map held in memory: no store.
    signer = parse_signer(generate_key(ORIGIN)[0])
    household = "XC-0007"
    originator = household_id(household).bytes
    at = datetime(2018, 3, 1, tzinfo=UTC)
    state = msgpack.packb({"occurred_at": msgpack.ExtType(2, at.isoformat().encode())})
    leaves, rows = [], []
    for nid in range(1, 12):
        mine = nid in (3, 7, 10)
        version = (3, 7, 10).index(nid) + 1 if mine else 1
        owner = originator if mine else nid.to_bytes(16, "big")
        leaves.append(leaf_bytes(nid, owner, version, "oneruler:Household.Surveyed", state))
        rows.append(smt.Entry(int.from_bytes(owner, "big"), version, nid - 1))
    latest = {entry.key: entry for entry in rows}  # each id's last version
    entries = sorted(latest.values(), key=lambda e: e.key)
    covers = len(leaves)
    head = MapHead(covers, smt.root_of(entries), len(entries), at, None)
    head_state = msgpack.packb(
        {**map_head_state(head), "timestamp": msgpack.ExtType(2, at.isoformat().encode())},
        use_bin_type=True,
    )
    leaves.append(leaf_bytes(12, LOG_RECORD_ID.bytes, 1, MAP_HEAD, head_state))
    tree = merkle.DictNodeReader.from_leaf_hashes(merkle.leaf_hashes(leaves))
    size = len(leaves)
    root = merkle.root(tree, size)
    note = sign_note(Checkpoint(ORIGIN, size, root).body(), signer)
    checkpoint = StoredCheckpoint(
        1, ORIGIN, size, root, note, signer.name, signer.verifier().text, ""
    )
    events = [
        ProvenEvent(
            nid - 1,
            nid,
            version,
            "oneruler:Household.Surveyed",
            state,
            leaves[nid - 1],
            merkle.inclusion_proof(tree, nid - 1, size),
        )
        for version, nid in enumerate((3, 7, 10), start=1)
    ]
    key = int.from_bytes(originator, "big")
    record = ProvenRecord("household", household, events, smt.prove(entries, key))
    heads = [ProvenLeaf(covers, leaves[covers], merkle.inclusion_proof(tree, covers, size))]
    document = bundle(HouseholdProof(household, checkpoint, [record], heads, []))
    run = subprocess.run(
        [sys.executable, "-c", CHECK_ALONE, signer.verifier().text],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["summary"] == (
        f"OK: household {household}: all 3 events, each record up to the latest version the "
        f"log's map holds, are in the log {ORIGIN} at size 12, signed by "
        f"{ORIGIN}+{signer.key_id.hex()}."
    )
    assert storage_in(set(out["modules"])) == []
