"""The transparency log: a Merkle tree over every stored event, its checkpoints, proofs,
audit bundles, and the verification that recomputes all of it from the stored rows."""

from __future__ import annotations

import hashlib
import operator
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeAlias, cast
from uuid import UUID

import msgpack

from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.ids import household_id
from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    Verifier,
    parse_checkpoint_unverified,
    parse_verifier,
    sign_note,
    verify_checkpoint,
)

__all__ = [
    "BUNDLE_FORMAT",
    "SQLITE",
    "AuditReport",
    "BundleRejected",
    "Dialect",
    "HouseholdProof",
    "LogMismatch",
    "LogStore",
    "Problem",
    "ProvenEvent",
    "StoredCheckpoint",
    "TransparencyLog",
    "Verification",
    "audit_verify",
    "bundle",
    "consistency",
    "leaf_bytes",
    "make_checkpoint",
    "postgres_dialect",
    "prove_household",
    "timed_verify",
    "verify",
]

BUNDLE_FORMAT = "oneruler-audit-bundle/1"

# Leaves are checked a page at a time; a page of 2**12 leaves is also a perfect
# subtree, so every node inside it can be rebuilt from the page alone.
PAGE_LEVELS = 12
PAGE = 1 << PAGE_LEVELS

# Logs of this many leaves or more are verified in two processes, each checking half
# of the pages: a second process takes about 0.3 s to start, about 100,000 leaves'
# worth of checking.
SPLIT_FROM = 64 * PAGE

# Keeps every statement under SQLite's oldest bound-parameter limit (999).
_CHUNK = 400

# (notification id, originator id as 16 bytes, originator version, topic, state)
LeafRow: TypeAlias = tuple[int, bytes, int, str, bytes]


class LogMismatch(RuleViolation):
    """The stored events and the log disagree: something was changed outside the ledger."""


class BundleRejected(RuleViolation):
    """An audit bundle does not prove what it claims."""


def leaf_bytes(
    notification_id: int, originator_id: bytes, version: int, topic: str, state: bytes
) -> bytes:
    """The leaf of one stored event: msgpack [id, originator id, version, topic, state]."""
    packed: bytes = msgpack.packb(
        [notification_id, originator_id, version, topic, state], use_bin_type=True
    )
    return packed


# --- what differs between databases ------------------------------------------


class Cursor(Protocol):
    """The part of a DB-API cursor the log uses."""

    def execute(self, *args: Any) -> object: ...

    def executemany(self, *args: Any) -> object: ...

    def fetchall(self) -> Any: ...

    def fetchone(self) -> Any: ...


_LOWER_HEX = re.compile("[0-9a-f]*")


def _lower_hex(values: Sequence[Any]) -> bool:
    """SQLite keeps originator ids as lower-case hex digits. bytes.fromhex also reads
    upper case and spaces, which the library's own reads would no longer find, so an
    id written that way was changed even though its bytes are the same."""
    try:
        return _LOWER_HEX.fullmatch("".join(values)) is not None
    except TypeError:
        return False


@dataclass(frozen=True)
class Dialect:
    """Everything database-specific about the log: names, types, the parameter marker,
    and how the events table holds an originator id. A PostgreSQL recorder gives its
    own instance and reuses all the rest."""

    events_table: str = "stored_events"
    notification_id: str = "rowid"
    blob: str = "BLOB"
    bigint: str = "INTEGER"
    serial_key: str = "INTEGER PRIMARY KEY"
    without_rowid: str = " WITHOUT ROWID"
    param: str = "?"
    # Taking the write lock before reading, so that what is read is still the store's
    # end when the checkpoint is written. In SQLite any write statement takes it.
    write_lock: str = "DELETE FROM checkpoints WHERE 0"
    # The stored originator id column: as 16 bytes (a builtin, as it runs once per row
    # in verification), whether a page of them is in the form the library writes, and
    # a UUID as a query parameter.
    originator_bytes: Callable[[Any], bytes] = bytes.fromhex
    originators_canonical: Callable[[Sequence[Any]], bool] = _lower_hex
    originator_param: Callable[[UUID], Any] = operator.attrgetter("hex")
    # Many rows into one table at once (the tree's leaves and nodes, under the writers'
    # lock): None for an INSERT per row, else a function that loads them in one go.
    bulk_insert: Callable[[Cursor, str, Sequence[str], Sequence[Sequence[Any]]], None] | None = None

    def sql(self, statement: str) -> str:
        return statement if self.param == "?" else statement.replace("?", self.param)

    def insert_rows(
        self, c: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        if self.bulk_insert is not None:
            self.bulk_insert(c, table, columns, rows)
            return
        c.executemany(
            self.sql(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            ),
            rows,
        )


SQLITE = Dialect()


def _uuid_values(values: Sequence[Any]) -> bool:
    """PostgreSQL keeps originator ids in a uuid column: every value read is a UUID,
    and there is no other spelling of the same id to catch."""
    return all(type(value) is UUID for value in values)


def _same(value: UUID) -> Any:
    return value


def _copy_rows(
    c: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY ... FROM STDIN: one stream instead of a statement per row."""
    with cast(Any, c).copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def postgres_dialect(events_table: str) -> Dialect:
    """The log on PostgreSQL, beside the library's events table (schema-qualified)."""
    return Dialect(
        events_table=events_table,
        notification_id="notification_id",
        blob="BYTEA",
        bigint="BIGINT",
        serial_key="BIGSERIAL PRIMARY KEY",
        without_rowid="",
        param="%s",
        # The lock the library's inserts take, so a checkpoint's read of the store's
        # end waits for the writers in flight and holds off the next ones.
        write_lock=f"LOCK TABLE {events_table} IN EXCLUSIVE MODE",
        originator_bytes=operator.attrgetter("bytes"),
        originators_canonical=_uuid_values,
        originator_param=_same,
        bulk_insert=_copy_rows,
    )


# --- stored rows ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as the ledger keeps it: the signed note and the public key that
    checks it (never a private key)."""

    id: int
    origin: str
    size: int
    root: bytes
    note: str
    key_name: str
    verifier_key: str
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "key": self.verifier_key,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Problem:
    """One thing verification found wrong, with where it is."""

    message: str
    leaf: int | None = None
    notification_id: int | None = None
    checkpoint: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "leaf": self.leaf,
            "notification_id": self.notification_id,
            "checkpoint": self.checkpoint,
        }


@dataclass
class Verification:
    """What `verify` recomputed and what it found wrong."""

    events: int = 0
    tree_size: int = 0
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)
    against: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False
    # Said to the person on standard error, not part of the result.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.complete and not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "tree_size": self.tree_size,
            "checkpoints": [{"id": cp.id, "size": cp.size} for cp in self.checkpoints],
            "against": None
            if self.against is None
            else {
                "origin": self.against.origin,
                "size": self.against.size,
                "root": self.against.root.hex(),
            },
            "problems": [p.as_json() for p in self.problems],
            "seconds": round(self.seconds, 3),
        }


# --- the log -------------------------------------------------------------------


class StoredNodes:
    """merkle.NodeReader over the log's tables, through an open cursor."""

    def __init__(self, log: TransparencyLog, cursor: Cursor) -> None:
        self.log = log
        self.cursor = cursor

    def get_nodes(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        found: dict[merkle.NodeKey, bytes] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            leaves = [index for level, index in chunk if level == 0]
            inner = [key for key in chunk if key[0] > 0]
            parts: list[str] = []
            params: list[int] = []
            if leaves:
                parts.append(
                    "SELECT 0, idx, hash FROM merkle_leaves "
                    f"WHERE idx IN ({','.join('?' * len(leaves))})"
                )
                params.extend(leaves)
            if inner:
                parts.append(
                    "SELECT level, idx, hash FROM merkle_nodes WHERE "
                    + " OR ".join(["(level = ? AND idx = ?)"] * len(inner))
                )
                params.extend(number for key in inner for number in key)
            # One round trip for the whole chunk: appending a batch reads the frontier once.
            self.cursor.execute(self.log.dialect.sql(" UNION ALL ".join(parts)), params)
            found.update(
                ((level, index), bytes(hashed)) for level, index, hashed in self.cursor.fetchall()
            )
        return found


class TransparencyLog:
    """The Merkle tree and checkpoints, kept in tables beside the stored events and
    read and written through the caller's cursor (and so in the caller's transaction)."""

    def __init__(self, dialect: Dialect = SQLITE) -> None:
        self.dialect = dialect
        d = dialect
        self._events_after = d.sql(
            f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
            f"FROM {d.events_table} WHERE {d.notification_id} > ? "
            f"ORDER BY {d.notification_id} LIMIT ?"
        )
        self._leaves_between = d.sql(
            "SELECT notification_id, hash FROM merkle_leaves "
            "WHERE idx >= ? AND idx < ? ORDER BY idx"
        )

    def create_table_statements(self) -> list[str]:
        d = self.dialect
        return [
            "CREATE TABLE IF NOT EXISTS merkle_leaves ("
            f"idx {d.bigint} PRIMARY KEY, "
            f"notification_id {d.bigint} NOT NULL UNIQUE, "
            f"hash {d.blob} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS merkle_nodes ("
            f"level INTEGER NOT NULL, idx {d.bigint} NOT NULL, hash {d.blob} NOT NULL, "
            f"PRIMARY KEY (level, idx)){d.without_rowid}",
            "CREATE TABLE IF NOT EXISTS checkpoints ("
            f"id {d.serial_key}, "
            "origin TEXT NOT NULL, "
            f"size {d.bigint} NOT NULL, "
            f"root {d.blob} NOT NULL, "
            "note TEXT NOT NULL, "
            "key_name TEXT NOT NULL, "
            "verifier_key TEXT NOT NULL, "
            "created_at TEXT NOT NULL)",
        ]

    # --- extending the tree ---------------------------------------------------

    def head(self, c: Cursor) -> tuple[int, int | None]:
        """The tree's size and the notification id of its last leaf (None when empty)."""
        c.execute("SELECT idx, notification_id FROM merkle_leaves ORDER BY idx DESC LIMIT 1")
        row = c.fetchone()
        if row is None:
            return 0, None
        return int(row[0]) + 1, int(row[1])

    def size(self, c: Cursor) -> int:
        return self.head(c)[0]

    def append(self, c: Cursor, rows: Sequence[LeafRow]) -> None:
        """Log the events just stored in this transaction, in notification order.

        Every stored event must be in the tree: if the store holds events the log does
        not, a ledger made before the log existed is taken in whole; anything else was
        written outside the ledger, and the write is refused rather than logged around.
        """
        size, last = self.head(c)
        first = rows[0][0] if rows else None
        if first is not None and last is not None and first <= last:
            raise LogMismatch(
                f"notification id {first} is already in the log, so stored events were "
                "deleted after they were logged; nothing was appended: run oneruler verify."
            )
        earlier = self._unlogged(c, after=last, before=first)
        if earlier and size:
            raise LogMismatch(
                f"the store holds an event the log does not (notification id {earlier[0][0]}): "
                "it was written outside the ledger; nothing was appended: run oneruler verify."
            )
        self._extend(c, size, [*earlier, *rows])

    def catch_up(self, c: Cursor) -> None:
        """Log every stored event the log does not hold yet (see append)."""
        self.append(c, [])

    def _unlogged(self, c: Cursor, *, after: int | None, before: int | None) -> list[LeafRow]:
        d = self.dialect
        nid = d.notification_id
        where: list[str] = []
        params: list[int] = []
        if after is not None:
            where.append(f"{nid} > ?")
            params.append(after)
        if before is not None:
            where.append(f"{nid} < ?")
            params.append(before)
        c.execute(
            d.sql(
                f"SELECT {nid}, originator_id, originator_version, topic, state "
                f"FROM {d.events_table}"
                + (f" WHERE {' AND '.join(where)}" if where else "")
                + f" ORDER BY {nid}"
            ),
            params,
        )
        rows = c.fetchall()
        try:
            return [(n, d.originator_bytes(o), v, t, s) for n, o, v, t, s in rows]
        except (ValueError, TypeError):
            raise LogMismatch(
                "a stored event the log does not hold has no valid originator id: it was "
                "written outside the ledger; nothing was appended: run oneruler verify."
            ) from None

    def _extend(self, c: Cursor, size: int, rows: Sequence[LeafRow]) -> None:
        if not rows:
            return
        hashes = [merkle.leaf_hash(leaf_bytes(*row)) for row in rows]
        created = merkle.new_perfect_nodes(size, hashes, StoredNodes(self, c))
        self.dialect.insert_rows(
            c,
            "merkle_leaves",
            ("idx", "notification_id", "hash"),
            [
                (size + i, row[0], hashed)
                for i, (row, hashed) in enumerate(zip(rows, hashes, strict=True))
            ],
        )
        self.dialect.insert_rows(
            c,
            "merkle_nodes",
            ("level", "idx", "hash"),
            [(level, index, hashed) for (level, index), hashed in created if level > 0],
        )

    # --- reading the tree -----------------------------------------------------

    def _check_size(self, c: Cursor, size: int, what: str) -> None:
        current = self.size(c)
        if not 0 <= size <= current:
            raise InvalidInput(
                f"{what} {size} is not a size the log has had; it holds {current} events, "
                f"so give a size from 0 to {current}."
            )

    def root(self, c: Cursor, size: int) -> bytes:
        """The tree head at any past size, from O(log n) stored nodes."""
        self._check_size(c, size, "tree size")
        return merkle.root(StoredNodes(self, c), size)

    def inclusion_proof(self, c: Cursor, index: int, size: int) -> list[bytes]:
        self._check_size(c, size, "tree size")
        return merkle.inclusion_proof(StoredNodes(self, c), index, size)

    def consistency_proof(self, c: Cursor, old: int, new: int) -> list[bytes]:
        self._check_size(c, new, "the new size")
        if not 0 <= old <= new:
            raise InvalidInput(
                f"no consistency proof runs from size {old} to size {new}; "
                "give an old size from 0 to the new size."
            )
        return merkle.consistency_proof(StoredNodes(self, c), old, new)

    def leaves_of(self, c: Cursor, notification_ids: Sequence[int]) -> dict[int, tuple[int, bytes]]:
        """The leaf index and hash of each logged notification id."""
        found: dict[int, tuple[int, bytes]] = {}
        for start in range(0, len(notification_ids), _CHUNK):
            chunk = notification_ids[start : start + _CHUNK]
            c.execute(
                self.dialect.sql(
                    "SELECT notification_id, idx, hash FROM merkle_leaves "
                    f"WHERE notification_id IN ({','.join('?' * len(chunk))})"
                ),
                list(chunk),
            )
            found.update((int(n), (int(i), bytes(h))) for n, i, h in c.fetchall())
        return found

    # --- checkpoints ----------------------------------------------------------

    _CHECKPOINT_COLUMNS = "id, origin, size, root, note, key_name, verifier_key, created_at"

    @staticmethod
    def _checkpoint(row: Sequence[Any]) -> StoredCheckpoint:
        id_, origin, size, root, note, key_name, verifier_key, created_at = row
        return StoredCheckpoint(
            int(id_), origin, int(size), bytes(root), note, key_name, verifier_key, created_at
        )

    def checkpoints(self, c: Cursor) -> list[StoredCheckpoint]:
        c.execute(f"SELECT {self._CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY id")
        return [self._checkpoint(row) for row in c.fetchall()]

    def latest_checkpoint(self, c: Cursor) -> StoredCheckpoint | None:
        c.execute(f"SELECT {self._CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY id DESC LIMIT 1")
        row = c.fetchone()
        return None if row is None else self._checkpoint(row)

    def origin(self, c: Cursor) -> str | None:
        """The origin line of the log's checkpoints, fixed by the first one made."""
        c.execute("SELECT origin FROM checkpoints ORDER BY id LIMIT 1")
        row = c.fetchone()
        return None if row is None else str(row[0])

    def record_checkpoint(
        self, c: Cursor, origin: str, signer: Signer, created_at: str
    ) -> StoredCheckpoint:
        """Sign the tree as it stands and keep the signed note with its public key."""
        size = self.size(c)
        root = merkle.root(StoredNodes(self, c), size)
        note = sign_note(Checkpoint(origin, size, root).body(), signer)
        verifier = signer.verifier()
        c.execute(
            self.dialect.sql(
                "INSERT INTO checkpoints "
                "(origin, size, root, note, key_name, verifier_key, created_at) "
                "VALUES (?,?,?,?,?,?,?)"
            ),
            [origin, size, root, note, verifier.name, verifier.text, created_at],
        )
        latest = self.latest_checkpoint(c)
        assert latest is not None
        return latest

    # --- verification ---------------------------------------------------------

    def _leaf_hashes(self, rows: Sequence[Sequence[Any]]) -> list[bytes | None]:
        """Recompute the leaf hash of each stored row; None where a row cannot be a leaf."""
        sha256 = hashlib.sha256
        to_bytes = self.dialect.originator_bytes
        canonical = self.dialect.originators_canonical
        pack = msgpack.Packer(use_bin_type=True).pack
        if canonical([row[1] for row in rows]):
            try:
                # The hot loop of verification: one pack and one hash per row, nothing else.
                return [
                    sha256(b"\x00" + pack((n, to_bytes(o), v, t, s))).digest()
                    for n, o, v, t, s in rows
                ]
            except (ValueError, TypeError):
                pass
        hashes: list[bytes | None] = []
        for n, o, v, t, s in rows:
            try:
                if not canonical([o]):
                    raise ValueError(o)
                hashes.append(sha256(b"\x00" + pack([n, to_bytes(o), v, t, s])).digest())
            except (ValueError, TypeError):
                hashes.append(None)
        return hashes

    def verify(
        self,
        c: Cursor,
        *,
        against: str | None = None,
        pubkey: Verifier | None = None,
        progress: Callable[[int], None] | None = None,
        second_process: Mapping[str, str] | None = None,
    ) -> Verification:
        """Recompute every leaf from the stored rows, every node and every checkpoint's
        root from the recomputed leaves, and every signature; see docs/integrity.md.
        With second_process (the store's settings), a log of SPLIT_FROM leaves or more
        has its second half checked by a second process (ledger/verify_worker.py)."""
        result = Verification()
        stored = self.checkpoints(c)
        result.checkpoints = stored
        # size -> what must have that root: (checkpoint id or None for --against, root)
        expected: dict[int, list[tuple[int | None, bytes]]] = {}
        for cp in stored:
            stated = self._check_stored_checkpoint(cp, result)
            if stated is not None:
                expected.setdefault(stated.size, []).append((cp.id, stated.root))
        unchecked: Problem | None = None
        if against is not None:
            theirs, unchecked = self._open_against(c, against, pubkey, stored)
            if theirs is not None:
                result.against = theirs
                expected.setdefault(theirs.size, []).append((None, theirs.root))
        result.tree_size = self.size(c)
        self._verify_stream(c, expected, result, progress, second_process)
        if unchecked is not None:
            result.problems.append(unchecked)
        return result

    def _check_stored_checkpoint(
        self, cp: StoredCheckpoint, result: Verification
    ) -> Checkpoint | None:
        where = f"checkpoint {cp.id} (size {cp.size})"
        try:
            stated = verify_checkpoint(cp.note, parse_verifier(cp.verifier_key))
        except CheckpointError as e:
            result.problems.append(
                Problem(f"{where} does not verify: {_lower_first(str(e))}", checkpoint=cp.id)
            )
            return None
        if (stated.origin, stated.size, stated.root) != (cp.origin, cp.size, cp.root):
            result.problems.append(
                Problem(
                    f"{where} was changed after it was signed: its stored origin, size or root "
                    f"differs from its signed note (size {stated.size}).",
                    checkpoint=cp.id,
                )
            )
        return stated

    def _open_against(
        self, c: Cursor, note: str, pubkey: Verifier | None, stored: Sequence[StoredCheckpoint]
    ) -> tuple[Checkpoint | None, Problem | None]:
        """What the outside checkpoint states, to check the log against, and a problem
        to report after those checks (the signature, when it could not be checked)."""
        unverified = parse_checkpoint_unverified(note)
        if pubkey is not None:
            candidates = [pubkey]
        else:
            names = _signer_names(note)
            candidates = []
            for cp in stored:
                if cp.key_name in names:
                    with suppress(CheckpointError):  # a bad stored key is reported already
                        candidates.append(parse_verifier(cp.verifier_key))
            if not candidates:
                # Still worth checking what it states: deleting the stored checkpoints
                # (and their keys) must not hide a deleted tail.
                return unverified, Problem(
                    "the ledger holds no public key of the checkpoint given (signed by "
                    f"{', '.join(sorted(names)) or 'no one'}), so its signature was not "
                    "checked; give the key with --pubkey FILE."
                )
        failure = ""
        for verifier in dict.fromkeys(candidates):
            try:
                theirs = verify_checkpoint(note, verifier)
            except CheckpointError as e:
                failure = _lower_first(str(e))
                continue
            origin = self.origin(c)
            if origin is not None and theirs.origin != origin:
                return None, Problem(
                    f"the checkpoint given is for the log {theirs.origin}, not this "
                    f"ledger's log {origin}; give one of this ledger's checkpoints."
                )
            return theirs, None
        return None, Problem(
            f"the checkpoint given (size {unverified.size}) does not verify: {failure}"
        )

    def _verify_stream(
        self,
        c: Cursor,
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
        result: Verification,
        progress: Callable[[int], None] | None,
        second_process: Mapping[str, str] | None,
    ) -> None:
        """Check every page, in order, or, for a long log, the first half here and the
        second half (from a page boundary to the store's end) in a second process at
        the same time: the pages' checks are independent but for the subtrees before
        each page (the frontier). The second process takes those of its first page
        from the stored nodes, as it reads them, and this process then compares them
        with the ones it recomputed from the first half: the second half is checked
        against the same recomputed tree as when one process checks it all. That
        process reads its own snapshot, a moment later than this one's: events stored
        meanwhile are verified too; a change to the first half meanwhile shows as a
        changed node."""
        self._check_roots(expected, 0, {}, result)
        half = None if second_process is None else self._second_half(c)
        if second_process is None or half is None:
            frontier: dict[merkle.NodeKey, bytes] = {}
            if self.check_pages(c, expected, result, progress, frontier=frontier):
                self.check_end(c, expected, result)
            return
        split, after = half
        from ledger.verify_worker import VerifyWorker  # a process, only for long logs

        worker = VerifyWorker(
            second_process,
            start=split,
            after=after,
            expected={size: cps for size, cps in expected.items() if size > split},
            page_levels=PAGE_LEVELS,
        )

        def both(count: int) -> None:
            if progress is not None:
                progress(count + worker.progressed())

        try:
            frontier = {}
            checked = self.check_pages(c, expected, result, both, frontier=frontier, end=split)
            if not checked:
                return  # the first bad leaf or node is in the first half
            rest = worker.result(progress)
        finally:
            worker.stop()
        if rest is None:
            result.notes.append(
                f"the second process that checked the second half failed ({worker.failure}); "
                "this one checked it."
            )
            if self.check_pages(
                c, expected, result, progress, frontier=frontier, start=split, after=after
            ):
                self.check_end(c, expected, result)
            return
        theirs, events, tree_size, problems, complete = rest
        for key in merkle.subtree_keys(0, split):
            if theirs.get(key) != frontier[key]:
                # It read the stored subtrees before its half as this process had
                # checked them, unless the store changed in between.
                result.problems.append(_node_problem(key))
                result.events = split
                return
        result.events = events
        result.tree_size = tree_size
        result.problems.extend(problems)
        result.complete = complete

    def _second_half(self, c: Cursor) -> tuple[int, int] | None:
        """Where a second process should take over (a leaf index at a page boundary,
        and the notification id of the leaf before it), or None to check it all here."""
        size = self.size(c)
        if size < SPLIT_FROM:
            return None
        split = size // 2 >> PAGE_LEVELS << PAGE_LEVELS
        if split == 0:
            return None
        leaf = "SELECT notification_id FROM merkle_leaves WHERE idx = ?"
        c.execute(self.dialect.sql(leaf), [split - 1])
        row = c.fetchone()
        if row is None:
            return None  # a leaf was deleted: found as this process checks the first half
        return split, int(row[0])

    def check_pages(
        self,
        c: Cursor,
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
        result: Verification,
        progress: Callable[[int], None] | None,
        *,
        frontier: dict[merkle.NodeKey, bytes],
        start: int = 0,
        after: int = -(1 << 63),
        end: int | None = None,
    ) -> bool:
        """Check the pages of leaves from start (a page boundary; the first leaf is the
        first event after notification id after) up to end (None: the store's end):
        every leaf, every node inside a page, the nodes that joining each page to the
        ones before completes (frontier: the subtrees before start, kept up to date),
        and the roots of the checkpoints whose sizes end in these pages. Sets
        result.events to where it stopped; False if at a bad leaf or node."""
        sizes = sorted(expected)
        while end is None or start < end:
            c.execute(self._events_after, [after, PAGE])
            rows = c.fetchall()
            c.execute(self._leaves_between, [start, start + PAGE])
            stored = c.fetchall()
            if not rows and not stored:
                break
            hashes = self._leaf_hashes(rows)
            if list(zip(map(_first, rows), hashes, strict=True)) != stored:
                problem = self._leaf_problem(start, rows, hashes, stored)
                result.problems.append(problem)
                result.events = problem.leaf if problem.leaf is not None else start
                return False
            levels = self._check_page_nodes(c, start, cast(list[bytes], hashes), result)
            if levels is None:
                result.events = start
                return False
            count = len(hashes)
            in_page = [size for size in sizes if start < size <= start + count]
            for size in in_page:
                if size < start + PAGE:
                    self._check_roots(
                        expected, size, _nodes_for(size, start, frontier, levels), result
                    )
            if count == PAGE and not self._carry(
                c, start, levels[PAGE_LEVELS][0], frontier, result
            ):
                result.events = start
                return False
            if start + PAGE in in_page:
                self._check_roots(expected, start + PAGE, frontier, result)
            start += count
            after = rows[-1][0]
            if progress is not None:
                progress(count)
            if count < PAGE:
                break
        result.events = start
        return True

    def check_end(
        self,
        c: Cursor,
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
        result: Verification,
    ) -> None:
        """After the last page: checkpoints for more events than the store holds, and
        tree nodes that no leaves account for."""
        start = result.events
        for size in sorted(expected):
            if size > start:
                for checkpoint, _ in expected[size]:
                    what = (
                        f"checkpoint {checkpoint}"
                        if checkpoint is not None
                        else "the checkpoint given"
                    )
                    result.problems.append(
                        Problem(
                            f"{what} is for {size} events, but the store holds {start}: "
                            "events were deleted after it was signed.",
                            checkpoint=checkpoint,
                        )
                    )
        c.execute("SELECT COUNT(*) FROM merkle_nodes")
        nodes = int(c.fetchone()[0])
        if nodes != start - start.bit_count():
            result.problems.append(
                Problem(
                    f"the log holds {nodes} tree nodes where a tree of {start} leaves has "
                    f"{start - start.bit_count()}: nodes were added or removed outside the ledger."
                )
            )
            return
        result.complete = True

    @staticmethod
    def _leaf_problem(
        start: int,
        rows: Sequence[Sequence[Any]],
        hashes: Sequence[bytes | None],
        stored: Sequence[Sequence[Any]],
    ) -> Problem:
        for i, (row, hashed) in enumerate(zip(rows, hashes, strict=False)):
            if i >= len(stored):
                position = start + i
                return Problem(
                    f"the stored event at position {position} (notification id {row[0]}) is not "
                    "in the log: it was written to the store outside the ledger.",
                    leaf=position,
                    notification_id=row[0],
                )
            if row[0] != stored[i][0] or hashed != stored[i][1]:
                break
        else:
            i = len(rows)
        position = start + i
        nid = stored[i][0]
        if i >= len(rows):
            return Problem(
                f"leaf {position} (notification id {nid}) has no stored event: the stored "
                "events were deleted after they were logged.",
                leaf=position,
                notification_id=nid,
            )
        return Problem(
            f"leaf {position} (notification id {nid}) does not match the stored event: the "
            "stored events were changed after they were logged.",
            leaf=position,
            notification_id=nid,
        )

    def _check_page_nodes(
        self, c: Cursor, start: int, hashes: list[bytes], result: Verification
    ) -> list[list[bytes]] | None:
        """Rebuild every node inside the page from its leaves and compare the stored ones."""
        sha256 = hashlib.sha256
        levels = [hashes]
        statement = self.dialect.sql(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? "
            "ORDER BY idx"
        )
        for level in range(1, PAGE_LEVELS + 1):
            below = levels[-1]
            built = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(below[0::2], below[1::2], strict=False)
            ]
            first = start >> level
            c.execute(statement, [level, first, (start + PAGE) >> level])
            stored = c.fetchall()
            if list(zip(range(first, first + len(built)), built, strict=True)) != stored:
                index = _first_difference(stored, built, first)
                result.problems.append(_node_problem((level, index)))
                return None
            levels.append(built)
        return levels

    def _carry(
        self,
        c: Cursor,
        start: int,
        top: bytes,
        frontier: dict[merkle.NodeKey, bytes],
        result: Verification,
    ) -> bool:
        """Join a full page's subtree to the ones before it, as appending does, and
        compare the nodes this completes with the stored ones."""
        level, index, current = PAGE_LEVELS, start >> PAGE_LEVELS, top
        completed: dict[merkle.NodeKey, bytes] = {}
        while index & 1:
            current = merkle.node_hash(frontier.pop((level, index - 1)), current)
            level += 1
            index >>= 1
            completed[(level, index)] = current
        frontier[(level, index)] = current
        if not completed:
            return True
        stored = StoredNodes(self, c).get_nodes(list(completed))
        for key, hashed in completed.items():
            if stored.get(key) != hashed:
                result.problems.append(_node_problem(key))
                return False
        return True

    @staticmethod
    def _check_roots(
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
        size: int,
        nodes: Mapping[merkle.NodeKey, bytes],
        result: Verification,
    ) -> None:
        if size not in expected:
            return
        recomputed = merkle.root(nodes, size)
        for checkpoint, signed in expected[size]:
            if signed == recomputed:
                continue
            if checkpoint is None:
                message = (
                    f"the log does not extend the checkpoint given (size {size}): the root of "
                    f"the first {size} recomputed leaves differs from its signed root, so the "
                    "history was rewritten after it was signed."
                )
            else:
                message = (
                    f"checkpoint {checkpoint} (size {size}) does not match the stored events: "
                    f"the root of the first {size} recomputed leaves differs from its signed "
                    "root, so the history was rewritten after it was signed."
                )
            result.problems.append(Problem(message, checkpoint=checkpoint))


def _nodes_for(
    size: int,
    start: int,
    frontier: Mapping[merkle.NodeKey, bytes],
    levels: Sequence[Sequence[bytes]],
) -> dict[merkle.NodeKey, bytes]:
    """The recomputed subtrees that make up the tree of size leaves, for a size that
    ends inside the page starting at leaf start: whole pages before it, nodes inside it."""
    nodes: dict[merkle.NodeKey, bytes] = {}
    for level, index in merkle.subtree_keys(0, size):
        if index << level < start:
            nodes[(level, index)] = frontier[(level, index)]
        else:
            nodes[(level, index)] = levels[level][index - (start >> level)]
    return nodes


def _node_problem(key: merkle.NodeKey) -> Problem:
    return Problem(
        f"the stored tree node at level {key[0]}, index {key[1]} does not match the leaves "
        "below it: the tree's nodes were changed outside the ledger."
    )


def _first_difference(stored: Sequence[Sequence[Any]], built: Sequence[bytes], first: int) -> int:
    for offset, hashed in enumerate(built):
        if offset >= len(stored) or tuple(stored[offset]) != (first + offset, hashed):
            return first + offset
    return first + len(built)


_first = operator.itemgetter(0)


def _signer_names(note: str) -> set[str]:
    return {line[2:].partition(" ")[0] for line in note.splitlines() if line.startswith("\u2014 ")}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- the operations, over any store that keeps the log --------------------------


class LogStore(Protocol):
    """A recorder that keeps the log, and opens transactions on its database."""

    log: TransparencyLog

    def log_transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]: ...


def verify(
    store: LogStore,
    *,
    against: str | None = None,
    pubkey: Verifier | None = None,
    progress: Callable[[int], None] | None = None,
    second_process: Mapping[str, str] | None = None,
) -> Verification:
    """Verify the whole log in one read transaction (one consistent snapshot), and,
    for a long log with second_process given (the store's settings), its second half
    in a second process's; see TransparencyLog._verify_stream."""
    started = time.perf_counter()
    with store.log_transaction(commit=False) as c:
        result = store.log.verify(
            c, against=against, pubkey=pubkey, progress=progress, second_process=second_process
        )
    result.seconds = time.perf_counter() - started
    return result


def timed_verify(
    store: LogStore, second_process: Mapping[str, str] | None = None
) -> tuple[int, float]:
    """Verify the log and return (events verified, seconds), for the bench; a log that
    does not verify raises LogMismatch, since its speed would mean nothing, and a
    second process that failed RuntimeError, since the speed would be another's."""
    result = verify(store, second_process=second_process)
    if not result.ok:
        raise LogMismatch(result.problems[0].message if result.problems else "verify stopped.")
    if result.notes:
        raise RuntimeError(result.notes[0])
    return result.events, result.seconds


def make_checkpoint(
    store: LogStore, signer: Signer, *, origin: str | None, default_origin: str, now: datetime
) -> StoredCheckpoint:
    """Extend the tree to the store's end, then sign and keep a checkpoint of it."""
    with store.log_transaction(commit=True) as c:
        c.execute(store.log.dialect.write_lock)
        store.log.catch_up(c)
        remembered = store.log.origin(c)
        if origin is not None and remembered is not None and origin != remembered:
            raise RuleViolation(
                f"this ledger's checkpoints are for the log {remembered}, and a log keeps one "
                f"origin; leave out --origin (or give --origin {remembered})."
            )
        chosen = origin or remembered or default_origin
        try:
            return store.log.record_checkpoint(c, chosen, signer, now.isoformat())
        except CheckpointError as e:
            raise InvalidInput(str(e)) from None


def consistency(store: LogStore, old: int, new: int) -> dict[str, Any]:
    """The RFC 9162 consistency proof between two sizes, with both roots, in hex."""
    with store.log_transaction(commit=False) as c:
        proof = store.log.consistency_proof(c, old, new)
        old_root = store.log.root(c, old)
        new_root = store.log.root(c, new)
    return {
        "old_size": old,
        "new_size": new,
        "old_root": old_root.hex(),
        "new_root": new_root.hex(),
        "proof": [hashed.hex() for hashed in proof],
    }


# --- audit bundles -------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEvent:
    """One of a household's stored events, its leaf, and its inclusion proof."""

    index: int
    notification_id: int
    version: int
    topic: str
    state: bytes
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class HouseholdProof:
    household: str
    originator_id: UUID
    checkpoint: StoredCheckpoint
    events: list[ProvenEvent]


def prove_household(store: LogStore, code: str) -> HouseholdProof:
    """Every event of a household's own aggregate, with its inclusion proof in the
    latest checkpoint; refused if the checkpoint does not cover them all yet."""
    originator = household_id(code)
    log = store.log
    d = log.dialect
    make_one = "make a checkpoint first: oneruler checkpoint --key FILE."
    with store.log_transaction(commit=False) as c:
        c.execute(
            d.sql(
                f"SELECT {d.notification_id}, originator_version, topic, state "
                f"FROM {d.events_table} WHERE originator_id = ? ORDER BY originator_version"
            ),
            [d.originator_param(originator)],
        )
        rows = c.fetchall()
        if not rows:
            raise NotFound(f"unknown household {code}: check the code, or register it first.")
        checkpoint = log.latest_checkpoint(c)
        if checkpoint is None:
            raise RuleViolation(f"the ledger has no checkpoint yet; {make_one}")
        leaves = log.leaves_of(c, [row[0] for row in rows])
        events: list[ProvenEvent] = []
        for nid, version, topic, state in rows:
            if nid not in leaves:
                raise LogMismatch(
                    f"version {version} of household {code} (notification id {nid}) is not in "
                    "the log; run oneruler verify."
                )
            index, logged = leaves[nid]
            leaf = leaf_bytes(nid, originator.bytes, version, topic, state)
            if merkle.leaf_hash(leaf) != logged:
                raise LogMismatch(
                    f"leaf {index} (notification id {nid}) does not match the stored event: the "
                    "stored events were changed after they were logged; run oneruler verify."
                )
            events.append(ProvenEvent(index, nid, version, topic, state, leaf, []))
        newest = events[-1].index
        if newest >= checkpoint.size:
            raise RuleViolation(
                f"household {code}'s newest event (leaf {newest}) is after the latest checkpoint "
                f"(size {checkpoint.size}); {make_one}"
            )
        reader = StoredNodes(log, c)
        try:
            verify_checkpoint(checkpoint.note, parse_verifier(checkpoint.verifier_key))
        except CheckpointError:
            signed = False
        else:
            signed = merkle.root(reader, checkpoint.size) == checkpoint.root
        if not signed:
            raise LogMismatch(
                f"checkpoint {checkpoint.id} does not match its signature or the log's tree; "
                "run oneruler verify."
            )
        proven = [
            replace(e, proof=merkle.inclusion_proof(reader, e.index, checkpoint.size))
            for e in events
        ]
    return HouseholdProof(code, originator, checkpoint, proven)


def bundle(proof: HouseholdProof, decoded: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The audit bundle (docs/integrity.md); decoded[i] describes proof.events[i] for people."""
    return {
        "format": BUNDLE_FORMAT,
        "household": proof.household,
        "checkpoint": proof.checkpoint.note,
        "public_key": proof.checkpoint.verifier_key,
        "events": [
            {
                "index": event.index,
                "leaf": event.leaf.hex(),
                "proof": [hashed.hex() for hashed in event.proof],
                "decoded": dict(readable),
            }
            for event, readable in zip(proof.events, decoded, strict=True)
        ],
    }


@dataclass(frozen=True)
class AuditReport:
    household: str
    events: int
    checkpoint: Checkpoint
    key: Verifier

    def summary(self) -> str:
        return (
            f"OK: household {self.household}: its {self.events} events (versions 1 to "
            f"{self.events}) are in the log {self.checkpoint.origin} at size "
            f"{self.checkpoint.size}, signed by {self.key.name}+{self.key.key_id.hex()}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "household": self.household,
            "events": self.events,
            "origin": self.checkpoint.origin,
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "key": self.key.text,
        }


def _field(document: Mapping[str, Any], name: str, kind: type, where: str = "the bundle") -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleRejected(
            f"{where} has no valid {name!r} ({kind.__name__}): it is not an audit bundle "
            "as oneruler writes them."
        )
    return value


def _hex(text: Any, what: str) -> bytes:
    if isinstance(text, str):
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            pass
        else:
            if raw.hex() == text.lower():
                return raw
    raise BundleRejected(f"{what} is not hexadecimal; the bundle was altered.")


def audit_verify(document: Any, pubkey: Verifier | None = None) -> AuditReport:
    """Check an audit bundle with nothing but the bundle (and, best, the office's public
    key from elsewhere): the signature, every inclusion, and a gap-free household."""
    if not isinstance(document, Mapping):
        raise BundleRejected("the file is not a JSON object: it is not an audit bundle.")
    if document.get("format") != BUNDLE_FORMAT:
        raise BundleRejected(
            f"the bundle's format is {document.get('format')!r}, not {BUNDLE_FORMAT!r}; "
            "this verifier reads only that format."
        )
    household: str = _field(document, "household", str)
    note: str = _field(document, "checkpoint", str)
    key_text: str = _field(document, "public_key", str)
    events: list[Any] = _field(document, "events", list)
    try:
        key = parse_verifier(key_text)
    except CheckpointError as e:
        raise BundleRejected(
            f"the bundle's public key is unusable: {_lower_first(str(e))}"
        ) from None
    if pubkey is not None and key != pubkey:
        raise BundleRejected(
            f"the bundle's public key ({key.text}) is not the one given with --pubkey "
            f"({pubkey.text}): the bundle was not signed by that office."
        )
    try:
        checkpoint = verify_checkpoint(note, key)
    except CheckpointError as e:
        raise BundleRejected(
            f"the bundle's checkpoint does not verify: {_lower_first(str(e))}"
        ) from None
    if not events:
        raise BundleRejected("the bundle holds no events: there is nothing to check.")
    expected_originator = household_id(household).bytes
    decoded_leaves: list[tuple[int, int]] = []  # (version, index)
    for number, event in enumerate(events, start=1):
        where = f"event {number} of the bundle"
        if not isinstance(event, Mapping):
            raise BundleRejected(f"{where} is not a JSON object; the bundle was altered.")
        index: int = _field(event, "index", int, where)
        leaf = _hex(event.get("leaf"), f"{where}'s leaf")
        proof_texts: list[Any] = _field(event, "proof", list, where)
        proof = [_hex(text, f"a proof hash of {where}") for text in proof_texts]
        if not merkle.verify_inclusion(
            merkle.leaf_hash(leaf), index, checkpoint.size, proof, checkpoint.root
        ):
            raise BundleRejected(
                f"{where} (leaf {index}) is not in the checkpoint's tree: its inclusion proof "
                "does not lead to the signed root."
            )
        version = _check_leaf(leaf, where, index, household, expected_originator)
        decoded_leaves.append((version, index))
    decoded_leaves.sort()
    versions = [version for version, _ in decoded_leaves]
    for expected, version in enumerate(versions, start=1):
        if version != expected:
            wrong = (
                f"version {version} appears twice"
                if version < expected
                else (f"version {expected} is missing")
            )
            raise BundleRejected(
                f"household {household}'s events in the bundle do not run from version 1 "
                f"without a gap: {wrong}."
            )
    indexes = [index for _, index in decoded_leaves]
    if indexes != sorted(set(indexes)):
        raise BundleRejected(
            f"household {household}'s events are not in the log in version order: a version was "
            "logged before an earlier one, which the ledger never does."
        )
    return AuditReport(household, len(versions), checkpoint, key)


def _check_leaf(leaf: bytes, where: str, index: int, household: str, originator: bytes) -> int:
    """Decode a leaf and check it is an event of the household; return its version."""
    try:
        fields = msgpack.unpackb(leaf, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises several unrelated types on malformed input
        fields = None
    if not (
        isinstance(fields, list)
        and len(fields) == 5
        and _is_int(fields[0])
        and isinstance(fields[1], bytes)
        and len(fields[1]) == 16
        and _is_int(fields[2])
        and fields[2] >= 1
        and isinstance(fields[3], str)
        and isinstance(fields[4], bytes)
    ):
        raise BundleRejected(
            f"{where} (leaf {index}) is not a ledger leaf: it does not decode to "
            "[notification id, 16-byte originator id, version, topic, state]."
        )
    if fields[1] != originator:
        raise BundleRejected(
            f"{where} (leaf {index}) is an event of {UUID(bytes=fields[1])}, not of household "
            f"{household} ({UUID(bytes=originator)}): the bundle mixes in another record."
        )
    version: int = fields[2]
    return version


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
