"""The second half of a long verification, checked by a second process while the
first process checks the first half (ledger/log/verification.py, _verify_stream).

The worker is `python -m ledger.verify_worker`, started with the store's settings in
its environment and what to check as JSON on its standard input: the leaf to start
at (a page boundary), the notification id of the leaf before it, the checkpoint roots
expected past it, and the page size. It reads the stored subtrees before its first
leaf, checks its pages to the store's end in one read transaction, and prints one
line `p N` each time N more leaves are checked, then one line `r {...}`: the subtrees
it started from, where it stopped, and the problems it found."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ledger import merkle
from ledger.log import pages
from ledger.log.store import Cursor, StoredNodes, TransparencyLog

SETTINGS = "ONERULER_VERIFY_SETTINGS"

# (the subtrees it started from, events checked, tree size, problems, complete)
Outcome = tuple[dict[merkle.NodeKey, bytes], int, int, list[pages.Problem], bool]


class VerifyWorker:
    """A running worker."""

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        start: int,
        after: int,
        expected: Mapping[int, Sequence[tuple[int | None, bytes]]],
        page_levels: int,
    ) -> None:
        request = {
            "start": start,
            "after": after,
            "expected": [
                [size, checkpoint, root.hex()]
                for size, roots in expected.items()
                for checkpoint, root in roots
            ],
            "page_levels": page_levels,
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.verify_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, SETTINGS: json.dumps(dict(settings))},
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request).encode())
        self._process.stdin.close()
        self._out = self._process.stdout.fileno()
        self._pending = b""
        self._lines: list[bytes] = []
        self.failure = ""

    def progressed(self) -> int:
        """How many more leaves it has checked since asked last (without waiting)."""
        while select.select([self._out], [], [], 0)[0]:
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                break
            self._take(chunk)
        return self._count_progress()

    def _take(self, chunk: bytes) -> None:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        self._lines.extend(lines)

    def _count_progress(self) -> int:
        done = sum(int(line[2:]) for line in self._lines if line.startswith(b"p "))
        self._lines = [line for line in self._lines if not line.startswith(b"p ")]
        return done

    def result(self, progress: Callable[[int], None] | None) -> Outcome | None:
        """Wait for it to finish; None if it failed (the caller checks its half)."""
        while chunk := os.read(self._out, 1 << 16):
            self._take(chunk)
            if progress is not None:
                progress(self._count_progress())
        self._process.wait()
        self._take(b"\n")
        finals = [line for line in self._lines if line.startswith(b"r ")]
        if self._process.returncode != 0 or len(finals) != 1:
            assert self._process.stderr is not None
            lines = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
            self.failure = lines[-1] if lines else f"status {self._process.returncode}"
            return None
        found = json.loads(finals[0][2:])
        frontier = {(level, index): bytes.fromhex(h) for level, index, h in found["frontier"]}
        problems = [pages.Problem(**problem) for problem in found["problems"]]
        return frontier, found["events"], found["tree_size"], problems, found["complete"]

    def stop(self) -> None:
        """End it at once if it still runs (the first half had a problem)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def check(log: TransparencyLog, c: Cursor, request: dict[str, Any]) -> Any:
    """Check the second half as the request says; the outcome, as JSON."""
    start, after = request["start"], request["after"]
    expected: dict[int, list[tuple[int | None, bytes]]] = {}
    for size, checkpoint, root in request["expected"]:
        expected.setdefault(size, []).append((checkpoint, bytes.fromhex(root)))
    keys = merkle.subtree_keys(0, start)
    frontier = StoredNodes(log, c).get_nodes(keys)
    outcome = {
        "frontier": [[level, index, frontier[level, index].hex()] for level, index in frontier],
        "events": start,
        "tree_size": log.size(c),
        "problems": [],
        "complete": False,
    }
    if len(frontier) != len(keys):
        return outcome  # the first process names the missing node

    def report(count: int) -> None:
        print(f"p {count}", flush=True)

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


def main() -> int:
    from ledger.application import Ledger

    request = json.load(sys.stdin)
    # Pages cut where the first process cuts them.
    pages.PAGE_LEVELS = request["page_levels"]
    pages.PAGE = 1 << pages.PAGE_LEVELS
    ledger = Ledger(env=json.loads(os.environ[SETTINGS]))
    try:
        store = ledger.ledger_recorder
        with store.log_transaction(commit=False) as c:
            outcome = check(store.log, c, request)
        print("r " + json.dumps(outcome), flush=True)
        return 0
    except Exception as e:  # the first process checks this half itself
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
