"""The log's store: the Merkle tree and the checkpoints kept in tables beside the stored
events, what differs between databases (the dialects), appending in the events' own
transaction, the reads that proofs and checkpoints are made of, and a consistency
proof over a store that keeps the log. Making a checkpoint is keys.py's, with the map
head that mapstore.py appends."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.utils import register_topic

from domain.errors import InvalidInput, RuleViolation
from ledger import merkle
from ledger.checkpoint import Checkpoint, Signer, StoredCheckpoint, sign_note
from ledger.log.leaf import LeafRow, leaf_bytes
from ledger.log.record import KEY_TRANSITION, MAP_HEAD
from ledger.settings import DEFAULT, Settings
from ledger.transcoder import construct_transcoder

__all__ = [
    "SQLITE",
    "Cursor",
    "Dialect",
    "LogMismatch",
    "LogStore",
    "MapperCodec",
    "StateCodec",
    "StoredNodes",
    "TransparencyLog",
    "consistency",
    "postgres_dialect",
]

# Keeps every statement under SQLite's oldest bound-parameter limit (999).
_CHUNK = 400


class LogMismatch(RuleViolation):
    """The stored events and the log disagree: something was changed outside the ledger."""


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
    # What an INSERT of an event adds to give back its notification id (SQLite: nothing,
    # it is read with last_insert_rowid()).
    returning_id: str = ""
    # Whether a table exists: a row whose first column is not NULL.
    table_exists: str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
    # The latest version of each aggregate in a range of ids, up to a notification id:
    # SQLite takes a bare column from the row of the MAX(), PostgreSQL needs DISTINCT ON.
    distinct_on: bool = False

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

    def latest_versions(self, *, dense: bool) -> str:
        """The map's entries (id, latest version, its leaf index) for ids between two
        values, among the events up to a notification id, by id. Dense: every leaf's
        index is its notification id less one, so no leaf is looked up."""
        nid, events = self.notification_id, self.events_table
        if self.distinct_on:
            latest = (
                f"SELECT DISTINCT ON (originator_id) originator_id, originator_version AS "
                f"version, {nid} AS nid FROM {events} WHERE originator_id BETWEEN ? AND ? "
                f"AND {nid} <= ? ORDER BY originator_id, originator_version DESC"
            )
        else:
            latest = (
                f"SELECT originator_id, MAX(originator_version) AS version, {nid} AS nid "
                f"FROM {events} WHERE originator_id BETWEEN ? AND ? AND {nid} <= ? "
                "GROUP BY originator_id"
            )
        if dense:
            return (
                f"SELECT originator_id, version, nid - 1 FROM ({latest}) AS latest "
                "ORDER BY originator_id"
            )
        return (
            f"SELECT latest.originator_id, latest.version, l.idx FROM ({latest}) AS latest "
            "JOIN merkle_leaves l ON l.notification_id = latest.nid ORDER BY latest.originator_id"
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
        returning_id=" RETURNING notification_id",
        table_exists="SELECT to_regclass(%s)",
        distinct_on=True,
    )


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


class _LogEvent:
    """An event of the log's own record as the library's mapper decodes one, for
    whatever decodes every stored event (Ledger.all_events). Nothing replays them."""

    originator_id: UUID
    originator_version: int


class MapHeadRecorded(_LogEvent):
    pass


class KeyTransitionRecorded(_LogEvent):
    pass


register_topic(MAP_HEAD, MapHeadRecorded)
register_topic(KEY_TRANSITION, KeyTransitionRecorded)


class StateCodec(Protocol):
    """How the ledger encodes an event's state for the store (its mapper's transcoder,
    and any compression and encryption), for the log's own events."""

    def encode(self, state: dict[str, Any]) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class MapperCodec:
    """The log's own events encoded as the ledger encodes every event: its mapper's
    transcoder, then any compression and encryption (the library's order)."""

    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper

    def encode(self, state: dict[str, Any]) -> bytes:
        data: bytes = self.mapper.transcoder.encode(state)
        if self.mapper.compressor:
            data = self.mapper.compressor.compress(data)
        if self.mapper.cipher:
            data = self.mapper.cipher.encrypt(data)
        return data

    def decode(self, data: bytes) -> Any:
        if self.mapper.cipher:
            data = self.mapper.cipher.decrypt(data)
        if self.mapper.compressor:
            data = self.mapper.compressor.decompress(data)
        return self.mapper.transcoder.decode(data)


class TransparencyLog:
    """The Merkle tree and checkpoints, kept in tables beside the stored events and
    read and written through the caller's cursor (and so in the caller's transaction)."""

    def __init__(self, dialect: Dialect = SQLITE, settings: Settings = DEFAULT) -> None:
        self.dialect = dialect
        # The ledger's tuning: how its verification pages the leaves.
        self.settings = settings
        # How the log's own events (mapstore.py) are encoded: as the ledger's are, once
        # the ledger gives its mapper (Ledger.__init__); until then, its transcoder.
        self.codec: StateCodec = construct_transcoder()

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
        hashes = merkle.leaf_hashes([leaf_bytes(*row) for row in rows])
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
        self, c: Cursor, origin: str, signers: Sequence[Signer], created_at: str
    ) -> StoredCheckpoint:
        """Sign the tree as it stands with every key, and keep the signed note with
        their public keys (one per line)."""
        size = self.size(c)
        root = merkle.root(StoredNodes(self, c), size)
        note = sign_note(Checkpoint(origin, size, root).body(), *signers)
        verifiers = list(dict.fromkeys(signer.verifier() for signer in signers))
        c.execute(
            self.dialect.sql(
                "INSERT INTO checkpoints "
                "(origin, size, root, note, key_name, verifier_key, created_at) "
                "VALUES (?,?,?,?,?,?,?)"
            ),
            [
                origin,
                size,
                root,
                note,
                verifiers[0].name,
                "\n".join(v.text for v in verifiers),
                created_at,
            ],
        )
        latest = self.latest_checkpoint(c)
        assert latest is not None
        return latest


# --- the operations, over any store that keeps the log --------------------------


class LogStore(Protocol):
    """A recorder that keeps the log, and opens transactions on its database."""

    log: TransparencyLog

    def log_transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]: ...


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
