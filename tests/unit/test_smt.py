"""The completeness map's tree (ledger/log/smt.py) against its definition written here:
its root over any ids, kept a bucket at a time or built whole, and its proofs of what
it holds for an id (its entry, another id's, or nothing), which fail once altered."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger.log import smt
from ledger.log.smt import EMPTY, Entry

KEYS = st.one_of(
    st.integers(0, 2**128 - 1),
    # Ids sharing long prefixes, so that subtrees of one entry and long single-sided
    # paths are common.
    st.integers(0, 2**10 - 1).map(lambda low: (0xABCD << 112) | low),
    st.integers(0, 2**6 - 1).map(lambda high: high << 122),
)


def entries_of(keys: list[int]) -> list[Entry]:
    return sorted(
        (Entry(key, 1 + key % 7, key % 1_000_003) for key in set(keys)), key=lambda e: e.key
    )


def defined(entries: list[Entry], depth: int = 0) -> bytes:
    """Empty: 32 zero bytes; one entry: its hash; more: the node of the two halves."""
    if not entries:
        return EMPTY
    if len(entries) == 1:
        e = entries[0]
        return hashlib.sha256(
            b"\x02" + e.key.to_bytes(16, "big") + e.version.to_bytes(8, "big")
            + e.index.to_bytes(8, "big")
        ).digest()  # fmt: skip
    left = [e for e in entries if not e.key >> (127 - depth) & 1]
    right = [e for e in entries if e.key >> (127 - depth) & 1]
    return hashlib.sha256(b"\x03" + defined(left, depth + 1) + defined(right, depth + 1)).digest()


def top_of(entries: list[Entry]) -> smt.Top:
    buckets: dict[int, list[Entry]] = {}
    for e in entries:
        buckets.setdefault(smt.bucket_of(e.key), []).append(e)
    subtrees = {}
    for bucket, inside in buckets.items():
        subtree = smt.bucket_subtree(inside)
        assert subtree is not None
        subtrees[bucket] = subtree
    return smt.top_from_buckets(subtrees)


@given(st.lists(KEYS, max_size=60))
def test_the_root_is_the_definitions(keys: list[int]) -> None:
    entries = entries_of(keys)
    root = defined(entries)
    assert smt.root_of(entries) == root
    assert smt.root(top_of(entries)) == (len(entries), root)
    rows = [(e.key_bytes, e.version, e.index) for e in entries]
    assert smt.root(smt.top_from_buckets(smt.bucket_subtrees(rows))) == (len(entries), root)


@given(st.lists(KEYS, max_size=40), st.lists(KEYS, min_size=1, max_size=10))
def test_updating_the_changed_buckets_equals_building_anew(
    keys: list[int], later: list[int]
) -> None:
    before = entries_of(keys)
    top = top_of(before)
    changed = {e.key: Entry(e.key, e.version + 1, e.index + 5) for e in entries_of(later)}
    after = sorted({**{e.key: e for e in before}, **changed}.values(), key=lambda e: e.key)
    buckets = {smt.bucket_of(key) for key in changed}
    for bucket in buckets:
        inside = [e for e in after if smt.bucket_of(e.key) == bucket]
        subtree = smt.bucket_subtree(inside)
        assert subtree is not None
        top[(smt.BUCKET_BITS, bucket)] = subtree
    smt.update_top(top, buckets)
    assert top == top_of(after)
    assert smt.root(top) == (len(after), defined(after))


@given(st.lists(KEYS, max_size=50), KEYS)
def test_a_proof_leads_to_the_root_and_says_what_the_map_holds(keys: list[int], probe: int) -> None:
    entries = entries_of(keys)
    root = defined(entries)
    for key in [*(e.key for e in entries[:5]), probe]:
        proof = smt.prove(entries, key)
        assert smt.proof_root(key, proof.found, proof.siblings) == root
        held = next((e for e in entries if e.key == key), None)
        if held is not None:
            assert proof.found == held
        else:
            assert proof.found is None or proof.found.key != key
        # From the kept subtrees and the entries below where the path leaves them.
        siblings, depth, here = smt.walk_top(top_of(entries), key)
        shift = smt.KEY_BITS - depth
        below = [e for e in entries if here and (depth == 0 or e.key >> shift == key >> shift)]
        assert smt.prove_within(below, key, siblings) == proof


@given(st.lists(KEYS, min_size=2, max_size=40, unique=True), st.data())
def test_an_altered_proof_leads_elsewhere(keys: list[int], data: st.DataObject) -> None:
    entries = entries_of(keys)
    root = defined(entries)
    target = data.draw(st.sampled_from(entries))
    proof = smt.prove(entries, target.key)
    siblings = list(proof.siblings)
    # Another version, another leaf index: the map does not hold them.
    for claimed in (
        Entry(target.key, target.version + 1, target.index),
        Entry(target.key, target.version, target.index + 1),
    ):
        assert smt.proof_root(target.key, claimed, siblings) != root
    if siblings:
        depth, hashed = siblings[0]
        flipped = bytes([hashed[0] ^ 1]) + hashed[1:]
        assert smt.proof_root(target.key, target, [(depth, flipped), *siblings[1:]]) != root
        assert smt.proof_root(target.key, target, siblings[1:]) != root
        # Malformed: depths not increasing, beyond the id, or an empty sibling given.
        assert smt.proof_root(target.key, target, [*siblings, siblings[-1]]) is None
        assert smt.proof_root(target.key, target, [(129, hashed)]) is None
        assert smt.proof_root(target.key, target, [(depth, EMPTY)]) is None
    # Nor is an id absent when it is there.
    assert smt.proof_root(target.key, None, siblings) != root


def test_an_entry_off_the_ids_path_proves_nothing() -> None:
    entries = entries_of([1 << 127, 1, 2])
    proof = smt.prove(entries, 1 << 127)
    assert proof.found == entries[-1] and proof.siblings == ((1, defined(entries[:2], 1)),)
    # Another id's entry given as the end of a path that is not its own.
    assert smt.proof_root(5, entries[-1], proof.siblings) is None
