"""The completeness map over a store that keeps the log (docs/integrity.md): each
aggregate's latest version and its leaf index, read from the stored events a bucket
(16-bit id prefix) at a time; the map head a checkpoint appends to the log's own
record; and the kept subtrees (map_nodes), which make a proof or the next map head
cost the buckets that changed rather than the whole map.

None of it runs when events are written: a map head is computed when a checkpoint is
made, from the leaves since the one before."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.log import smt
from ledger.log.record import (
    LOG_RECORD_ID,
    MAP_HEAD,
    MapHead,
    map_head_state,
    read_map_head,
)
from ledger.log.witnessed import cosigned_notes

if TYPE_CHECKING:
    from ledger.log.store import Cursor, TransparencyLog

__all__ = [
    "MAP_NODES",
    "Entries",
    "LogEvent",
    "append_log_event",
    "build_top",
    "extend_map",
    "kept_matches",
    "kept_top",
    "log_events",
    "map_heads",
    "nid_at",
    "path_top",
    "prove_key",
]

MAP_NODES = (
    "CREATE TABLE IF NOT EXISTS map_nodes ("
    "depth INTEGER NOT NULL, prefix INTEGER NOT NULL, entries {bigint} NOT NULL, "
    "hash {blob} NOT NULL, PRIMARY KEY (depth, prefix)){without_rowid}"
)

_BUCKET_SPAN = 1 << (smt.KEY_BITS - smt.BUCKET_BITS)
# Buckets read per statement when the whole map is built: 256 statements in all.
_BUCKETS_PER_READ = 256
_CHUNK = 400


# --- the log's own record ---------------------------------------------------------


@dataclass(frozen=True)
class LogEvent:
    """One event of the log's own record, with its leaf index."""

    index: int
    notification_id: int
    version: int
    topic: str
    state: bytes


def log_events(log: TransparencyLog, c: Cursor, *, before: int | None = None) -> list[LogEvent]:
    """The log's own events in order (those before leaf `before`, if given)."""
    d = log.dialect
    c.execute(
        d.sql(
            f"SELECT l.idx, e.{d.notification_id}, e.originator_version, e.topic, e.state "
            f"FROM {d.events_table} e JOIN merkle_leaves l ON l.notification_id = "
            f"e.{d.notification_id} WHERE e.originator_id = ?"
            + (" AND l.idx < ?" if before is not None else "")
            + " ORDER BY e.originator_version"
        ),
        [d.originator_param(LOG_RECORD_ID), *([before] if before is not None else [])],
    )
    return [LogEvent(int(i), int(n), int(v), t, bytes(s)) for i, n, v, t, s in c.fetchall()]


def map_heads(log: TransparencyLog, events: Iterable[LogEvent]) -> list[tuple[int, MapHead]]:
    """The map heads among the log's own events, decoded (those that cannot be are left
    out: verify names them)."""
    found = []
    for event in events:
        if event.topic == MAP_HEAD:
            head = read_map_head(_decoded(log, event.state))
            if head is not None:
                found.append((event.index, head))
    return found


def _decoded(log: TransparencyLog, state: bytes) -> Any:
    try:
        return log.codec.decode(state)
    except Exception:  # the codec's errors are its own (msgpack, a cipher)
        return None


def append_log_event(log: TransparencyLog, c: Cursor, topic: str, state: dict[str, Any]) -> int:
    """Store an event of the log's own record and log it, in the caller's write
    transaction (which holds the write lock); return its leaf index."""
    d = log.dialect
    c.execute(
        d.sql(f"SELECT MAX(originator_version) FROM {d.events_table} WHERE originator_id = ?"),
        [d.originator_param(LOG_RECORD_ID)],
    )
    version = int(c.fetchone()[0] or 0) + 1
    stored = log.codec.encode(state)
    c.execute(
        d.sql(
            f"INSERT INTO {d.events_table} (originator_id, originator_version, topic, state) "
            f"VALUES (?, ?, ?, ?){d.returning_id}"
        ),
        [d.originator_param(LOG_RECORD_ID), version, topic, stored],
    )
    if not d.returning_id:
        c.execute("SELECT last_insert_rowid()")
    nid = int(c.fetchone()[0])
    index = log.size(c)
    log.append(c, [(nid, LOG_RECORD_ID.bytes, version, topic, stored)])
    return index


# --- the entries, read from the stored events -------------------------------------


def nid_at(log: TransparencyLog, c: Cursor, index: int) -> int:
    c.execute(log.dialect.sql("SELECT notification_id FROM merkle_leaves WHERE idx = ?"), [index])
    row = c.fetchone()
    if row is None:
        raise LookupError(f"the log has no leaf {index}")
    return int(row[0])


class Entries:
    """The map's entries over the log's first `covers` leaves, read from the stored
    events: each id's latest version up to the last of those leaves, with its leaf
    index. Leaf i is notification id i + 1 in every ledger whose store never skipped an
    id; then no leaf's index is looked up."""

    def __init__(self, log: TransparencyLog, c: Cursor, covers: int) -> None:
        self.log, self.c, self.covers = log, c, covers
        self.bound = nid_at(log, c, covers - 1) if covers else None
        dense = self.bound == covers and nid_at(log, c, 0) == 1
        self.statement = log.dialect.sql(log.dialect.latest_versions(dense=dense))

    def rows(self, first: int, last: int) -> list[tuple[bytes, int, int]]:
        """(16-byte id, latest version, leaf index) of the ids from first to last
        (integers), by id."""
        if self.bound is None:
            return []
        d = self.log.dialect
        self.c.execute(
            self.statement,
            [d.originator_param(UUID(int=first)), d.originator_param(UUID(int=last)), self.bound],
        )
        to_bytes = d.originator_bytes
        return [(to_bytes(o), v, i) for o, v, i in self.c.fetchall()]

    def entries(self, first: int, last: int) -> list[smt.Entry]:
        return [
            smt.Entry(int.from_bytes(key, "big"), int(v), int(i))
            for key, v, i in self.rows(first, last)
        ]


def build_top(log: TransparencyLog, c: Cursor, covers: int) -> smt.Top:
    """The whole map over the log's first `covers` leaves, from the stored events."""
    if covers == 0:
        return {}
    reader = Entries(log, c, covers)
    span = _BUCKET_SPAN * _BUCKETS_PER_READ
    buckets: dict[int, smt.Subtree] = {}
    for first in range(0, 1 << smt.KEY_BITS, span):
        buckets.update(smt.bucket_subtrees(reader.rows(first, first + span - 1)))
    return smt.top_from_buckets(buckets)


def changed_buckets(log: TransparencyLog, c: Cursor, after: int, bound: int) -> set[int]:
    """The buckets of the ids written between two notification ids (after, bound]."""
    d = log.dialect
    c.execute(
        d.sql(
            f"SELECT DISTINCT originator_id FROM {d.events_table} "
            f"WHERE {d.notification_id} > ? AND {d.notification_id} <= ?"
        ),
        [after, bound],
    )
    to_bytes = d.originator_bytes
    return {smt.bucket_of(int.from_bytes(to_bytes(row[0]), "big")) for row in c.fetchall()}


# A statement costs about as much as reading this many entries (SQLite, from Python).
_STATEMENT_ROWS = 10
# Buckets that may share one statement (a block of adjacent ones).
_BLOCK_BITS = 6


def update_buckets(
    log: TransparencyLog, c: Cursor, top: smt.Top, buckets: Iterable[int], covers: int
) -> set[int]:
    """Rebuild the given buckets over the log's first `covers` leaves, and the
    subtrees above them; return the buckets. Adjacent buckets are read with one
    statement where that reads fewer rows than a statement each would cost: a small
    map has less than an entry a bucket, a large one dozens."""
    changed = set(buckets)
    held = smt.root(top)[0]
    per_bucket = held / (1 << smt.BUCKET_BITS)
    blocks: dict[int, list[int]] = {}
    for bucket in changed:
        blocks.setdefault(bucket >> _BLOCK_BITS, []).append(bucket)
    plans = []  # (members, read together), and what it costs in rows read
    cost = 0.0
    for members in blocks.values():
        together = (max(members) - min(members) + 1) * per_bucket + _STATEMENT_ROWS
        apart = len(members) * (per_bucket + _STATEMENT_ROWS)
        plans.append((members, together < apart))
        cost += min(together, apart)
    if cost > 2 * (held + _STATEMENT_ROWS * _BUCKETS_PER_READ):
        # Most of the map changed: reading all of it, 256 buckets a statement, costs less
        # (it rehashes every bucket and the whole top too, hence the factor 2).
        top.clear()
        top.update(build_top(log, c, covers))
        return changed
    reader = Entries(log, c, covers)
    for members, together in plans:
        if together:
            low, high = min(members), max(members)
            rows = reader.rows(low * _BUCKET_SPAN, (high + 1) * _BUCKET_SPAN - 1)
            wanted = set(members)
            subtrees = smt.bucket_subtrees(r for r in rows if (r[0][0] << 8 | r[0][1]) in wanted)
        else:
            subtrees = {}
            for bucket in members:
                first = bucket * _BUCKET_SPAN
                subtrees.update(smt.bucket_subtrees(reader.rows(first, first + _BUCKET_SPAN - 1)))
        for bucket in members:
            subtree = subtrees.get(bucket)
            if subtree is None:
                top.pop((smt.BUCKET_BITS, bucket), None)
            else:
                top[(smt.BUCKET_BITS, bucket)] = subtree
    smt.update_top(top, changed)
    return changed


# --- the kept subtrees ---------------------------------------------------------------


def _has_nodes_table(log: TransparencyLog, c: Cursor) -> bool:
    c.execute(log.dialect.table_exists, ["map_nodes"])
    row = c.fetchone()
    return row is not None and row[0] is not None


def kept_top(log: TransparencyLog, c: Cursor, head: MapHead | None) -> smt.Top | None:
    """The kept subtrees, if they are the map of `head` (else None: none are kept, or
    they are another's, as in a copy, which keeps the events but not this cache)."""
    if head is None or not _has_nodes_table(log, c):
        return None
    c.execute("SELECT depth, prefix, entries, hash FROM map_nodes")
    top: smt.Top = {(int(d), int(p)): (int(n), bytes(h)) for d, p, n, h in c.fetchall()}
    if smt.root(top) != (head.entries, head.root):
        return None
    return top


def kept_matches(log: TransparencyLog, c: Cursor, head: MapHead) -> bool:
    """Whether the kept subtrees are the map of `head` (their root is its root)."""
    if not _has_nodes_table(log, c):
        return False
    c.execute("SELECT entries, hash FROM map_nodes WHERE depth = 0 AND prefix = 0")
    row = c.fetchone()
    kept = (0, smt.EMPTY) if row is None else (int(row[0]), bytes(row[1]))
    return kept == (head.entries, head.root)


def path_top(log: TransparencyLog, c: Cursor, key: int) -> smt.Top:
    """The kept subtrees on an id's path and beside it (see kept_matches)."""
    wanted = [(0, 0)]
    for depth in range(1, smt.BUCKET_BITS + 1):
        prefix = key >> (smt.KEY_BITS - depth)
        wanted += [(depth, prefix), (depth, prefix ^ 1)]
    c.execute(
        log.dialect.sql(
            "SELECT depth, prefix, entries, hash FROM map_nodes WHERE "
            + " OR ".join(["(depth = ? AND prefix = ?)"] * len(wanted))
        ),
        [number for pair in wanted for number in pair],
    )
    return {(int(d), int(p)): (int(n), bytes(h)) for d, p, n, h in c.fetchall()}


def _keep(log: TransparencyLog, c: Cursor, top: smt.Top, changed: set[int] | None) -> None:
    """Write the subtrees above the changed buckets (None: all of them) to map_nodes."""
    d = log.dialect
    c.execute(MAP_NODES.format(bigint=d.bigint, blob=d.blob, without_rowid=d.without_rowid))
    if changed is None:
        c.execute("DELETE FROM map_nodes")
        keys = list(top)
    else:
        paths = {
            (smt.BUCKET_BITS - up, bucket >> up)
            for bucket in changed
            for up in range(smt.BUCKET_BITS + 1)
        }
        keys = sorted(paths)
        c.executemany(d.sql("DELETE FROM map_nodes WHERE depth = ? AND prefix = ?"), keys)
    d.insert_rows(
        c,
        "map_nodes",
        ("depth", "prefix", "entries", "hash"),
        [
            (depth, prefix, *top[(depth, prefix)])
            for depth, prefix in keys
            if (depth, prefix) in top
        ],
    )


# --- the map head a checkpoint appends -------------------------------------------------


def extend_map(log: TransparencyLog, c: Cursor, now: datetime) -> None:
    """Append a map head over the whole log as it stands, unless the log already ends
    with one; in the caller's write transaction, which holds the write lock."""
    size = log.size(c)
    events = log_events(log, c)
    if events and events[-1].topic == MAP_HEAD and events[-1].index == size - 1:
        return
    heads = map_heads(log, events)
    last = heads[-1] if heads else None
    top = kept_top(log, c, last[1]) if last is not None else None
    changed: set[int] | None = None
    if top is not None and last is not None:
        after = nid_at(log, c, last[1].covers - 1) if last[1].covers else -(1 << 63)
        bound = nid_at(log, c, size - 1)
        changed = update_buckets(log, c, top, changed_buckets(log, c, after, bound), size)
    else:
        top = build_top(log, c, size)
    _keep(log, c, top, changed)
    entries, root = smt.root(top)
    previous = None if last is None else (last[0], last[1].made_at)
    head = MapHead(size, root, entries, now, previous, _witnessed(log, c, previous))
    append_log_event(log, c, MAP_HEAD, map_head_state(head))


def _witnessed(
    log: TransparencyLog, c: Cursor, previous: tuple[int, datetime] | None
) -> str | None:
    """The checkpoint that ends at the previous map head, as kept with the witnesses'
    cosignatures (the one with most, of that size), for the new map head to carry."""
    if previous is None:
        return None
    found = cosigned_notes(log, c, previous[0] + 1)
    return found[0][1] if found else None


def prove_key(
    log: TransparencyLog, c: Cursor, head: MapHead, key: int, top: smt.Top | None = None
) -> smt.MapProof:
    """An id's proof in the map of `head`, from `top` (the whole map) or else the kept
    subtrees, which must be that map's (kept_matches)."""
    if top is None:
        top = path_top(log, c, key)
    siblings, depth, here = smt.walk_top(top, key)
    if here is None:
        return smt.MapProof(key, None, tuple(siblings))
    shift = smt.KEY_BITS - depth
    first = key >> shift << shift if depth else 0
    last = first + (1 << shift) - 1
    return smt.prove_within(Entries(log, c, head.covers).entries(first, last), key, siblings)
