"""A second process that folds households in a long rebuild, while the rebuilding
process folds others and writes them all in its one transaction (Projector._rebuild).

The worker is `python -m ledger.rebuild_worker`, started with the store's settings in
its environment and, as msgpack on its standard input, what the rebuilding process
has already read in stored order: the policy versions (each household's fold looks
them up) and the timeline entries of the complaints about each household. It reads
the households' events from the highest aggregate id down (up to the rebuild's last
position), in one read transaction, folds each household's row exactly as the
rebuilding process does (households.row_of_events) and works out its share of the
bulletin (progress.household_contributions); it writes each as a msgpack record on
its standard output, then one record that says it is done. Meanwhile the rebuilding
process folds from the lowest id up, and stops the worker where the two meet: the
work is shared in whatever proportion the two processes' speeds give, on any ledger
and machine. The worker writes nothing to the store: the rebuilding process writes,
so an interrupted rebuild still leaves the read models as they were."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgpack

from projections import households, progress

SETTINGS = "ONERULER_REBUILD_SETTINGS"
DONE = "done"
_F_SETPIPE_SZ = 1031
_CHUNK = 1 << 20
# What the worker has sent and the rebuilding process has not taken in yet, at most
# (chunks of _CHUNK bytes, about 4,000 households each). The rebuilding process writes
# in bursts (5,000 households at a time), during which a pipe alone (1 MiB) filled up
# and the worker waited: at a million households each process spent a quarter of the
# rebuild waiting for the other. Bounded, so that a worker faster than the writes
# waits rather than fills memory.
_BUFFERED_CHUNKS = 32
# Households folded between two collections of garbage (ledger/collector.py).
COLLECT_EVERY = 5_000


@dataclass(frozen=True, slots=True)
class Folded:
    """One household as the worker folded it: its row (the timeline packed as the
    read model stores it), its contributions to the bulletin, and its events."""

    aggregate: bytes
    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    timeline: bytes
    contributions: list[progress.Contribution]
    events: int


def write(c: Any, folded: Sequence[Folded], bulk: progress.BulkLoad) -> None:
    """Write folded households into a rebuild's emptied tables (no old rows, no old
    contributions to take back)."""
    households.write_packed(
        c,
        [
            (f.aggregate, f.household, f.group, f.village, f.head, f.id_number, f.timeline)
            for f in folded
        ],
    )
    bulk.add(c, {"h:" + f.household: f.contributions for f in folded})


class RebuildWorker:
    """A running worker, and what it has sent so far."""

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        upto: int,
        documents: Sequence[str],
        entries: Mapping[str, list[households.Entry]],
    ) -> None:
        # The lowest aggregate id received: the worker has sent every household from
        # the highest down to it.
        self.lowest: UUID | None = None
        # The highest aggregate id the rebuilding process has folded itself: what the
        # worker sends at or below it is dropped.
        self.floor: UUID | None = None
        self.failure: str | None = None
        self._folded: list[Folded] = []
        self._done = False
        self._ended = False
        self._unpacker = msgpack.Unpacker(raw=False)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.rebuild_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, SETTINGS: json.dumps(dict(settings))},
        )
        request = msgpack.packb(
            {"upto": upto, "documents": list(documents), "entries": dict(entries)}
        )
        # Written by a thread: the request can be larger than the pipe holds, and the
        # worker reads it only once it has started.
        self._writer = threading.Thread(target=self._send, args=(request,), daemon=True)
        self._writer.start()
        assert self._process.stdout is not None
        self._out = self._process.stdout.fileno()
        with contextlib.suppress(OSError):  # Linux: room for about 4,000 households
            fcntl.fcntl(self._out, _F_SETPIPE_SZ, _CHUNK)
        # Read by a thread as it comes (an empty chunk: the end of its output), so that
        # the worker goes on while this process writes.
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=_BUFFERED_CHUNKS)
        self._stopping = threading.Event()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _send(self, request: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(request)
            stdin.close()
        except OSError:  # it failed before reading: seen when its output ends
            pass

    def _pump(self) -> None:
        while True:
            chunk = os.read(self._out, _CHUNK)
            while not self._stopping.is_set():
                try:
                    self._chunks.put(chunk, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not chunk or self._stopping.is_set():
                return

    def poll(self) -> int:
        """Take in what it has sent so far, without waiting; how many are waiting."""
        while not self._ended:
            try:
                chunk = self._chunks.get_nowait()
            except queue.Empty:
                break
            self._take_in(chunk)
        return len(self._folded)

    def wait_for(self, households: int) -> None:
        """Take in what it sends until so many households are waiting, or it ends."""
        while not self._ended and len(self._folded) < households:
            self._take_in(self._chunks.get())

    def reached(self, aggregate: UUID) -> bool:
        """Whether it has sent this household, or one below it (and so every household
        from the highest down to it)."""
        return self.lowest is not None and aggregate >= self.lowest

    def take(self) -> list[Folded]:
        folded, self._folded = self._folded, []
        return folded

    def _take_in(self, chunk: bytes) -> None:
        """Unpack a chunk of its output (empty: the end of it)."""
        if not chunk:
            self._ended = True
            return
        self._unpacker.feed(chunk)
        for record in self._unpacker:
            if record == DONE:
                self._done = True
                continue
            aggregate, household, group, village, head, id_number, timeline, given, events = record
            key = UUID(bytes=aggregate)
            if self.floor is not None and key <= self.floor:
                continue  # folded here meanwhile
            self._folded.append(
                Folded(
                    aggregate,
                    household,
                    group,
                    village,
                    head,
                    id_number,
                    timeline,
                    [(at, grp, metric, delta) for at, grp, metric, delta in given],
                    events,
                )
            )
            self.lowest = key

    def stop(self) -> None:
        """End it at once if it still runs (the rebuild met it, failed or was
        interrupted); failure then says why it ended early, if it did by itself."""
        running = self._process.poll() is None
        if running:
            self._process.kill()
        self._process.wait()
        self._writer.join()
        self._stopping.set()
        self._reader.join()
        if not running and self._process.returncode != 0:
            assert self._process.stderr is not None
            lines = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
            self.failure = (
                lines[-1] if lines else f"it exited with status {self._process.returncode}"
            )
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def main() -> int:
    from ledger.application import Ledger
    from ledger.collector import collected_between_units
    from ledger.projector import Projector
    from projections.programme import parse_policy

    request = msgpack.unpackb(sys.stdin.buffer.read(), raw=False)
    versions = {}
    for document in request["documents"]:
        version = parse_policy(document)
        versions[version.policy, version.version] = version
    entries: dict[str, list[households.Entry]] = request["entries"]
    ledger = Ledger(env=json.loads(os.environ[SETTINGS]))
    try:
        projector = Projector(ledger.recorder, ledger.mapper, prepare=False)
        out = sys.stdout.buffer
        packer = msgpack.Packer()
        with (
            collected_between_units() as collector,
            projector.store.projection_transaction(commit=False) as c,
        ):
            for number, facts in enumerate(
                projector.households_by_aggregate(c, request["upto"], descending=True), start=1
            ):
                row = households.row_of_events(facts, entries.get(facts[0].state["household"], ()))
                record = [
                    row.aggregate,
                    row.household,
                    row.group,
                    row.village,
                    row.head,
                    row.id_number,
                    row.pack(packer),
                    progress.household_contributions(row, lambda p, v: versions.get((p, v))),
                    len(facts),
                ]
                out.write(packer.pack(record))
                if number % COLLECT_EVERY == 0:
                    collector.between_units()
        out.write(packer.pack(DONE))
        out.flush()
        return 0
    except Exception as e:  # reported to the rebuilding process, which folds the rest
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
