"""The completeness map (docs/integrity.md): a compact sparse Merkle tree from each
aggregate's 16-byte id to its latest version and that version's leaf index, its
proofs and their check. Pure: hashing only, so the auditor's side can use it."""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "BUCKET_BITS",
    "EMPTY",
    "KEY_BITS",
    "KEY_SIZE",
    "Entry",
    "MapProof",
    "Subtree",
    "Top",
    "bucket_of",
    "bucket_subtree",
    "bucket_subtrees",
    "combine",
    "entry_hash",
    "node_hash",
    "proof_root",
    "prove",
    "prove_within",
    "root",
    "root_of",
    "top_from_buckets",
    "update_top",
    "walk_top",
]

KEY_SIZE = 16
KEY_BITS = 8 * KEY_SIZE
# A subtree with no entries.
EMPTY = bytes(32)
# Domain separation from the log's own leaves (0x00) and nodes (0x01) of RFC 9162:
# no map hash can be taken for a log hash, or the other way round.
_ENTRY = b"\x02"
_NODE = b"\x03"

# The map is kept (and rebuilt) a bucket at a time: the subtrees at this depth, one
# per 16-bit prefix of the id. An implementation detail; the tree itself is the same
# whatever the bucket depth.
BUCKET_BITS = 16
_BUCKET_SHIFT = KEY_BITS - BUCKET_BITS

# (entries in it, its hash): a subtree as its parent needs it. A subtree with one entry
# hashes to that entry's hash, so its parent must know how many it holds.
Subtree: TypeAlias = tuple[int, bytes]
# (depth, prefix as an integer of depth bits) -> the subtree there, for depths 0 to
# BUCKET_BITS; absent where the subtree is empty.
Top: TypeAlias = dict[tuple[int, int], Subtree]


@dataclass(frozen=True)
class Entry:
    """One aggregate in the map: its id as an integer of 128 bits, its latest version
    and that version's leaf index in the log."""

    key: int
    version: int
    index: int

    @property
    def key_bytes(self) -> bytes:
        return self.key.to_bytes(KEY_SIZE, "big")

    def hash(self) -> bytes:
        return entry_hash(self.key_bytes, self.version, self.index)


def entry_hash(key: bytes, version: int, index: int) -> bytes:
    """SHA-256(0x02 || 16-byte id || version || leaf index), both 8 bytes big-endian."""
    return hashlib.sha256(
        _ENTRY + key + version.to_bytes(8, "big") + index.to_bytes(8, "big")
    ).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x03 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def _bit(key: int, depth: int) -> int:
    """The bit that chooses the child at depth + 1: the id's bits, first bit first."""
    return (key >> (KEY_BITS - 1 - depth)) & 1


def _lift(hashed: bytes, key: int, deepest: int, depth: int) -> bytes:
    """A subtree of two entries or more at depth `deepest`, as the subtree at the
    shallower `depth` whose other children on the way are all empty."""
    node = hashlib.sha256
    for level in range(deepest - 1, depth - 1, -1):
        if _bit(key, level):
            hashed = node(_NODE + EMPTY + hashed).digest()
        else:
            hashed = node(_NODE + hashed + EMPTY).digest()
    return hashed


def _build(keys: Sequence[int], hashes: Sequence[bytes], lo: int, hi: int, depth: int) -> bytes:
    """The hash at `depth` of the subtree holding keys[lo:hi] (sorted, sharing their
    first `depth` bits): empty, the one entry's hash, or the node of its two halves."""
    if hi == lo:
        return EMPTY
    if hi - lo == 1:
        return hashes[lo]
    first = keys[lo]
    # Where the first and last keys part is where the subtree branches; above it every
    # level has one empty side.
    branch = KEY_BITS - (first ^ keys[hi - 1]).bit_length()
    shift = KEY_BITS - 1 - branch
    middle = bisect_left(keys, ((first >> shift) | 1) << shift, lo, hi)
    hashed = node_hash(
        _build(keys, hashes, lo, middle, branch + 1),
        _build(keys, hashes, middle, hi, branch + 1),
    )
    return _lift(hashed, first, branch, depth)


def root_of(entries: Iterable[Entry]) -> bytes:
    """The map's root over any entries (distinct ids), straight from the definition."""
    ordered = sorted(entries, key=lambda e: e.key)
    keys = [e.key for e in ordered]
    return _build(keys, [e.hash() for e in ordered], 0, len(ordered), 0)


# --- kept a bucket at a time --------------------------------------------------------


def bucket_of(key: int) -> int:
    return key >> _BUCKET_SHIFT


def bucket_subtree(entries: Sequence[Entry]) -> Subtree | None:
    """The subtree at BUCKET_BITS of one bucket's entries, sorted by id (None: empty)."""
    if not entries:
        return None
    keys = [e.key for e in entries]
    hashes = [e.hash() for e in entries]
    return len(entries), _build(keys, hashes, 0, len(entries), BUCKET_BITS)


_VERSION_INDEX = struct.Struct(">QQ").pack


def bucket_subtrees(rows: Iterable[tuple[bytes, int, int]]) -> dict[int, Subtree]:
    """The subtree of every bucket among rows of (16-byte id, version, leaf index),
    sorted by id: the whole map's hashing, so done without an object per entry."""
    sha256 = hashlib.sha256
    built: dict[int, Subtree] = {}
    keys: list[bytes] = []
    hashes: list[bytes] = []
    current = -1

    def close() -> None:
        if len(keys) == 1:
            built[current] = (1, hashes[0])
        elif keys:
            numbers = [int.from_bytes(k, "big") for k in keys]
            built[current] = (len(keys), _build(numbers, hashes, 0, len(keys), BUCKET_BITS))

    for key, version, index in rows:
        bucket = key[0] << 8 | key[1]
        if bucket != current:
            close()
            keys, hashes, current = [], [], bucket
        keys.append(key)
        hashes.append(sha256(_ENTRY + key + _VERSION_INDEX(version, index)).digest())
    close()
    return built


def combine(left: Subtree | None, right: Subtree | None) -> Subtree | None:
    """The parent of two subtrees: empty, the one entry's hash risen, or their node."""
    if left is None:
        return right if right is None or right[0] == 1 else (right[0], node_hash(EMPTY, right[1]))
    if right is None:
        return left if left[0] == 1 else (left[0], node_hash(left[1], EMPTY))
    return left[0] + right[0], node_hash(left[1], right[1])


def top_from_buckets(buckets: Mapping[int, Subtree]) -> Top:
    """Every non-empty subtree from the root down to the buckets."""
    top: Top = {(BUCKET_BITS, prefix): subtree for prefix, subtree in buckets.items()}
    update_top(top, buckets.keys())
    return top


def update_top(top: Top, changed: Iterable[int]) -> None:
    """After the buckets `changed` were replaced in `top` (or removed, when empty),
    recompute the subtrees above them up to the root."""
    level = set(changed)
    for depth in range(BUCKET_BITS - 1, -1, -1):
        parents = {prefix >> 1 for prefix in level}
        for parent in parents:
            joined = combine(
                top.get((depth + 1, parent << 1)), top.get((depth + 1, parent << 1 | 1))
            )
            if joined is None:
                top.pop((depth, parent), None)
            else:
                top[(depth, parent)] = joined
        level = parents


def root(top: Mapping[tuple[int, int], Subtree]) -> tuple[int, bytes]:
    """The map's entry count and root."""
    found = top.get((0, 0))
    return (0, EMPTY) if found is None else found


# --- proofs ------------------------------------------------------------------------


@dataclass(frozen=True)
class MapProof:
    """What the map holds for one id, and the non-empty siblings (depth, hash) on its
    path, from the root down. `found` is the entry at the path's end: the id's own
    (it is in the map), another id's (it is not), or None (an empty subtree: it is not)."""

    key: int
    found: Entry | None
    siblings: tuple[tuple[int, bytes], ...]


def walk_top(
    top: Mapping[tuple[int, int], Subtree], key: int
) -> tuple[list[tuple[int, bytes]], int, Subtree | None]:
    """Follow an id's path down the kept subtrees until it ends (at an empty subtree or
    one of a single entry) or reaches its bucket: the siblings on the way, the depth
    reached and the subtree there."""
    siblings: list[tuple[int, bytes]] = []
    here = top.get((0, 0))
    depth = 0
    while depth < BUCKET_BITS and here is not None and here[0] > 1:
        prefix = key >> (KEY_BITS - depth - 1)
        other = top.get((depth + 1, prefix ^ 1))
        if other is not None:
            siblings.append((depth + 1, other[1]))
        here = top.get((depth + 1, prefix))
        depth += 1
    return siblings, depth, here


def prove_within(
    entries: Sequence[Entry], key: int, siblings: Sequence[tuple[int, bytes]]
) -> MapProof:
    """The rest of an id's proof inside the subtree where walk_top stopped, given its
    entries (sorted by id; none if it is empty)."""
    path = list(siblings)
    keys = [e.key for e in entries]
    hashes = [e.hash() for e in entries]
    lo, hi = 0, len(entries)
    while hi - lo > 1:
        first = keys[lo]
        branch = KEY_BITS - (first ^ keys[hi - 1]).bit_length()
        if (first ^ key) >> (KEY_BITS - branch):
            # The id leaves the subtree's path above its branch: its own side is empty.
            level = KEY_BITS - (first ^ key).bit_length()
            path.append((level + 1, _build(keys, hashes, lo, hi, level + 1)))
            return MapProof(key, None, tuple(path))
        shift = KEY_BITS - 1 - branch
        middle = bisect_left(keys, ((first >> shift) | 1) << shift, lo, hi)
        if _bit(key, branch):
            path.append((branch + 1, _build(keys, hashes, lo, middle, branch + 1)))
            lo = middle
        else:
            path.append((branch + 1, _build(keys, hashes, middle, hi, branch + 1)))
            hi = middle
    return MapProof(key, entries[lo] if hi > lo else None, tuple(path))


def prove(entries: Sequence[Entry], key: int) -> MapProof:
    """An id's proof in the map of `entries` (all of them, sorted by id)."""
    return prove_within(entries, key, [])


def proof_root(
    key: int, found: Entry | None, siblings: Sequence[tuple[int, bytes]]
) -> bytes | None:
    """The root a proof leads to (None: the proof is malformed). The path ends at the
    deepest sibling's depth, where `found` (or an empty subtree) is."""
    depth = 0
    for number, (at, hashed) in enumerate(siblings):
        if not (depth < at <= KEY_BITS) or len(hashed) != 32 or hashed == EMPTY:
            return None
        if number and at <= siblings[number - 1][0]:
            return None
        depth = at
    if found is not None:
        shift = KEY_BITS - depth
        if depth and found.key >> shift != key >> shift:
            return None  # that entry is not on this id's path
        hashed = found.hash()
    else:
        hashed = EMPTY
    given = dict(siblings)
    for level in range(depth, 0, -1):
        other = given.get(level, EMPTY)
        hashed = node_hash(other, hashed) if _bit(key, level - 1) else node_hash(hashed, other)
    return hashed
