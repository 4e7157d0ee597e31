"""The completeness map against an independent recomputation written here from
docs/integrity.md alone (sqlite3, msgpack and hashlib; none of the ledger's map code):
every map head in the log is the map of the leaves before it, every bundle's map
proof checks against it, a ledger made before map heads goes on with its roots, and
a copy keeps the origin and the map."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

import msgpack
import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import RuleViolation
from ledger.application import Ledger
from ledger.checkpoint import generate_key, parse_signer
from ledger.copy import copy_ledger
from ledger.ingest import ingest
from ledger.log import audit, keys, proving, verification
from ledger.store import open_ledger
from tests.credentials import ADMIN
from tests.integration.test_integrity import fresh_ledger

ORIGIN = "ledger.test.example/office"
SIGNER = parse_signer(generate_key(ORIGIN)[0])
NAMESPACE = UUID("6f0b7a52-2a4e-4d1c-9a53-0e8d3f1c2b71")
LOG_RECORD = uuid5(NAMESPACE, "log:record")


# --- the map, straight from the page ---------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def entry(key: bytes, version: int, index: int) -> bytes:
    return sha256(b"\x02" + key + version.to_bytes(8, "big") + index.to_bytes(8, "big"))


def subtree(entries: list[tuple[bytes, int, int]], depth: int) -> bytes:
    """The map's definition: empty is 32 zero bytes, one entry is its own hash, more
    are the node of the halves split on the id's bit at this depth."""
    if not entries:
        return bytes(32)
    if len(entries) == 1:
        return entry(*entries[0])
    bit = [int.from_bytes(key, "big") >> (127 - depth) & 1 for key, _, _ in entries]
    left = [e for e, b in zip(entries, bit, strict=True) if b == 0]
    right = [e for e, b in zip(entries, bit, strict=True) if b == 1]
    return sha256(b"\x03" + subtree(left, depth + 1) + subtree(right, depth + 1))


def rows(db: Path) -> list[tuple[int, bytes, int, str, bytes]]:
    with sqlite3.connect(db) as c:
        return [
            (n, bytes.fromhex(o), v, t, s)
            for n, o, v, t, s in c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                "FROM stored_events ORDER BY rowid"
            )
        ]


def map_of(leaves: list[tuple[int, bytes, int, str, bytes]]) -> tuple[int, bytes]:
    """Each id's latest version and its leaf index over these leaves: count and root."""
    latest: dict[bytes, tuple[int, int]] = {}
    for index, (_, key, version, _, _) in enumerate(leaves):
        latest[key] = (version, index)
    entries = [(key, version, index) for key, (version, index) in latest.items()]
    return len(entries), subtree(entries, 0)


def map_heads(db: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every map head in the log: its leaf index and its state, read with msgpack."""
    return [
        (index, msgpack.unpackb(state, ext_hook=lambda code, data: data, raw=False))
        for index, (_, key, _, topic, state) in enumerate(rows(db))
        if key == LOG_RECORD.bytes and topic == "oneruler:Log.MapHead"
    ]


def check_every_map_head(db: Path) -> int:
    leaves = rows(db)
    heads = map_heads(db)
    for index, head in heads:
        assert head["covers"] == index
        assert (head["entries"], head["root"]) == map_of(leaves[:index]), index
    return len(heads)


def path_root(key: bytes, found: tuple[bytes, int, int] | None, siblings: list[Any]) -> bytes:
    """A map proof's root, folded up from the deepest sibling's depth."""
    given = {depth: hashed for depth, hashed in siblings}
    depth = max(given, default=0)
    hashed = entry(*found) if found else bytes(32)
    number = int.from_bytes(key, "big")
    for level in range(depth, 0, -1):
        other = given.get(level, bytes(32))
        if number >> (128 - level) & 1:
            hashed = sha256(b"\x03" + other + hashed)
        else:
            hashed = sha256(b"\x03" + hashed + other)
    return hashed


# --- the ledger's map against it ----------------------------------------------------------


def checkpoint(ledger: Ledger, now: datetime | None = None) -> Any:
    return keys.make_checkpoint(
        ledger.ledger_recorder, [SIGNER], origin=None, now=now or datetime.now(UTC)
    )


def test_every_map_head_and_map_proof_equals_the_recomputed_map(
    ledger: Ledger, db_path: Path, sample_lines: list[str]
) -> None:
    # Map heads over a log grown in three steps: built whole, then from kept subtrees.
    ingest(ledger, sample_lines[:12], ADMIN)
    checkpoint(ledger)
    ingest(ledger, sample_lines[12:30], ADMIN)
    checkpoint(ledger)
    checkpoint(ledger)  # nothing new: no second map head at the same place
    ingest(ledger, sample_lines[30:], ADMIN)
    final = checkpoint(ledger)
    assert check_every_map_head(db_path) == 3
    result = verification.verify(ledger.ledger_recorder)
    assert result.ok and result.map_heads == 3, result.problems
    leaves = rows(db_path)
    count, root = map_of(leaves[: final.size - 1])
    for household in ("XC-0001", "XC-0002", "XC-0003", "XC-0004"):
        proof = proving.prove_household(ledger.ledger_recorder, household)
        for record in proof.records:
            found = record.map_proof.found
            assert found is not None
            key = found.key.to_bytes(16, "big")
            latest = max(
                (i, v) for i, (_, k, v, _, _) in enumerate(leaves[: final.size - 1]) if k == key
            )
            assert (found.version, found.index) == (latest[1], latest[0])
            siblings = list(record.map_proof.siblings)
            assert path_root(key, (key, found.version, found.index), siblings) == root
    assert count == len({key for _, key, _, _, _ in leaves[: final.size - 1]})


@settings(max_examples=20, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 6), st.booleans()), min_size=1, max_size=6
    )
)
def test_map_heads_over_any_history_equal_the_recomputed_map(
    steps: list[tuple[int, int, bool]],
) -> None:
    """New aggregates and new versions of old ones, checkpointed or not; the kept
    subtrees sometimes lost (as in a copy): every map head is still the map."""
    with fresh_ledger() as (ledger, db):
        versions: dict[UUID, int] = {}
        for new, again, lose_kept in steps:
            events = []
            for aggregate in list(versions)[:again]:  # later versions of older ones
                versions[aggregate] += 1
                events.append(StoredEvent(aggregate, versions[aggregate], "tests:Event", b"s"))
            for _ in range(new):
                aggregate = uuid4()
                versions[aggregate] = 1
                events.append(StoredEvent(aggregate, 1, "tests:Event", b"s"))
            if events:
                ledger.recorder.insert_events(events)
            if lose_kept:
                with sqlite3.connect(db) as c:
                    c.execute("DROP TABLE IF EXISTS map_nodes")
            checkpoint(ledger)
        check_every_map_head(db)
        assert verification.verify(ledger.ledger_recorder).ok


def test_verify_names_kept_map_subtrees_changed_outside_the_ledger(
    ledger: Ledger, db_path: Path, sample_lines: list[str]
) -> None:
    ingest(ledger, sample_lines[:20], ADMIN)
    checkpoint(ledger)
    ingest(ledger, sample_lines[20:], ADMIN)
    checkpoint(ledger)
    # The kept subtrees changed by hand: proofs from them would fail, verify says so.
    with sqlite3.connect(db_path) as c:
        c.execute("UPDATE map_nodes SET hash = zeroblob(32) WHERE depth = 16")
    result = verification.verify(ledger.ledger_recorder)
    assert [p.message for p in result.problems] == [
        "the kept subtrees of the latest map (map_nodes) do not match the map recomputed from "
        "the log: they were changed outside the ledger, and proofs served from them would "
        "fail; the next checkpoint rebuilds them."
    ]


# --- a ledger made before map heads ----------------------------------------------------------


def legacy_checkpoint(ledger: Ledger, origin: str, signer: Any) -> Any:
    """A checkpoint as the ledger made them before map heads: no map head, and an origin
    that was the file's name."""
    recorder = ledger.ledger_recorder
    with recorder.log_transaction(commit=True) as c:
        c.execute(recorder.log.dialect.write_lock)
        return recorder.log.record_checkpoint(c, origin, [signer], datetime.now(UTC).isoformat())


def test_a_ledger_made_before_map_heads_goes_on_with_its_origin_and_roots(
    ledger: Ledger, db_path: Path, sample_lines: list[str]
) -> None:
    old = parse_signer(generate_key("xingcheng-office")[0])
    ingest(ledger, sample_lines, ADMIN)
    first = legacy_checkpoint(ledger, "oneruler/xingcheng", old)
    assert verification.verify(ledger.ledger_recorder).ok
    with pytest.raises(RuleViolation, match="make a checkpoint first"):
        proving.prove_household(ledger.ledger_recorder, "XC-0002")
    # Its key's name is not its origin: the next checkpoint is refused until the key
    # of its first checkpoint names a key that is.
    with pytest.raises(RuleViolation) as refused:
        keys.make_checkpoint(ledger.ledger_recorder, [old], origin=None, now=datetime.now(UTC))
    assert str(refused.value) == (
        "the key xingcheng-office is not named as the log's origin oneruler/xingcheng, and a "
        "log's key must be; make one with oneruler key generate oneruler/xingcheng and record "
        "the move to it, signed by the current key: oneruler key transition --key CURRENT.key "
        "--to NEW.pub."
    )
    new = parse_signer(generate_key("oneruler/xingcheng")[0])
    keys.record_transition(ledger.ledger_recorder, old, new.verifier(), datetime.now(UTC))
    second = keys.make_checkpoint(ledger.ledger_recorder, [new], origin=None, now=datetime.now(UTC))
    assert second.origin == "oneruler/xingcheng"
    # Its first checkpoint's root is the same, and the log extends it.
    with ledger.ledger_recorder.log_transaction(commit=False) as c:
        assert ledger.ledger_recorder.log.root(c, first.size) == first.root
    result = verification.verify(ledger.ledger_recorder, against=first.note)
    assert result.ok and result.map_heads == 1, result.problems
    check_every_map_head(db_path)
    bundle = audit.bundle(proving.prove_household(ledger.ledger_recorder, "XC-0002"))
    report = audit.audit_verify(bundle, old.verifier())  # the old key, followed
    assert report.complete and report.checkpoint.origin == "oneruler/xingcheng"


# --- a copy keeps the origin and the map ---------------------------------------------------


def test_a_copy_keeps_the_origin_and_the_map(
    ledger: Ledger, db_path: Path, sample_lines: list[str], tmp_path: Path
) -> None:
    ingest(ledger, sample_lines, ADMIN)
    checkpoint(ledger)
    ledger.close()
    target = tmp_path / "rewrite.db"
    copy_ledger(str(db_path), str(target))
    copied = open_ledger(str(target))
    try:
        assert check_every_map_head(target) == 1
        # Bundles from the copy: its map built from its events (no subtrees are copied).
        bundle = audit.bundle(proving.prove_household(copied.ledger_recorder, "XC-0003"))
        report = audit.audit_verify(bundle, SIGNER.verifier(), origin=ORIGIN)
        assert report.complete
        # Its next checkpoint keeps the origin, whatever the file is called.
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert checkpoint(copied, later).origin == ORIGIN
        assert verification.verify(copied.ledger_recorder).ok
    finally:
        copied.close()
