"""RFC 9162 Merkle tree hashes, proofs and proof checks over stored perfect subtrees."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeAlias

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "DictNodeReader",
    "MissingNodeError",
    "NodeKey",
    "NodeReader",
    "append_subtree",
    "consistency_proof",
    "frontier_keys",
    "inclusion_proof",
    "leaf_hash",
    "leaf_hashes",
    "new_perfect_nodes",
    "node_hash",
    "parent_hashes",
    "range_hash",
    "root",
    "subtree_keys",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

EMPTY_ROOT = hashlib.sha256(b"").digest()

# (level, index): the perfect subtree of 2**level leaves starting at leaf index * 2**level.
NodeKey: TypeAlias = tuple[int, int]


class NodeReader(Protocol):
    """Where stored perfect-subtree hashes come from (a database table, a dict, ...)."""

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Return the stored hash of each key that is present; absent keys are left out."""
        ...


# Anything proofs can be built from: a reader, or a plain mapping of stored hashes.
Nodes: TypeAlias = NodeReader | Mapping[NodeKey, bytes]


class MissingNodeError(LookupError):
    """A hash the computation needs is not in the node store."""


# The domain separation of RFC 9162: a leaf's hash can never be taken for a node's.
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


# The batch forms, for the log's hot loops (appending, verifying millions of leaves):
# the same hashes as leaf_hash and node_hash, with no call per hash.


def leaf_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    """Hash many leaves: leaf_hash of each, in order."""
    sha256 = hashlib.sha256
    return [sha256(_LEAF + data).digest() for data in leaves]


def parent_hashes(hashes: Sequence[bytes]) -> list[bytes]:
    """The level above a run of sibling hashes that starts with a left child: the
    node_hash of each pair, in order; a last hash without its right sibling has no
    parent yet and is left out."""
    sha256 = hashlib.sha256
    return [
        sha256(_NODE + left + right).digest()
        for left, right in zip(hashes[0::2], hashes[1::2], strict=False)
    ]


def _split_point(n: int) -> int:
    """The largest power of two strictly below n (n >= 2), where MTH splits a list."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_keys(start: int, end: int) -> list[NodeKey]:
    """Return the perfect subtrees, left to right, whose combination is MTH(D[start:end]).

    Only ranges that the RFC 9162 recursion can produce are accepted: start must be a
    multiple of the largest power of two not above the range's size, so that every piece
    is an aligned, storable subtree.
    """
    if start < 0 or end < start:
        raise ValueError(
            f"The leaf range [{start}, {end}) is not a valid range; use 0 <= start <= end."
        )
    size = end - start
    if size == 0:
        return []
    top = size.bit_length() - 1
    if start % (1 << top):
        raise ValueError(
            f"The leaf range [{start}, {end}) is not one the Merkle tree ever hashes; "
            f"its start must be a multiple of {1 << top}."
        )
    keys: list[NodeKey] = []
    position = start
    for level in range(top, -1, -1):
        if size >> level & 1:
            keys.append((level, position >> level))
            position += 1 << level
    return keys


def _fetch(reader: Nodes, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """Fetch every key in one read and insist that all of them are there."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    if isinstance(reader, Mapping):
        found = {key: reader[key] for key in wanted if key in reader}
    else:
        found = reader.get_nodes(wanted)
    for key in wanted:
        if key not in found:
            level, index = key
            raise MissingNodeError(
                f"The node store has no hash for the subtree at level {level}, index {index}; "
                "extend the tree over the stored events before asking for it."
            )
    # Keep only what was asked for, so a reader that returns extra rows cannot leak
    # unrelated nodes into a computation.
    return {key: found[key] for key in wanted}


def _combine(fetched: Mapping[NodeKey, bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) from already fetched perfect-subtree hashes."""
    keys = subtree_keys(start, end)
    if not keys:
        return EMPTY_ROOT
    # MTH(p1, p2, ..., pk) = node(p1, MTH(p2, ..., pk)) because the pieces shrink
    # left to right, so the smallest pieces must be folded together first.
    result = fetched[keys[-1]]
    for key in reversed(keys[:-1]):
        result = node_hash(fetched[key], result)
    return result


def range_hash(reader: Nodes, start: int, end: int) -> bytes:
    """Return the RFC 9162 MTH of leaves [start, end) from stored perfect subtrees."""
    return _combine(_fetch(reader, subtree_keys(start, end)), start, end)


def root(reader: Nodes, size: int) -> bytes:
    """Return the tree head (MTH) of the first size leaves; EMPTY_ROOT for size 0."""
    if size < 0:
        raise ValueError(f"A tree cannot have {size} leaves; use a size of 0 or more.")
    return range_hash(reader, 0, size)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[0:size]), nearest the leaf first."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(first, D[0:second]) for 0 < first < second."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, second
    whole_old_tree = True
    while first != end:
        k = _split_point(end - start)
        if first <= start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            whole_old_tree = False
    if not whole_old_tree:
        # SUBPROOF(m, D[m], false): the verifier cannot rebuild this node from the old
        # root alone, so it has to be sent.
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _hashes_for(reader: Nodes, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """Compute the MTH of each range, reading every needed node in a single fetch."""
    keys = [key for start, end in ranges for key in subtree_keys(start, end)]
    fetched = _fetch(reader, keys)
    return [_combine(fetched, start, end) for start, end in ranges]


def inclusion_proof(reader: Nodes, index: int, size: int) -> list[bytes]:
    """Return the RFC 9162 inclusion path for leaf index in the tree of size leaves."""
    if not 0 <= index < size:
        raise ValueError(
            f"Leaf {index} is not in a tree of {size} leaves; use an index below the size."
        )
    return _hashes_for(reader, _inclusion_ranges(index, size))


def consistency_proof(reader: Nodes, first: int, second: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof from tree size first to tree size second."""
    if not 0 <= first <= second:
        raise ValueError(
            f"No consistency proof exists from size {first} to size {second}; "
            "the first size must be between 0 and the second."
        )
    if first in (0, second):
        return []
    return _hashes_for(reader, _consistency_ranges(first, second))


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(value: object) -> bool:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes, bytearray)):
        return False
    return all(_is_hash(item) for item in value)


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof exactly as RFC 9162 section 2.1.3.2 prescribes."""
    if not (_is_size(index) and _is_size(size) and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not _is_proof(proof):
        return False
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof exactly as RFC 9162 section 2.1.4.2 prescribes."""
    if not (_is_size(first) and _is_size(second) and _is_hash(first_root)):
        return False
    if not _is_hash(second_root):
        return False
    if not _is_proof(proof):
        return False
    if first > second:
        return False
    if first == 0:
        # The empty tree is a prefix of every tree, so nothing needs proving, but the
        # claimed old root must really be the empty tree's.
        if len(proof) != 0 or first_root != EMPTY_ROOT:
            return False
        return second != 0 or second_root == EMPTY_ROOT
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if len(proof) == 0:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def frontier_keys(size: int) -> list[NodeKey]:
    """The perfect subtrees a tree of size leaves is made of, largest (leftmost) first.

    These are the only stored nodes that appending more leaves ever combines with.
    """
    if size < 0:
        raise ValueError(f"A tree cannot have {size} leaves; use a size of 0 or more.")
    return subtree_keys(0, size)


def new_perfect_nodes(
    existing_size: int, new_leaf_hashes: Sequence[bytes], reader: Nodes
) -> list[tuple[NodeKey, bytes]]:
    """Return every perfect-subtree node completed by appending leaves to the tree.

    The result includes the new leaves themselves at level 0, in the order they become
    complete. Only the existing tree's frontier (one node per set bit of existing_size)
    is read, in a single fetch.
    """
    if existing_size < 0:
        raise ValueError(f"A tree cannot have {existing_size} leaves; use a size of 0 or more.")
    for position, hashed in enumerate(new_leaf_hashes, start=existing_size):
        if not _is_hash(hashed):
            raise ValueError(
                f"The hash for leaf {position} is not {HASH_SIZE} bytes; pass leaf hashes, "
                "not leaf data."
            )
    if not new_leaf_hashes:
        return []
    frontier = _fetch(reader, frontier_keys(existing_size))
    created: list[tuple[NodeKey, bytes]] = []
    for position, hashed in enumerate(new_leaf_hashes, start=existing_size):
        created.append(((0, position), hashed))
        created.extend(append_subtree(frontier, 0, position, hashed))
    return created


def append_subtree(
    frontier: dict[NodeKey, bytes], level: int, index: int, hashed: bytes
) -> list[tuple[NodeKey, bytes]]:
    """Append the perfect subtree (level, index) to the tree it ends, and return every
    node this completes above it, lowest first.

    frontier holds the hashes of frontier_keys(index << level), the subtrees of the
    tree before it, and is left holding those of the tree with it. Those are the left
    siblings still waiting for a right partner: one per set bit of the tree's size,
    joined like the carries of a binary counter.
    """
    completed: list[tuple[NodeKey, bytes]] = []
    while index & 1:
        hashed = node_hash(frontier.pop((level, index - 1)), hashed)
        level += 1
        index >>= 1
        completed.append(((level, index), hashed))
    frontier[(level, index)] = hashed
    return completed


class DictNodeReader:
    """A node store held in a dict, for tests and for building trees in memory."""

    def __init__(self, nodes: Mapping[NodeKey, bytes] | None = None) -> None:
        self.nodes: dict[NodeKey, bytes] = dict(nodes or {})
        self.size = sum(1 for level, _ in self.nodes if level == 0)

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> DictNodeReader:
        """Build the stored nodes of a whole tree from its leaf hashes."""
        reader = cls()
        reader.append(leaf_hashes)
        return reader

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return {key: self.nodes[key] for key in keys if key in self.nodes}

    def append(self, leaf_hashes: Sequence[bytes]) -> list[tuple[NodeKey, bytes]]:
        """Append leaf hashes, store every node they complete, and return those nodes."""
        created = new_perfect_nodes(self.size, leaf_hashes, self)
        self.nodes.update(created)
        self.size += len(leaf_hashes)
        return created
