"""A household's row as the households model keeps it (projections/households.py):
written packed piece by piece (only the entries added since it was last written are
packed), and kept in memory between pages with its timeline packed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack


@dataclass
class Row:
    aggregate: bytes
    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    timeline: list[Any]  # its entries, in business-time order
    # The fold as far as the timeline went when the row was last written (in memory
    # only), so that entries appended later continue it instead of starting over.
    folded: Any = field(default=None, compare=False, repr=False)
    # The timeline's entries as packed when the row was last written (in memory only,
    # concatenated without the array's header), so that writing it again packs only
    # the entries appended since.
    packed: bytes = field(default=b"", compare=False, repr=False)
    packed_count: int = field(default=0, compare=False, repr=False)
    packed_last: Any = field(default=None, compare=False, repr=False)

    def pack(self, packer: msgpack.Packer, tags: Mapping[type, str]) -> bytes:
        """The timeline's stored form (each entry as [its tag, its fields]): the same
        bytes as packing the whole timeline at once."""
        timeline, done = self.timeline, self.packed_count
        # Entries are only ever added: the first `done` are those packed before unless
        # one was sorted in among them, which moves a new entry to their last place.
        if done and (done > len(timeline) or timeline[done - 1] is not self.packed_last):
            self.packed, done = b"", 0
        added = [(tags[type(entry)], entry) for entry in timeline[done:]]
        # Packed as one array, less its header: one call, not one per entry.
        self.packed += packer.pack(added)[len(packer.pack_array_header(len(added))) :]
        self.packed_count = len(timeline)
        self.packed_last = timeline[-1] if timeline else None
        header: bytes = packer.pack_array_header(len(timeline))
        return header + self.packed


def known(timeline: list[Any], limit: int | None) -> list[Any]:
    """The entries of the events the ledger had recorded up to position limit (None:
    all of them): a timeline as the ledger knew it then (`--known-at`)."""
    if limit is None:
        return timeline
    return [entry for entry in timeline if entry.position <= limit]


@dataclass(slots=True)
class _Kept:
    """A row as kept in memory between pages: its timeline only as packed (a tenth of
    the memory of the entries as objects), with its fold."""

    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    packed: bytes
    count: int
    folded: Any


class RowCache:
    """Rows as last written, the least recently written forgotten beyond a size. A row
    comes back with its timeline unpacked from the bytes it was written as, its fold
    and its packing continued where they left off."""

    def __init__(self, size: int, unpack: Callable[[bytes], list[Any]]) -> None:
        self.size = size
        self._unpack = unpack
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        self._packer = msgpack.Packer()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, aggregate: bytes) -> Row | None:
        kept = self._kept.get(aggregate)
        if kept is None:
            return None
        timeline = self._unpack(self._packer.pack_array_header(kept.count) + kept.packed)
        return Row(
            aggregate,
            kept.household,
            kept.group,
            kept.village,
            kept.head,
            kept.id_number,
            timeline,
            kept.folded,
            kept.packed,
            kept.count,
            timeline[-1] if timeline else None,
        )

    def update(self, rows: Mapping[bytes, Row]) -> None:
        """Keep rows just written (Row.pack brought their packed bytes up to date)."""
        for aggregate, row in rows.items():
            assert row.packed_count == len(row.timeline), "a row is kept once written"
            self._kept[aggregate] = _Kept(
                row.household,
                row.group,
                row.village,
                row.head,
                row.id_number,
                row.packed,
                row.packed_count,
                row.folded,
            )
            self._kept.move_to_end(aggregate)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()
