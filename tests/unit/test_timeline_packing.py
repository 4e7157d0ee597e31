"""A household's timeline is written packed piece by piece (only the entries added
since it was last written are packed): the bytes must be those of packing it whole."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections import households as t
from projections.household_rows import Row, RowCache
from projections.households import TAGS, Entry, unpack
from projections.progress import transitions

moments = st.integers(0, 2**53)
positions = st.integers(1, 10**9)
entries = st.lists(
    st.one_of(
        st.builds(t.Registered, moments, positions),
        st.builds(t.DocumentAttached, moments, positions, st.text()),
        st.builds(t.PayoutConfirmed, moments, positions, st.text()),
        st.builds(t.ComplaintNoted, moments, positions, st.text()),
        st.builds(t.DeviationApproved, moments, positions, st.text(), st.text()),
        st.builds(
            t.Surveyed,
            moments,
            positions,
            st.dictionaries(st.text(), st.text(), max_size=3),
            st.text(),
            st.integers(0, 20),
            st.none() | st.text(),
            st.text(),
            moments,
        ),
    ),
    max_size=40,
)


def row_of(timeline: list[Entry]) -> Row:
    return Row(b"\x00" * 16, "XC-0001", "G01", "一村", "张三", None, timeline)


def add(row: Row, added: list[Entry]) -> None:
    """Entries arrive late (sorted in among those written) or in order (appended); a
    timeline is kept in (at, position) order, and no two entries share both."""
    taken = {(e.at, e.position) for e in row.timeline}
    for entry in added:
        if (entry.at, entry.position) not in taken:
            taken.add((entry.at, entry.position))
            row.timeline.append(entry)
    row.timeline.sort(key=lambda e: (e.at, e.position))


@given(first=entries, later=st.lists(entries, max_size=4))
def test_a_timeline_packed_piece_by_piece_is_packed_whole(
    first: list[Entry], later: list[list[Entry]]
) -> None:
    packer = msgpack.Packer()
    row = row_of([])
    add(row, first)
    assert row.pack(packer, TAGS) == t.pack(row.timeline)
    for added in later:
        add(row, added)
        assert row.pack(packer, TAGS) == t.pack(row.timeline)


@pytest.mark.parametrize("size", [14, 15, 65_534, 65_535])
def test_the_array_header_changes_form_as_the_timeline_grows(size: int) -> None:
    packer = msgpack.Packer()
    row = row_of([t.DocumentAttached(n, n, "") for n in range(size)])
    assert row.pack(packer, TAGS) == t.pack(row.timeline)
    row.timeline.append(t.PayoutConfirmed(size, size, "P-1"))  # 15 -> 16, 65,535 -> 65,536
    assert row.pack(packer, TAGS) == t.pack(row.timeline)


# Entries the fold reads without a policy: documents, complaints opened and resolved,
# vacating.
foldable = st.lists(
    st.one_of(
        st.builds(t.DocumentAttached, moments, positions, st.sampled_from(["id_card", "hukou"])),
        st.builds(t.ComplaintFiled, moments, positions, st.sampled_from(["C-1", "C-2"])),
        st.builds(t.ComplaintResolved, moments, positions, st.sampled_from(["C-1", "C-2"])),
        st.builds(t.Vacated, moments, positions),
    ),
    min_size=1,  # a row has at least its registration
    max_size=30,
)


@given(first=foldable, later=st.lists(foldable, max_size=4))
def test_a_row_kept_compact_between_pages_comes_back_the_same(
    first: list[Entry], later: list[list[Entry]]
) -> None:
    """The read models keep rows between pages with their timelines only as packed:
    a row taken back out has the same timeline, and goes on packing and folding as
    the row itself would have."""
    packer = msgpack.Packer()
    cache = RowCache(2, unpack)
    row = row_of([])
    add(row, first)
    row.pack(packer, TAGS)
    transitions(row, _no_policy)
    for added in later:
        cache.update({row.aggregate: row})
        back = cache.get(row.aggregate)
        assert back is not None and back is not row
        assert back == row and back.folded == row.folded
        add(row, added)
        add(back, added)
        assert back.pack(packer, TAGS) == row.pack(packer, TAGS) == t.pack(row.timeline)
        assert transitions(back, _no_policy) == transitions(row, _no_policy)


def _no_policy(policy: str, version: int) -> None:
    return None


def test_the_row_cache_forgets_the_least_recently_written() -> None:
    packer = msgpack.Packer()
    cache = RowCache(2, unpack)
    rows = [Row(bytes([n]) * 16, f"XC-000{n}", "G01", "一村", "张三", None, []) for n in range(3)]
    for row in rows:
        row.pack(packer, TAGS)
        cache.update({row.aggregate: row})
    assert len(cache) == 2
    assert cache.get(rows[0].aggregate) is None
    assert [cache.get(r.aggregate) for r in rows[1:]] == rows[1:]
