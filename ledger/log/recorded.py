"""When each stored event was recorded at the earliest, for the ledger's own reports
(`report late-entries`): after the map head before it (the office's time, fixed in the
log once published) and after the latest stored checkpoint without it that a quorum of
the witnesses given cosigned (their time, which the office does not set). The same
bounds as an auditor's (timing.py), read from the store, by notification id."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ledger.cosignature import CosignerVerifier, QuorumError
from ledger.log import mapstore
from ledger.log.timing import Bound, late, later, made_at, witnessed
from ledger.log.witnessed import cosigned_notes

if TYPE_CHECKING:
    from ledger.log.store import LogStore

__all__ = ["RecordBounds", "record_bounds"]


@dataclass(frozen=True)
class _Mark:
    """A point of the log in the store's order (the notification id of a map head, or
    of a checkpoint's last leaf), and the bound it gives every event after it."""

    notification_id: int
    bound: Bound


class RecordBounds:
    """When each stored event was recorded at the earliest, by notification id:
    `recorded_after(nid)`, and `late(where, nid, occurred_at, window)`, the sentence
    naming an event entered late (or None)."""

    def __init__(self, heads: Sequence[_Mark], witnessed: Sequence[_Mark]) -> None:
        self._heads = sorted(heads, key=lambda m: m.notification_id)
        self._head_ids = [m.notification_id for m in self._heads]
        marks = sorted(witnessed, key=lambda m: m.notification_id)
        self._witnessed_ids = [m.notification_id for m in marks]
        # The latest witnessed time up to each mark: a later checkpoint's quorum may
        # have cosigned sooner than an earlier one's (a witness that was down).
        self._latest: list[Bound] = []
        for mark in marks:
            chosen = later(self._latest[-1] if self._latest else None, mark.bound)
            assert chosen is not None
            self._latest.append(chosen)

    def by_map_head(self, notification_id: int) -> Bound | None:
        at = bisect_left(self._head_ids, notification_id) - 1
        return self._heads[at].bound if at >= 0 else None

    def by_witnesses(self, notification_id: int) -> Bound | None:
        at = bisect_left(self._witnessed_ids, notification_id) - 1
        return self._latest[at] if at >= 0 else None

    def recorded_after(self, notification_id: int) -> Bound | None:
        """The latest moment the event is known to have been recorded after (None:
        nothing bounds it, as for the events before the log's first map head)."""
        return later(self.by_map_head(notification_id), self.by_witnesses(notification_id))

    def late(
        self, where: str, notification_id: int, occurred_at: datetime, window: timedelta
    ) -> str | None:
        """The sentence naming the event as entered late or backdated, if its business
        time is earlier than the moment it was recorded after by more than the window."""
        bound = self.recorded_after(notification_id)
        return None if bound is None else late(where, occurred_at, bound, window)


def record_bounds(
    store: LogStore, witnesses: Sequence[CosignerVerifier] = (), quorum: int | None = None
) -> RecordBounds:
    """The bounds of every stored event's recording, from the log's map heads and from
    the stored checkpoints a quorum of the witnesses cosigned (all of them, unless
    quorum says how many; none given: the map heads alone). A stored cosignature by
    one of the witnesses that does not verify raises CosignatureError."""
    log = store.log
    needed = len(set(witnesses)) if quorum is None else quorum
    with store.log_transaction(commit=False) as c:
        events = mapstore.log_events(log, c)
        nids = {event.index: event.notification_id for event in events}
        heads = [
            _Mark(nids[index], made_at(index, head.made_at))
            for index, head in mapstore.map_heads(log, events)
        ]
        marks = []
        for size, note in cosigned_notes(log, c) if witnesses else []:
            try:
                found = witnessed(note, witnesses, needed)
            except QuorumError:
                continue
            last = nids.get(size - 1)
            if last is None:  # a checkpoint that does not end with a map head (an old one)
                last = mapstore.nid_at(log, c, size - 1)
            marks.append(_Mark(last, Bound(found.at, found.source)))
    return RecordBounds(heads, marks)
