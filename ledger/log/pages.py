"""The checks one process makes over a run of the log's pages: every leaf recomputed
from the stored rows, every stored node rebuilt from the recomputed leaves, and the
roots of the checkpoints that end in those pages. Verification (verification.py) runs
them over the whole log, or over its first half while the second process
(ledger/workers/verify.py) runs them over the second."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import msgpack

from ledger import merkle
from ledger.checkpoint import Checkpoint, StoredCheckpoint
from ledger.log.store import Cursor, StoredNodes, TransparencyLog

__all__ = ["Expected", "PageCheck", "Problem", "Verification"]

# Leaves are checked a page at a time (2**page_levels of them, 2**12 unless the
# ledger's settings say otherwise); a page is also a perfect subtree, so every node
# inside it can be rebuilt from the page alone.

# size -> what must have that root: (checkpoint id, or None for --against; the root)
Expected: TypeAlias = Mapping[int, Sequence[tuple[int | None, bytes]]]


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
    # Map heads recomputed from the log (verification.check_own_record).
    map_heads: int = 0
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
            "map_heads": self.map_heads,
            "problems": [p.as_json() for p in self.problems],
            "seconds": round(self.seconds, 3),
        }


class PageCheck:
    """The page checks of one log, read through the caller's cursor: check_pages over
    a run of pages, then check_end after the last one."""

    def __init__(self, log: TransparencyLog) -> None:
        self.log = log
        self.page_levels = log.settings.page_levels
        self.page = log.settings.page_leaves
        d = log.dialect
        self._events_after = d.sql(
            f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
            f"FROM {d.events_table} WHERE {d.notification_id} > ? "
            f"ORDER BY {d.notification_id} LIMIT ?"
        )
        self._leaves_between = d.sql(
            "SELECT notification_id, hash FROM merkle_leaves "
            "WHERE idx >= ? AND idx < ? ORDER BY idx"
        )

    def _leaf_hashes(self, rows: Sequence[Sequence[Any]]) -> Sequence[bytes | None]:
        """Recompute the leaf hash of each stored row; None where a row cannot be a leaf."""
        to_bytes = self.log.dialect.originator_bytes
        canonical = self.log.dialect.originators_canonical
        # The leaf of ledger.log.audit.leaf_bytes, with the packer made once per page.
        pack = msgpack.Packer(use_bin_type=True).pack
        if canonical([row[1] for row in rows]):
            try:
                # The hot loop of verification: one pack and one hash per row, nothing else.
                return merkle.leaf_hashes(
                    [pack((n, to_bytes(o), v, t, s)) for n, o, v, t, s in rows]
                )
            except (ValueError, TypeError):
                pass
        hashes: list[bytes | None] = []
        for n, o, v, t, s in rows:
            try:
                if not canonical([o]):
                    raise ValueError(o)
                hashes.append(merkle.leaf_hash(pack([n, to_bytes(o), v, t, s])))
            except (ValueError, TypeError):
                hashes.append(None)
        return hashes

    def check_pages(
        self,
        c: Cursor,
        expected: Expected,
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
            c.execute(self._events_after, [after, self.page])
            rows = c.fetchall()
            c.execute(self._leaves_between, [start, start + self.page])
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
                if size < start + self.page:
                    self.check_roots(
                        expected, size, _nodes_for(size, start, frontier, levels), result
                    )
            if count == self.page and not self._carry(
                c, start, levels[self.page_levels][0], frontier, result
            ):
                result.events = start
                return False
            if start + self.page in in_page:
                self.check_roots(expected, start + self.page, frontier, result)
            start += count
            after = rows[-1][0]
            if progress is not None:
                progress(count)
            if count < self.page:
                break
        result.events = start
        return True

    def check_end(
        self,
        c: Cursor,
        expected: Expected,
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
        levels = [hashes]
        statement = self.log.dialect.sql(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? "
            "ORDER BY idx"
        )
        for level in range(1, self.page_levels + 1):
            built = merkle.parent_hashes(levels[-1])
            first = start >> level
            c.execute(statement, [level, first, (start + self.page) >> level])
            stored = c.fetchall()
            if list(zip(range(first, first + len(built)), built, strict=True)) != stored:
                index = _first_difference(stored, built, first)
                result.problems.append(node_problem((level, index)))
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
        completed = merkle.append_subtree(
            frontier, self.page_levels, start >> self.page_levels, top
        )
        if not completed:
            return True
        stored = StoredNodes(self.log, c).get_nodes([key for key, _ in completed])
        for key, hashed in completed:
            if stored.get(key) != hashed:
                result.problems.append(node_problem(key))
                return False
        return True

    @staticmethod
    def check_roots(
        expected: Expected,
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


def node_problem(key: merkle.NodeKey) -> Problem:
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
