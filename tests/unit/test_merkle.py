"""Tests for the RFC 9162 Merkle tree maths in ledger.merkle."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    DictNodeReader,
    MissingNodeError,
    NodeKey,
    append_subtree,
    consistency_proof,
    frontier_keys,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    new_perfect_nodes,
    node_hash,
    parent_hashes,
    range_hash,
    root,
    subtree_keys,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 reference leaves with their roots and proofs, kept with the tests so a
# clone of the project alone runs them.
VECTORS_PATH = Path(__file__).resolve().parents[1] / "vectors" / "merkle-rfc9162.json"


@cache
def _vectors() -> dict[str, Any]:
    with VECTORS_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


VECTORS = _vectors()
LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]
LEAF_HASHES = [leaf_hash(leaf) for leaf in LEAVES]
ROOTS = {int(size): bytes.fromhex(value) for size, value in VECTORS["roots"].items()}


def _store() -> DictNodeReader:
    return DictNodeReader.from_leaf_hashes(LEAF_HASHES)


# --- Naive reference implementations, straight from the RFC's recursive definitions ---


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(naive_mth(hashes[:k]), naive_mth(hashes[k:]))


def naive_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_mth(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_mth(hashes[:k])]


def naive_subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [naive_mth(hashes)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, hashes[:k], whole), naive_mth(hashes[k:])]
    return [*naive_subproof(m - k, hashes[k:], False), naive_mth(hashes[:k])]


def naive_perfect_nodes(hashes: Sequence[bytes]) -> dict[NodeKey, bytes]:
    nodes: dict[NodeKey, bytes] = {}
    level = 0
    while (1 << level) <= len(hashes):
        width = 1 << level
        for index in range(len(hashes) // width):
            nodes[(level, index)] = naive_mth(hashes[index * width : (index + 1) * width])
        level += 1
    return nodes


def inclusion_shape(m: int, n: int) -> list[str]:
    """Which side each PATH(m, D[n]) sibling sits on, from the RFC recursion."""
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*inclusion_shape(m, k), "right"]
    return [*inclusion_shape(m - k, n - k), "left"]


def consistency_shape(m: int, n: int, whole: bool = True) -> list[str]:
    """Where each PROOF(m, D[n]) node sits, from the RFC recursion."""
    if m == n:
        return [] if whole else ["old subtree"]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*consistency_shape(m, k, whole), "right"]
    return [*consistency_shape(m - k, n - k, False), "left"]


class CountingReader:
    """A reader that records every get_nodes call, to check the one-query promise."""

    def __init__(self, inner: DictNodeReader) -> None:
        self.inner = inner
        self.calls: list[list[NodeKey]] = []

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.calls.append(list(keys))
        return self.inner.get_nodes(keys)


def flip_bit(value: bytes, byte: int = 0, bit: int = 0) -> bytes:
    changed = bytearray(value)
    changed[byte] ^= 1 << bit
    return bytes(changed)


# --- The RFC 9162 vectors ---


def test_vectors_file_is_the_tests_own() -> None:
    assert VECTORS_PATH.is_file()
    assert VECTORS_PATH.parent.parent.name == "tests"
    assert len(LEAVES) == 8
    assert set(ROOTS) == set(range(1, 9))


def test_empty_root_matches_vector() -> None:
    assert bytes.fromhex(VECTORS["empty_root"]) == EMPTY_ROOT
    assert root(_store(), 0) == EMPTY_ROOT
    assert root({}, 0) == EMPTY_ROOT


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_vector_roots(size: int) -> None:
    assert root(_store(), size) == ROOTS[size]
    assert naive_mth(LEAF_HASHES[:size]) == ROOTS[size]


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"index{v['index']}-size{v['size']}"
)
def test_vector_inclusion_proofs(vector: dict[str, Any]) -> None:
    index, size = vector["index"], vector["size"]
    expected = [bytes.fromhex(h) for h in vector["path"]]
    assert inclusion_proof(_store(), index, size) == expected
    assert verify_inclusion(LEAF_HASHES[index], index, size, expected, ROOTS[size])


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}"
)
def test_vector_consistency_proofs(vector: dict[str, Any]) -> None:
    first, second = vector["first"], vector["second"]
    expected = [bytes.fromhex(h) for h in vector["proof"]]
    assert consistency_proof(_store(), first, second) == expected
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], expected)


def test_vectors_cover_every_pair() -> None:
    inclusion = {(v["index"], v["size"]) for v in VECTORS["inclusion"]}
    consistency = {(v["first"], v["second"]) for v in VECTORS["consistency"]}
    assert inclusion == {(i, n) for n in range(1, 9) for i in range(n)}
    assert consistency == {(m, n) for n in range(1, 9) for m in range(1, n)}


# --- Every mutation of a vector proof must fail ---


def _inclusion_mutations(
    leaf: bytes, index: int, size: int, path: list[bytes], tree_root: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    cases: list[tuple[str, bytes, int, int, list[bytes], bytes]] = []
    for i, item in enumerate(path):
        for byte, bit in ((0, 0), (15, 3), (31, 7)):
            changed = [*path[:i], flip_bit(item, byte, bit), *path[i + 1 :]]
            cases.append((f"flip {i}.{byte}.{bit}", leaf, index, size, changed, tree_root))
        cases.append((f"drop {i}", leaf, index, size, path[:i] + path[i + 1 :], tree_root))
        cases.append((f"duplicate {i}", leaf, index, size, [*path[: i + 1], *path[i:]], tree_root))
    extra = hashlib.sha256(b"extra").digest()
    cases.append(("extra at end", leaf, index, size, [*path, extra], tree_root))
    cases.append(("extra at start", leaf, index, size, [extra, *path], tree_root))
    cases.append(("extra root at end", leaf, index, size, [*path, tree_root], tree_root))
    if index > 0:
        cases.append(("index - 1", leaf, index - 1, size, path, tree_root))
    cases.append(("index + 1", leaf, index + 1, size, path, tree_root))
    for other in (size - 1, size + 1):
        if other in ROOTS:
            cases.append((f"size {other} with its root", leaf, index, other, path, ROOTS[other]))
    cases.append(("index = size", leaf, size, size, path, tree_root))
    cases.append(("flipped leaf", flip_bit(leaf), index, size, path, tree_root))
    cases.append(("flipped root", leaf, index, size, path, flip_bit(tree_root, 31, 7)))
    for other_size, other_root in ROOTS.items():
        if other_size != size:
            cases.append((f"root of {other_size}", leaf, index, size, path, other_root))
    cases.append(("empty root", leaf, index, size, path, EMPTY_ROOT))
    if path[::-1] != path:
        cases.append(("reversed", leaf, index, size, path[::-1], tree_root))
    return cases


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"index{v['index']}-size{v['size']}"
)
def test_mutated_inclusion_proofs_fail(vector: dict[str, Any]) -> None:
    index, size = vector["index"], vector["size"]
    path = [bytes.fromhex(h) for h in vector["path"]]
    cases = _inclusion_mutations(LEAF_HASHES[index], index, size, path, ROOTS[size])
    for name, leaf, m_index, m_size, m_path, m_root in cases:
        assert not verify_inclusion(leaf, m_index, m_size, m_path, m_root), name


def _consistency_mutations(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    cases: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = []
    for i, item in enumerate(proof):
        for byte, bit in ((0, 0), (15, 3), (31, 7)):
            changed = [*proof[:i], flip_bit(item, byte, bit), *proof[i + 1 :]]
            cases.append(
                (f"flip {i}.{byte}.{bit}", first, second, first_root, second_root, changed)
            )
        cases.append(
            (f"drop {i}", first, second, first_root, second_root, proof[:i] + proof[i + 1 :])
        )
        cases.append(
            (
                f"duplicate {i}",
                first,
                second,
                first_root,
                second_root,
                [*proof[: i + 1], *proof[i:]],
            )
        )
    extra = hashlib.sha256(b"extra").digest()
    cases.append(("extra at end", first, second, first_root, second_root, [*proof, extra]))
    cases.append(("extra at start", first, second, first_root, second_root, [extra, *proof]))
    cases.append(
        ("first root prepended", first, second, first_root, second_root, [first_root, *proof])
    )
    cases.append(("empty proof", first, second, first_root, second_root, []))
    cases.append(("first - 1", first - 1, second, first_root, second_root, proof))
    cases.append(("first + 1", first + 1, second, first_root, second_root, proof))
    for other in (second - 1, second + 1):
        if other in ROOTS:
            cases.append(
                (f"second {other} with its root", first, other, first_root, ROOTS[other], proof)
            )
    cases.append(("swapped sizes", second, first, second_root, first_root, proof))
    cases.append(("swapped roots", first, second, second_root, first_root, proof))
    cases.append(("flipped first root", first, second, flip_bit(first_root), second_root, proof))
    cases.append(("flipped second root", first, second, first_root, flip_bit(second_root), proof))
    for other_size, other_root in ROOTS.items():
        if other_size != first:
            cases.append(
                (f"first root of {other_size}", first, second, other_root, second_root, proof)
            )
        if other_size != second:
            cases.append(
                (f"second root of {other_size}", first, second, first_root, other_root, proof)
            )
    if proof[::-1] != proof:
        cases.append(("reversed", first, second, first_root, second_root, proof[::-1]))
    return cases


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}"
)
def test_mutated_consistency_proofs_fail(vector: dict[str, Any]) -> None:
    first, second = vector["first"], vector["second"]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    cases = _consistency_mutations(first, second, ROOTS[first], ROOTS[second], proof)
    for name, m_first, m_second, m_first_root, m_second_root, m_proof in cases:
        assert not verify_consistency(m_first, m_second, m_first_root, m_second_root, m_proof), name


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"index{v['index']}-size{v['size']}"
)
def test_inclusion_size_is_bound_only_through_the_proof_shape(vector: dict[str, Any]) -> None:
    # RFC 9162 hashes never include the tree size: a path checked against the same root
    # under a size whose path has the same shape computes the same hash. That is why a
    # checkpoint signs the size and the root together; any other size must fail.
    index, size = vector["index"], vector["size"]
    path = [bytes.fromhex(h) for h in vector["path"]]
    for other in (size - 1, size + 1, size + 2, 2 * size):
        same_shape = index < other and inclusion_shape(index, size) == inclusion_shape(index, other)
        assert verify_inclusion(LEAF_HASHES[index], index, other, path, ROOTS[size]) == (same_shape)


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}"
)
def test_consistency_size_is_bound_only_through_the_proof_shape(vector: dict[str, Any]) -> None:
    first, second = vector["first"], vector["second"]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    for other in (second - 1, second + 1, second + 2, 2 * second):
        same_shape = first < other and consistency_shape(first, second) == consistency_shape(
            first, other
        )
        result = verify_consistency(first, other, ROOTS[first], ROOTS[second], proof)
        assert result == same_shape


# --- Edge cases and malformed input ---


def test_consistency_with_equal_sizes() -> None:
    r5 = ROOTS[5]
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, ROOTS[6], [])
    assert not verify_consistency(5, 5, r5, r5, [r5])
    assert consistency_proof(_store(), 5, 5) == []


def test_consistency_from_the_empty_tree() -> None:
    assert consistency_proof(_store(), 0, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [ROOTS[5]])
    assert not verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert not verify_consistency(0, 0, ROOTS[1], ROOTS[1], [])


def test_inclusion_in_a_one_leaf_tree() -> None:
    assert inclusion_proof(_store(), 0, 1) == []
    assert verify_inclusion(LEAF_HASHES[0], 0, 1, [], ROOTS[1])
    assert not verify_inclusion(LEAF_HASHES[1], 0, 1, [], ROOTS[1])


MALFORMED_INCLUSION: list[tuple[object, ...]] = [
    (LEAF_HASHES[0], -1, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], 0, -1, [], ROOTS[8]),
    (LEAF_HASHES[0], 0, 0, [], EMPTY_ROOT),
    (LEAF_HASHES[0], 8, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], 9, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], True, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], 0.0, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], "0", "8", [], ROOTS[8]),
    (LEAF_HASHES[0][:31], 0, 8, [], ROOTS[8]),
    (LEAF_HASHES[0] + b"\x00", 0, 8, [], ROOTS[8]),
    (LEAF_HASHES[0].hex(), 0, 8, [], ROOTS[8]),
    (None, 0, 8, [], ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, [b"short"], ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, [None], ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, LEAF_HASHES[1], ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, "abc", ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, None, ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, 5, ROOTS[8]),
    (LEAF_HASHES[0], 0, 8, [], ROOTS[8][:16]),
    (LEAF_HASHES[0], 0, 8, [], None),
    (LEAF_HASHES[0], 0, 2**80, [LEAF_HASHES[1]] * 200, ROOTS[8]),
]


@pytest.mark.parametrize("args", MALFORMED_INCLUSION)
def test_verify_inclusion_rejects_malformed_input_without_raising(args: tuple[Any, ...]) -> None:
    assert verify_inclusion(*args) is False


MALFORMED_CONSISTENCY: list[tuple[object, ...]] = [
    (-1, 5, ROOTS[1], ROOTS[5], []),
    (1, -5, ROOTS[1], ROOTS[5], []),
    (6, 5, ROOTS[6], ROOTS[5], [LEAF_HASHES[5]]),
    (2, 1, ROOTS[2], ROOTS[1], []),
    (False, 5, EMPTY_ROOT, ROOTS[5], []),
    (0, True, EMPTY_ROOT, ROOTS[1], []),
    (1.0, 5, ROOTS[1], ROOTS[5], []),
    (1, 5, ROOTS[1][:31], ROOTS[5], []),
    (1, 5, ROOTS[1], ROOTS[5].hex(), []),
    (1, 5, None, ROOTS[5], []),
    (1, 5, ROOTS[1], ROOTS[5], None),
    (1, 5, ROOTS[1], ROOTS[5], "ab"),
    (1, 5, ROOTS[1], ROOTS[5], ROOTS[1]),
    (1, 5, ROOTS[1], ROOTS[5], [b"\x00" * 31]),
    (1, 5, ROOTS[1], ROOTS[5], [1, 2]),
    (1, 2, ROOTS[1], ROOTS[2], []),
    (1, 2**80, ROOTS[1], ROOTS[2], [LEAF_HASHES[1]] * 200),
]


@pytest.mark.parametrize("args", MALFORMED_CONSISTENCY)
def test_verify_consistency_rejects_malformed_input_without_raising(args: tuple[Any, ...]) -> None:
    assert verify_consistency(*args) is False


def test_builders_reject_impossible_requests() -> None:
    store = _store()
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(store, 8, 8)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(store, -1, 8)
    with pytest.raises(ValueError, match="No consistency proof"):
        consistency_proof(store, 6, 5)
    with pytest.raises(ValueError, match="No consistency proof"):
        consistency_proof(store, -1, 5)
    with pytest.raises(ValueError, match="cannot have"):
        root(store, -1)
    with pytest.raises(MissingNodeError, match="level 0, index 8"):
        root(store, 9)
    with pytest.raises(MissingNodeError):
        inclusion_proof(store, 0, 12)


def test_subtree_keys() -> None:
    assert subtree_keys(0, 0) == []
    assert subtree_keys(5, 5) == []
    assert subtree_keys(0, 1) == [(0, 0)]
    assert subtree_keys(0, 8) == [(3, 0)]
    assert subtree_keys(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert subtree_keys(8, 13) == [(2, 2), (0, 12)]
    assert subtree_keys(16, 22) == [(2, 4), (1, 10)]
    assert subtree_keys(6, 7) == [(0, 6)]
    assert subtree_keys(0, 1_000_000) == frontier_keys(1_000_000)
    assert len(frontier_keys(1_000_000)) == bin(1_000_000).count("1")
    for start, end in ((1, 3), (2, 6), (4, 12), (3, 5), (-1, 2), (5, 4)):
        with pytest.raises(ValueError):
            subtree_keys(start, end)


def test_range_hash_accepts_a_plain_mapping() -> None:
    nodes = dict(_store().nodes)
    assert range_hash(nodes, 0, 7) == ROOTS[7]
    assert range_hash(nodes, 4, 6) == naive_mth(LEAF_HASHES[4:6])


def test_each_operation_reads_the_store_once_with_few_keys() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(5_000)]
    reader = CountingReader(DictNodeReader.from_leaf_hashes(hashes))
    bound = 2 * (5_000).bit_length() + 2
    operations: list[Callable[[], object]] = [
        lambda: root(reader, 4_999),
        lambda: inclusion_proof(reader, 1_234, 4_999),
        lambda: inclusion_proof(reader, 4_998, 4_999),
        lambda: consistency_proof(reader, 1_235, 4_999),
        lambda: consistency_proof(reader, 4_095, 4_097),
        lambda: new_perfect_nodes(4_999, hashes[:1], reader),
    ]
    for operation in operations:
        reader.calls.clear()
        operation()
        assert len(reader.calls) == 1
        assert len(reader.calls[0]) <= bound
        assert len(set(reader.calls[0])) == len(reader.calls[0])


def test_new_perfect_nodes_for_a_large_batch() -> None:
    existing = [leaf_hash(i.to_bytes(4, "big")) for i in range(3_333)]
    batch = [leaf_hash(i.to_bytes(4, "big")) for i in range(3_333, 4_333)]
    store = DictNodeReader.from_leaf_hashes(existing)
    reader = CountingReader(store)
    created = new_perfect_nodes(3_333, batch, reader)
    assert len(reader.calls) == 1
    assert reader.calls[0] == frontier_keys(3_333)
    store.nodes.update(created)
    everything = DictNodeReader.from_leaf_hashes(existing + batch)
    assert store.nodes == everything.nodes
    assert root(store, 4_333) == naive_mth(existing + batch)


def test_new_perfect_nodes_edge_cases() -> None:
    reader = CountingReader(DictNodeReader())
    assert new_perfect_nodes(0, [], reader) == []
    assert new_perfect_nodes(0, [LEAF_HASHES[0]], reader) == [((0, 0), LEAF_HASHES[0])]
    assert reader.calls == []
    with pytest.raises(ValueError, match="not 32 bytes"):
        new_perfect_nodes(0, [b"raw leaf data"], reader)
    with pytest.raises(ValueError, match="cannot have"):
        new_perfect_nodes(-1, [LEAF_HASHES[0]], reader)
    with pytest.raises(MissingNodeError):
        new_perfect_nodes(3, [LEAF_HASHES[3]], DictNodeReader())


def test_the_batch_hashes_are_the_single_ones() -> None:
    assert leaf_hashes(LEAVES) == LEAF_HASHES
    assert leaf_hashes([]) == []
    pairs = [node_hash(LEAF_HASHES[i], LEAF_HASHES[i + 1]) for i in range(0, 8, 2)]
    assert parent_hashes(LEAF_HASHES) == pairs
    assert parent_hashes(pairs) == [ROOTS[4], node_hash(pairs[2], pairs[3])]
    # The last hash of an odd run waits for its right sibling.
    assert parent_hashes(LEAF_HASHES[:7]) == pairs[:3]
    assert parent_hashes(LEAF_HASHES[:1]) == parent_hashes([]) == []


def test_appending_a_subtree_completes_the_nodes_above_it() -> None:
    store = _store()
    frontier = {key: store.nodes[key] for key in frontier_keys(6)}
    # Leaves 6 and 7 as the subtree (1, 3): it completes (2, 1) and the whole tree.
    completed = append_subtree(frontier, 1, 3, store.nodes[(1, 3)])
    assert completed == [((2, 1), store.nodes[(2, 1)]), ((3, 0), ROOTS[8])]
    assert frontier == {(3, 0): ROOTS[8]}
    assert append_subtree(frontier, 0, 8, LEAF_HASHES[0]) == []
    assert frontier == {(3, 0): ROOTS[8], (0, 8): LEAF_HASHES[0]}


def test_dict_node_reader_counts_its_leaves() -> None:
    store = _store()
    assert store.size == 8
    assert len(store.nodes) == 15
    assert DictNodeReader(store.nodes).size == 8
    assert store.get_nodes([(3, 0), (9, 9)]) == {(3, 0): ROOTS[8]}


# --- Properties over random logs ---

# Draw the length first so that long logs are as common as short ones; a plain
# st.lists strategy mostly produces a handful of leaves.
logs = st.integers(0, 70).flatmap(
    lambda n: st.lists(st.binary(max_size=12), min_size=n, max_size=n)
)


@settings(max_examples=60, deadline=None)
@given(logs)
def test_root_matches_naive_mth_at_every_size(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    store = DictNodeReader.from_leaf_hashes(hashes)
    assert store.nodes == naive_perfect_nodes(hashes)
    for size in range(len(hashes) + 1):
        assert root(store, size) == naive_mth(hashes[:size])


@settings(max_examples=50, deadline=None)
@given(logs)
def test_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    store = DictNodeReader.from_leaf_hashes(hashes)
    for size in range(1, len(hashes) + 1):
        tree_root = naive_mth(hashes[:size])
        for index in range(size):
            proof = inclusion_proof(store, index, size)
            assert proof == naive_path(index, hashes[:size])
            assert verify_inclusion(hashes[index], index, size, proof, tree_root)


@settings(max_examples=50, deadline=None)
@given(logs)
def test_every_consistency_proof_verifies(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    store = DictNodeReader.from_leaf_hashes(hashes)
    roots = [naive_mth(hashes[:size]) for size in range(len(hashes) + 1)]
    for second in range(len(hashes) + 1):
        for first in range(second + 1):
            proof = consistency_proof(store, first, second)
            if 0 < first < second:
                assert proof == naive_subproof(first, hashes[:second], True)
            else:
                assert proof == []
            assert verify_consistency(first, second, roots[first], roots[second], proof)


@settings(max_examples=80, deadline=None)
@given(logs, st.data())
def test_wrong_proofs_fail_on_random_logs(leaves: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    if len(hashes) < 2:
        return
    store = DictNodeReader.from_leaf_hashes(hashes)
    size = data.draw(st.integers(2, len(hashes)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(store, index, size)
    tree_root = root(store, size)
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    byte = data.draw(st.integers(0, 31), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    tampered = [*proof[:position], flip_bit(proof[position], byte, bit), *proof[position + 1 :]]
    assert not verify_inclusion(hashes[index], index, size, tampered, tree_root)
    assert not verify_inclusion(hashes[index], index, size, proof[:-1], tree_root)
    first = data.draw(st.integers(1, size - 1), label="first")
    c_proof = consistency_proof(store, first, size)
    first_root = root(store, first)
    c_position = data.draw(st.integers(0, len(c_proof) - 1), label="c_position")
    c_tampered = [
        *c_proof[:c_position],
        flip_bit(c_proof[c_position], byte, bit),
        *c_proof[c_position + 1 :],
    ]
    assert verify_consistency(first, size, first_root, tree_root, c_proof)
    assert not verify_consistency(first, size, first_root, tree_root, c_tampered)
    assert not verify_consistency(first, size, first_root, tree_root, c_proof[:-1])
    assert not verify_consistency(first, size, flip_bit(first_root, byte, bit), tree_root, c_proof)


@settings(max_examples=80, deadline=None)
@given(logs, st.lists(st.integers(1, 20), min_size=1, max_size=70))
def test_appending_in_batches_stores_the_same_nodes(
    leaves: list[bytes], batch_sizes: list[int]
) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    store = DictNodeReader()
    position = 0
    sizes = iter(batch_sizes)
    while position < len(hashes):
        step = next(sizes, len(hashes) - position)
        batch = hashes[position : position + step]
        reader = CountingReader(store)
        created = new_perfect_nodes(position, batch, reader)
        assert len(reader.calls) <= 1
        assert sum(1 for (level, _), _ in created if level == 0) == len(batch)
        assert not set(dict(created)) & set(store.nodes)
        store.nodes.update(created)
        position += len(batch)
    assert store.nodes == DictNodeReader.from_leaf_hashes(hashes).nodes
    assert store.nodes == naive_perfect_nodes(hashes)
    assert root(store, len(hashes)) == naive_mth(hashes)
    for start in range(len(hashes) + 1):
        for end in range(start, len(hashes) + 1):
            size = end - start
            if size and start % (1 << (size.bit_length() - 1)):
                continue
            assert range_hash(store, start, end) == naive_mth(hashes[start:end])


@settings(max_examples=60, deadline=None)
@given(logs, st.integers(0, 4))
def test_appending_whole_pages_keeps_the_frontier_and_completes_the_stored_nodes(
    leaves: list[bytes], levels: int
) -> None:
    # As verification joins each full page of 2**levels leaves to the pages before it.
    hashes = [leaf_hash(leaf) for leaf in leaves]
    nodes = naive_perfect_nodes(hashes)
    frontier: dict[NodeKey, bytes] = {}
    for index in range(len(hashes) >> levels):
        for key, hashed in append_subtree(frontier, levels, index, nodes[(levels, index)]):
            assert nodes[key] == hashed
        size = (index + 1) << levels
        assert frontier == {key: nodes[key] for key in frontier_keys(size)}
        assert root(frontier, size) == naive_mth(hashes[:size])
