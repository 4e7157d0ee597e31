"""A database file read into the operating system's cache ahead of a scan of all of it."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from ledger.settings import Settings
from ledger.workers.launcher import Channel, Launch, Worker

OPENS_LEDGER = False


def _memory() -> int:
    """The machine's physical memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


class ReadAhead:
    """Reads a database file into the page cache in another process, in the order it
    lies on disk, while this one reads it in another order.

    A rebuild reads every event, household by household: on a cold cache, a random
    read of the whole database file. At a million households (an 8.6 GB file) that made
    the rebuild 150 s instead of 134 s; the same file read in order takes about 4 s.

    Only a file of at most settings.read_ahead_share of the machine's memory (a larger
    one would push out of the cache what other work needs, and not stay there itself)
    and at least settings.read_ahead_smallest (read at random it costs little more,
    and starting the process costs more than that).

    The reading is done by a process of its own because closing a file descriptor
    drops every POSIX lock that its process holds on the file, SQLite's included: a
    thread here that opened and closed the database file would let another process's
    connection believe itself the last one and reset the WAL under this one's open
    transaction (a corrupt database; the two-process tests of verify caught it)."""

    def __init__(self, path: Path, settings: Settings, memory: int | None = None) -> None:
        self.path = path
        self.settings = settings
        self.limit = int((_memory() if memory is None else memory) * settings.read_ahead_share)
        self._reader: Worker | None = None

    def __enter__(self) -> ReadAhead:
        try:
            size = self.path.stat().st_size  # a stat opens nothing
        except OSError:
            return self
        if not self.settings.read_ahead_smallest <= size <= self.limit:
            return self
        try:
            self._reader = Worker("readahead", Launch(None, self.settings), str(self.path))
        except OSError:  # a hint to the cache: the scan goes on without it
            self._reader = None
        return self

    def wait(self) -> int:
        """Wait for the reading to end; how many bytes were read (0: none)."""
        if self._reader is None:
            return 0
        self._reader.finish()
        return int(self._reader.result or 0)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.stop()


def serve(_ledger: Any, path: str, _channel: Channel) -> int:
    """Send the file to /dev/null 8 MiB at a time, so its bytes enter the cache without
    being copied into any process; how many were read. Where the system cannot (no
    sendfile to a file, as on macOS) it reads nothing: this is a hint to the cache,
    and an error in it loses nothing."""
    read = 0
    try:
        source = os.open(path, os.O_RDONLY)
        sink = os.open(os.devnull, os.O_WRONLY)
        size = os.fstat(source).st_size
        while read < size:
            sent = os.sendfile(sink, source, read, 8 << 20)
            if sent == 0:
                break
            read += sent
    except OSError:
        pass
    return read
