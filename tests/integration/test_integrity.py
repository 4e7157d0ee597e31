"""The transparency log against a real SQLite store: the tree grows in the events' own
transaction, its roots and proofs equal the RFC's recursive definitions, and verify
names the first bad position of every kind of tampering done with sqlite3 directly."""

from __future__ import annotations

import functools
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from ledger import merkle
from ledger.application import Ledger
from ledger.checkpoint import StoredCheckpoint, generate_key, parse_signer
from ledger.ingest import ingest
from ledger.log import audit, keys, verification
from ledger.log import store as log_store
from ledger.settings import DEFAULT, Settings
from ledger.store import open_ledger
from ledger.workers.verify import VerifyWorker
from tests.credentials import ADMIN
from tests.unit.test_merkle import naive_mth, naive_path, naive_subproof

ORIGIN = "ledger.test.example/office"
SIGNER = parse_signer(generate_key(ORIGIN)[0])
CHANGED = "does not match the stored event: the stored events were changed after they were logged."
SAMPLE_EVENTS = 46
# The sample with its two checkpoints: each appended a map head (leaves 20 and 47).
SAMPLE_LEAVES = SAMPLE_EVENTS + 2


def changed(position: int) -> str:
    return f"leaf {position} (notification id {position + 1}) {CHANGED}"


# --- helpers --------------------------------------------------------------------


def stored_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return c.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        ).fetchall()


def naive_leaf_hashes(db: Path) -> list[bytes]:
    """Every leaf hash straight from the stored rows, as an outside auditor would."""
    return [
        merkle.leaf_hash(audit.leaf_bytes(n, bytes.fromhex(o), v, t, s))
        for n, o, v, t, s in stored_rows(db)
    ]


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Change the store behind the ledger's back, as anyone with the file could."""
    c = sqlite3.connect(db)
    try:
        for statement, params in statements:
            c.execute(statement, params)
        c.commit()
    finally:
        c.close()


def event_row(db: Path, nid: int) -> tuple[Any, ...]:
    with sqlite3.connect(db) as c:
        found: tuple[Any, ...] = c.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid = ?",
            (nid,),
        ).fetchone()
    return found


def flip(data: bytes | str, offset: int) -> Any:
    """The same value with one byte changed."""
    if isinstance(data, str):
        return data[:offset] + chr(ord(data[offset]) ^ 1) + data[offset + 1 :]
    return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :]


def make_checkpoint(ledger: Ledger) -> StoredCheckpoint:
    return keys.make_checkpoint(
        ledger.ledger_recorder, [SIGNER], origin=None, now=datetime.now(UTC)
    )


def synthetic(count: int, salt: int = 0) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=uuid4(),
            originator_version=1,
            topic=f"tests:Synthetic{i % 3}",
            state=os.urandom(1 + (i + salt) % 40),
        )
        for i in range(count)
    ]


@contextmanager
def fresh_ledger(settings: Settings = DEFAULT) -> Iterator[tuple[Ledger, Path]]:
    """A ledger in its own file, for hypothesis examples (no function-scoped fixtures)."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "ledger.db"
        ledger = open_ledger(str(db), settings=settings)
        try:
            yield ledger, db
        finally:
            ledger.close()


def small_pages(levels: int) -> Settings:
    """Pages of 2**levels leaves, so that small ledgers cross many page boundaries."""
    return Settings(page_levels=levels)


def first_problem(ledger: Ledger, **kwargs: Any) -> verification.Problem:
    result = verification.verify(ledger.ledger_recorder, **kwargs)
    assert not result.ok
    return result.problems[0]


@pytest.fixture(params=[1, 2], ids=["one process", "two processes"])
def processes(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def ledger(
    db_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Ledger]:
    """For the tests that ask for `processes`, verification in one process, or in two:
    pages of 4 leaves, and a second process checking from the page boundary nearest
    half-way (leaf 24 of the sample's 48) to the end, so every kind of tampering is
    also found on either side of it."""
    two = "processes" in request.fixturenames and request.getfixturevalue("processes") == 2
    settings = Settings(verify_split_from=0, page_levels=2) if two else DEFAULT
    opened = open_ledger(str(db_path), settings=settings)
    started: list[int] = []
    if two:
        verify = functools.partial(verification.verify, second_process=opened.sharable_settings)
        monkeypatch.setattr(verification, "verify", verify)

        class Counted(VerifyWorker):  # counts the second processes started
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                started.append(kwargs["start"])
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(verification, "VerifyWorker", Counted)
    yield opened
    opened.close()
    if two:
        assert started and started[0] == 24  # the sample, before any tampering


@pytest.fixture
def sample(ledger: Ledger, sample_lines: list[str], processes: int) -> Ledger:
    """The sample programme in batches of different sizes, checkpointed half-way and
    at the end (each checkpoint appends a map head); verified in one process or two."""
    ingest(ledger, sample_lines[:9], ADMIN, batch_size=1)
    ingest(ledger, sample_lines[9:18], ADMIN, batch_size=4)
    make_checkpoint(ledger)
    ingest(ledger, sample_lines[18:], ADMIN, batch_size=1000)
    make_checkpoint(ledger)
    result = verification.verify(ledger.ledger_recorder)
    assert result.ok, result.problems
    assert result.events == SAMPLE_LEAVES
    assert result.map_heads == 2
    return ledger


# --- the tree grows with the events, in their transaction ---------------------------


def test_a_failed_event_insert_logs_nothing(ledger: Ledger, db_path: Path) -> None:
    ledger.recorder.insert_events(synthetic(5))
    originator_id, version, topic, state = event_row(db_path, 3)
    again = StoredEvent(UUID(hex=originator_id), version, topic, state)
    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events([*synthetic(2), again])
    assert count(db_path, "stored_events") == 5
    assert count(db_path, "merkle_leaves") == 5
    assert count(db_path, "merkle_nodes") == 5 - (5).bit_count()


def test_a_failed_log_write_stores_no_event(ledger: Ledger, db_path: Path) -> None:
    ledger.recorder.insert_events(synthetic(5))

    def broken(*args: Any) -> Any:
        raise RuntimeError("disk full")

    with mock.patch.object(merkle, "new_perfect_nodes", broken), pytest.raises(RuntimeError):
        ledger.recorder.insert_events(synthetic(3))
    assert count(db_path, "stored_events") == 5
    assert verification.verify(ledger.ledger_recorder).ok


def test_roots_and_proofs_from_the_tables_equal_the_rfc_definitions(
    sample: Ledger, db_path: Path
) -> None:
    hashes = naive_leaf_hashes(db_path)
    assert len(hashes) == SAMPLE_LEAVES
    log = sample.ledger_recorder.log
    with sample.ledger_recorder.log_transaction(commit=False) as c:
        assert log.size(c) == SAMPLE_LEAVES
        for size in range(SAMPLE_LEAVES + 1):
            assert log.root(c, size) == naive_mth(hashes[:size])
            for index in range(size):
                assert log.inclusion_proof(c, index, size) == naive_path(index, hashes[:size])
            for old in range(1, size):
                assert log.consistency_proof(c, old, size) == naive_subproof(
                    old, hashes[:size], True
                )
        with pytest.raises(InvalidInput, match=f"holds {SAMPLE_LEAVES} events"):
            log.root(c, SAMPLE_LEAVES + 1)


def test_stored_checkpoints_sign_the_roots_at_their_sizes(sample: Ledger, db_path: Path) -> None:
    hashes = naive_leaf_hashes(db_path)
    with sample.ledger_recorder.log_transaction(commit=False) as c:
        stored = sample.ledger_recorder.log.checkpoints(c)
    assert [cp.size for cp in stored] == [21, SAMPLE_LEAVES]
    for cp in stored:
        assert cp.root == naive_mth(hashes[: cp.size])
        assert cp.origin == ORIGIN
        assert cp.verifier_key == SIGNER.verifier().text
        assert "PRIVATE" not in cp.verifier_key


@settings(max_examples=25)
@given(batches=st.lists(st.integers(1, 9), min_size=1, max_size=5))
def test_every_proof_at_every_size_verifies(batches: list[int]) -> None:
    with fresh_ledger() as (ledger, db):
        for number, size in enumerate(batches):
            ledger.recorder.insert_events(synthetic(size, salt=number))
        hashes = naive_leaf_hashes(db)
        log = ledger.ledger_recorder.log
        with ledger.ledger_recorder.log_transaction(commit=False) as c:
            roots = [log.root(c, size) for size in range(len(hashes) + 1)]
            for size, root in enumerate(roots):
                assert root == naive_mth(hashes[:size])
                for index in range(size):
                    proof = log.inclusion_proof(c, index, size)
                    assert merkle.verify_inclusion(hashes[index], index, size, proof, root)
                for old in range(size + 1):
                    proof = log.consistency_proof(c, old, size)
                    assert merkle.verify_consistency(old, size, roots[old], root, proof)


@settings(max_examples=30)
@given(
    batches=st.lists(st.tuples(st.integers(1, 13), st.booleans()), min_size=1, max_size=5),
    levels=st.sampled_from([1, 2, 3, 12]),
    data=st.data(),
)
def test_verify_across_page_boundaries_finds_the_changed_leaf(
    batches: list[tuple[int, bool]], levels: int, data: st.DataObject
) -> None:
    with fresh_ledger(small_pages(levels)) as (ledger, db):
        for number, (size, checkpointed) in enumerate(batches):
            ledger.recorder.insert_events(synthetic(size, salt=number))
            if checkpointed:
                make_checkpoint(ledger)
        result = verification.verify(ledger.ledger_recorder)
        assert result.ok, result.problems
        # Each checkpoint appended a map head after its batch.
        total = sum(size + checkpointed for size, checkpointed in batches)
        assert result.events == total
        position = data.draw(st.integers(0, total - 1), label="position")
        state = event_row(db, position + 1)[3]
        offset = data.draw(st.integers(0, len(state) - 1), label="offset")
        tamper(
            db,
            (
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                (flip(state, offset), position + 1),
            ),
        )
        problem = first_problem(ledger)
        assert problem.message == changed(position)
        assert (problem.leaf, problem.notification_id) == (position, position + 1)


def test_verify_over_many_pages_checks_roots_inside_and_at_page_ends(
    ledger: Ledger, db_path: Path
) -> None:
    for size in (4095, 903, 3191, 99):
        ledger.recorder.insert_events(synthetic(size, salt=size))
        make_checkpoint(ledger)  # with its map head: sizes 4096, 5000, 8192, 8292
    result = verification.verify(ledger.ledger_recorder)
    assert result.ok, result.problems
    assert [cp.size for cp in result.checkpoints] == [4096, 5000, 8192, 8292]
    hashes = naive_leaf_hashes(db_path)
    for cp in result.checkpoints:
        assert cp.root == naive_mth(hashes[: cp.size])
    assert verification.timed_verify(ledger.ledger_recorder)[0] == 8292


# --- tampering with the stored events ------------------------------------------------


@pytest.mark.parametrize("position", [0, 17, SAMPLE_EVENTS - 1])
@pytest.mark.parametrize("column", ["state", "topic", "originator_version", "originator_id"])
def test_a_single_changed_byte_is_found_at_its_position(
    sample: Ledger, db_path: Path, column: str, position: int
) -> None:
    originator_id, version, topic, state = event_row(db_path, position + 1)
    value = {
        "state": flip(state, len(state) // 2),
        "topic": flip(topic, 3),
        # +256: one byte of the integer, and no clash with the aggregate's other versions.
        "originator_version": version ^ 0x100,
        "originator_id": flip(originator_id, 5),
    }[column]
    tamper(
        db_path, (f"UPDATE stored_events SET {column} = ? WHERE rowid = ?", (value, position + 1))
    )
    problem = first_problem(sample)
    assert problem.message == changed(position)


def test_an_originator_id_rewritten_in_capitals_is_a_change(sample: Ledger, db_path: Path) -> None:
    # bytes.fromhex reads it as the same 16 bytes, but the library would no longer find it.
    originator_id = event_row(db_path, 11)[0]
    assert originator_id != originator_id.upper()
    tamper(
        db_path,
        ("UPDATE stored_events SET originator_id = ? WHERE rowid = 11", (originator_id.upper(),)),
    )
    assert first_problem(sample).message == changed(10)


def test_a_value_stored_as_another_type_is_a_change(sample: Ledger, db_path: Path) -> None:
    state = event_row(db_path, 5)[3]
    tamper(
        db_path,
        ("UPDATE stored_events SET state = ? WHERE rowid = 5", (state.decode("latin-1"),)),
    )
    assert first_problem(sample).message == changed(4)


@pytest.mark.parametrize("deleted", [1, 18, 30])
def test_a_deleted_event_is_found_where_it_was(sample: Ledger, db_path: Path, deleted: int) -> None:
    tamper(db_path, ("DELETE FROM stored_events WHERE rowid = ?", (deleted,)))
    problem = first_problem(sample)
    assert problem.message == changed(deleted - 1)


def test_a_deleted_last_event_has_no_stored_event(sample: Ledger, db_path: Path) -> None:
    tamper(db_path, ("DELETE FROM stored_events WHERE rowid = ?", (SAMPLE_LEAVES,)))
    assert first_problem(sample).message == (
        f"leaf {SAMPLE_LEAVES - 1} (notification id {SAMPLE_LEAVES}) has no stored event: "
        "the stored events were deleted after they were logged."
    )


@pytest.mark.parametrize(("first", "second"), [(3, 4), (12, 30), (1, SAMPLE_EVENTS)])
def test_two_swapped_events_are_found_at_the_first(
    sample: Ledger, db_path: Path, first: int, second: int
) -> None:
    a, b = event_row(db_path, first), event_row(db_path, second)
    update = (
        "UPDATE stored_events SET originator_id = ?, originator_version = ?, topic = ?, "
        "state = ? WHERE rowid = ?"
    )
    tamper(
        db_path,
        # Through a free key first: (originator_id, originator_version) is unique.
        (update, ("swap", 0, "", b"", first)),
        (update, (*a, second)),
        (update, (*b, first)),
    )
    assert first_problem(sample).message == changed(first - 1)


def test_an_event_inserted_at_the_end_is_not_in_the_log(sample: Ledger, db_path: Path) -> None:
    topic, state = event_row(db_path, 20)[2:]
    tamper(
        db_path,
        ("INSERT INTO stored_events VALUES (?,?,?,?)", (uuid4().hex, 1, topic, state)),
    )
    problem = first_problem(sample)
    assert problem.message == (
        f"the stored event at position {SAMPLE_LEAVES} (notification id {SAMPLE_LEAVES + 1}) "
        "is not in the log: it was written to the store outside the ledger."
    )
    assert problem.leaf == SAMPLE_LEAVES


def test_an_event_inserted_in_the_middle_is_found_where_it_went(
    sample: Ledger, db_path: Path
) -> None:
    # Make room at notification id 15 by moving every later event up by one.
    moves = [
        ("UPDATE stored_events SET rowid = rowid + 1 WHERE rowid = ?", (nid,))
        for nid in range(SAMPLE_LEAVES, 14, -1)
    ]
    topic, state = event_row(db_path, 3)[2:]
    tamper(
        db_path,
        *moves,
        (
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (15, ?, 1, ?, ?)",
            (uuid4().hex, topic, state),
        ),
    )
    assert first_problem(sample).message == changed(14)


def test_an_event_inserted_before_all_others_is_found_at_leaf_0(
    sample: Ledger, db_path: Path
) -> None:
    topic, state = event_row(db_path, 3)[2:]
    tamper(
        db_path,
        (
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (0, ?, 1, ?, ?)",
            (uuid4().hex, topic, state),
        ),
    )
    problem = first_problem(sample)
    assert (problem.leaf, problem.notification_id) == (0, 1)
    assert problem.message == changed(0)


# --- tampering with the log itself ---------------------------------------------


def test_a_changed_tree_node_is_found(sample: Ledger, db_path: Path) -> None:
    tamper(
        db_path,
        ("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 3", ()),
    )
    assert first_problem(sample).message == (
        "the stored tree node at level 2, index 3 does not match the leaves below it: "
        "the tree's nodes were changed outside the ledger."
    )


@pytest.mark.parametrize("processes", [2], ids=["two processes"], indirect=True)
def test_a_node_changed_while_two_processes_verify_is_found(
    sample: Ledger, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second process takes the subtrees before its half (leaves 0-15, the node at
    # level 4, index 0, and 16-19) from the store, as it reads it: changed after this process
    # read, it differs from the one recomputed here.
    start = VerifyWorker.__init__

    def changed_meanwhile(self: Any, *args: Any, **kwargs: Any) -> None:
        tamper(
            db_path,
            ("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 0", ()),
        )
        start(self, *args, **kwargs)

    monkeypatch.setattr(VerifyWorker, "__init__", changed_meanwhile)
    result = verification.verify(sample.ledger_recorder)
    assert [p.message for p in result.problems] == [
        "the stored tree node at level 4, index 0 does not match the leaves below it: "
        "the tree's nodes were changed outside the ledger."
    ]
    assert result.events == 24


def test_a_changed_stored_checkpoint_is_found(sample: Ledger, db_path: Path) -> None:
    tamper(db_path, ("UPDATE checkpoints SET note = replace(note, '\n21\n', '\n22\n')", ()))
    problem = first_problem(sample)
    assert problem.checkpoint == 1
    assert problem.message.startswith("checkpoint 1 (size 21) does not verify: the signature")


def test_a_rewritten_history_is_caught_by_the_stored_checkpoints(
    sample: Ledger, db_path: Path, sample_lines: list[str]
) -> None:
    # Change an event and rebuild the whole tree over the changed store, leaving the
    # signed checkpoints as they were: they no longer match.
    state = event_row(db_path, 7)[3]
    tamper(
        db_path,
        ("UPDATE stored_events SET state = ? WHERE rowid = 7", (flip(state, 2),)),
        ("DELETE FROM merkle_leaves", ()),
        ("DELETE FROM merkle_nodes", ()),
    )
    with sample.ledger_recorder.log_transaction(commit=True) as c:
        sample.ledger_recorder.log.catch_up(c)
    problem = first_problem(sample)
    assert problem.message == (
        "checkpoint 1 (size 21) does not match the stored events: the root of the first 21 "
        "recomputed leaves differs from its signed root, so the history was rewritten "
        "after it was signed."
    )


def test_a_deleted_tail_with_its_checkpoints_is_caught_against_a_saved_checkpoint(
    sample: Ledger, db_path: Path
) -> None:
    with sample.ledger_recorder.log_transaction(commit=False) as c:
        saved = sample.ledger_recorder.log.checkpoints(c)[-1].note
    kept = 30
    tamper(
        db_path,
        ("DELETE FROM stored_events WHERE rowid > ?", (kept,)),
        ("DELETE FROM merkle_leaves WHERE idx >= ?", (kept,)),
        ("DELETE FROM merkle_nodes WHERE (idx + 1) << level > ?", (kept,)),
        ("DELETE FROM checkpoints", ()),
    )
    # Consistent in itself: only a checkpoint kept outside the ledger shows the loss.
    assert verification.verify(sample.ledger_recorder).ok
    deleted = (
        f"the checkpoint given is for {SAMPLE_LEAVES} events, but the store holds {kept}: "
        "events were deleted after it was signed."
    )
    checked = verification.verify(sample.ledger_recorder, against=saved, pubkey=SIGNER.verifier())
    assert [p.message for p in checked.problems] == [deleted]
    # The stored key went with the stored checkpoints: the loss still shows first.
    unchecked = verification.verify(sample.ledger_recorder, against=saved)
    assert [p.message for p in unchecked.problems] == [
        deleted,
        f"the ledger holds no public key of the checkpoint given (signed by {ORIGIN}), so "
        "its signature was not checked; give the key with --pubkey FILE.",
    ]


def test_a_rewritten_history_with_its_checkpoints_is_caught_against_a_saved_checkpoint(
    sample: Ledger, db_path: Path
) -> None:
    with sample.ledger_recorder.log_transaction(commit=False) as c:
        saved = sample.ledger_recorder.log.checkpoints(c)[0].note
    state = event_row(db_path, 7)[3]
    tamper(
        db_path,
        ("UPDATE stored_events SET state = ? WHERE rowid = 7", (flip(state, 2),)),
        ("DELETE FROM merkle_leaves", ()),
        ("DELETE FROM merkle_nodes", ()),
        ("DELETE FROM checkpoints", ()),
    )
    make_checkpoint(sample)  # logs the rewritten store afresh, as a forger would
    assert verification.verify(sample.ledger_recorder).ok
    problem = first_problem(sample, against=saved, pubkey=SIGNER.verifier())
    assert problem.message == (
        "the log does not extend the checkpoint given (size 21): the root of the first 21 "
        "recomputed leaves differs from its signed root, so the history was rewritten "
        "after it was signed."
    )


def test_verify_against_a_checkpoint_of_this_log_passes(sample: Ledger) -> None:
    with sample.ledger_recorder.log_transaction(commit=False) as c:
        saved = sample.ledger_recorder.log.checkpoints(c)[0].note
    result = verification.verify(sample.ledger_recorder, against=saved)
    assert result.ok
    assert result.against is not None and result.against.size == 21


# --- writes refuse a store the log does not cover -----------------------------------


def test_a_write_after_an_event_was_inserted_outside_the_ledger_is_refused(
    sample: Ledger, db_path: Path
) -> None:
    topic, state = event_row(db_path, 3)[2:]
    tamper(db_path, ("INSERT INTO stored_events VALUES (?,?,?,?)", (uuid4().hex, 1, topic, state)))
    with pytest.raises(log_store.LogMismatch, match=f"notification id {SAMPLE_LEAVES + 1}"):
        sample.recorder.insert_events(synthetic(2))
    assert count(db_path, "stored_events") == SAMPLE_LEAVES + 1


def test_a_write_after_the_last_events_were_deleted_is_refused(
    sample: Ledger, db_path: Path
) -> None:
    tamper(db_path, ("DELETE FROM stored_events WHERE rowid > 36", ()))
    with pytest.raises(log_store.LogMismatch, match="notification id 37 is already in the log"):
        sample.recorder.insert_events(synthetic(1))
    assert count(db_path, "stored_events") == 36


def test_a_ledger_made_before_the_log_is_taken_in_whole(
    ledger: Ledger, db_path: Path, sample_lines: list[str]
) -> None:
    with mock.patch.object(log_store.TransparencyLog, "append"):
        ingest(ledger, sample_lines[:20], ADMIN)
    assert count(db_path, "merkle_leaves") == 0
    ingest(ledger, sample_lines[20:], ADMIN)
    assert count(db_path, "merkle_leaves") == SAMPLE_EVENTS
    with ledger.ledger_recorder.log_transaction(commit=False) as c:
        assert ledger.ledger_recorder.log.root(c, SAMPLE_EVENTS) == naive_mth(
            naive_leaf_hashes(db_path)
        )
    assert verification.verify(ledger.ledger_recorder).ok
