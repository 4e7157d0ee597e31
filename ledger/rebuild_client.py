"""The rebuilding process's side of the second process that folds aggregates in a
long rebuild (ledger/rebuild_worker.py): it starts it, takes in what it sends as it
comes, and makes its writes; and says why it failed, if it did."""

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
    """One aggregate as the worker folded it: the writes the models made of it (each
    a statement and its rows of parameters), and how many events it has."""

    aggregate: bytes
    writes: list[tuple[str, list[Any]]]
    events: int


def write(c: Any, folded: Sequence[Folded]) -> None:
    """Make the writes of aggregates the worker folded, each statement's rows in one
    go: they are inserts into a rebuild's emptied tables, in any order."""
    grouped: dict[str, list[Any]] = {}
    for record in folded:
        for statement, rows in record.writes:
            grouped.setdefault(statement, []).extend(rows)
    for statement, rows in grouped.items():
        if rows:
            c.executemany(statement, rows)


class RebuildWorker:
    """A running worker, and what it has sent so far."""

    # How Python is asked to run it.
    program: tuple[str, ...] = ("-m", "ledger.rebuild_worker")

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        upto: int,
        model: str,
        read: Sequence[tuple[int, Sequence[Any]]],
    ) -> None:
        # The lowest aggregate id received: the worker has sent every household from
        # the highest down to it.
        self.lowest: UUID | None = None
        # The highest aggregate id the rebuilding process has folded itself: what the
        # worker sends at or below it is dropped.
        self.floor: UUID | None = None
        self.failure: str | None = None
        self._folded: list[Folded] = []
        self._statements: list[str] = []
        self._done = False
        self._ended = False
        self._unpacker = msgpack.Unpacker(raw=False)
        self._process = subprocess.Popen(
            [sys.executable, *self.program],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, SETTINGS: json.dumps(dict(settings))},
        )
        request = msgpack.packb({"upto": upto, "model": model, "read": list(read)})
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
        self._eof = threading.Event()  # its output ended (set by the reading thread)
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
            if not chunk:
                self._eof.set()
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
            if len(record) == 1:  # a statement, sent once
                self._statements.append(record[0])
                continue
            aggregate, events, writes = record
            key = UUID(bytes=aggregate)
            if self.floor is not None and key <= self.floor:
                continue  # folded here meanwhile
            statements = self._statements
            self._folded.append(
                Folded(aggregate, [(statements[n], rows) for n, rows in writes], events)
            )
            self.lowest = key

    def stop(self) -> None:
        """End it at once (the rebuild met it, failed or was interrupted), unless it
        ended by itself; failure then says why, if it failed.

        Whether it ended by itself is whether its output ended: a process closes its
        output as it exits, and may not have exited yet when the rebuild gets here
        (asking whether it still runs would then kill it and lose its failure)."""
        ended = self._ended or self._eof.is_set() or self._process.poll() is not None
        if not ended:
            self._process.kill()
        self._process.wait()
        self._writer.join()
        self._stopping.set()
        self._reader.join()
        if ended and self._process.returncode != 0:
            assert self._process.stderr is not None
            lines = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
            self.failure = (
                lines[-1] if lines else f"it exited with status {self._process.returncode}"
            )
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
