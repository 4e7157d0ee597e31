"""The second half of a long verification, checked by a second process while the
first process checks the first half (ledger/log/verification.py, _verify_stream).

Its request: the leaf to start at (a page boundary), the notification id of the leaf
before it, and the checkpoint roots expected past it. It reads the stored subtrees
before its first leaf, checks its pages to the store's end in one read transaction
(paged as the starting process pages, since it has the same settings), and sends
["p", N] each time N more leaves are checked; its result: the subtrees it started
from, where it stopped, and the problems it found."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ledger import merkle
from ledger.log import pages
from ledger.log.store import Cursor, StoredNodes, TransparencyLog
from ledger.workers.launcher import Channel, Launch, Worker

OPENS_LEDGER = True

# (the subtrees it started from, events checked, tree size, problems, complete)
Outcome = tuple[dict[merkle.NodeKey, bytes], int, int, list[pages.Problem], bool]


class VerifyWorker:
    """A running worker."""

    def __init__(
        self,
        launch: Launch,
        *,
        start: int,
        after: int,
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
    ) -> None:
        request = {
            "start": start,
            "after": after,
            "expected": [
                [size, checkpoint, root]
                for size, roots in expected.items()
                for checkpoint, root in roots
            ],
        }
        self._worker = Worker("verify", launch, request)
        self.failure = ""

    def progressed(self) -> int:
        """How many more leaves it has checked since asked last (without waiting)."""
        return _progress(self._worker.poll())

    def result(self, progress: Callable[[int], None] | None) -> Outcome | None:
        """Wait for it to finish; None if it failed (the caller checks its half)."""
        while messages := self._worker.receive():
            if progress is not None:
                progress(_progress(messages))
        self._worker.finish()
        if self._worker.failure is not None or not self._worker.done:
            self.failure = self._worker.failure or "it sent no result"
            return None
        found = self._worker.result
        frontier = {(level, index): node for level, index, node in found["frontier"]}
        problems = [pages.Problem(**problem) for problem in found["problems"]]
        return frontier, found["events"], found["tree_size"], problems, found["complete"]

    def stop(self) -> None:
        """End it at once if it still runs (the first half had a problem)."""
        self._worker.stop()


def _progress(messages: list[Any]) -> int:
    return sum(count for kind, count in messages if kind == "p")


def check(log: TransparencyLog, c: Cursor, request: dict[str, Any], channel: Channel) -> Any:
    """Check the second half as the request says; the outcome."""
    start, after = request["start"], request["after"]
    expected: dict[int, list[tuple[int | None, bytes]]] = {}
    for size, checkpoint, root in request["expected"]:
        expected.setdefault(size, []).append((checkpoint, root))
    keys = merkle.subtree_keys(0, start)
    frontier = StoredNodes(log, c).get_nodes(keys)
    outcome = {
        "frontier": [[level, index, frontier[level, index]] for level, index in frontier],
        "events": start,
        "tree_size": log.size(c),
        "problems": [],
        "complete": False,
    }
    if len(frontier) != len(keys):
        return outcome  # the first process names the missing node

    def report(count: int) -> None:
        channel.send(["p", count])
        channel.flush()

    result = pages.Verification()
    checks = pages.PageCheck(log)
    if checks.check_pages(c, expected, result, report, frontier=frontier, start=start, after=after):
        checks.check_end(c, expected, result)
    outcome.update(
        events=result.events,
        problems=[problem.as_json() for problem in result.problems],
        complete=result.complete,
    )
    return outcome


def serve(ledger: Any, request: dict[str, Any], channel: Channel) -> Any:
    store = ledger.ledger_recorder
    with store.log_transaction(commit=False) as c:
        return check(store.log, c, request, channel)
