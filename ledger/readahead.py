"""A database file read into the operating system's cache ahead of a scan of all of it."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from types import TracebackType

# Read ahead only a file of at most this share of the machine's memory: a larger one
# would push out of the cache what other work needs, and not stay there itself.
MEMORY_SHARE = 0.5
_STEP = 8 << 20


def _memory() -> int:
    """The machine's physical memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


class ReadAhead:
    """Reads a file into the page cache in a thread, in the order it lies on disk,
    while the caller reads it in another order.

    A rebuild reads every event, household by household: on a cold cache, a random
    read of the whole database file. At a million households (an 8.6 GB file) that made
    the rebuild 150 s instead of 134 s; the same file read in order takes about 4 s.
    The file is sent to /dev/null (sendfile), so its bytes are never copied into this
    process. Reading ahead changes nothing but the cache: where the system cannot
    (no sendfile to a file, as on macOS) or the file is too large, it reads nothing."""

    def __init__(self, path: Path, memory: int | None = None) -> None:
        self.path = path
        self.limit = int((_memory() if memory is None else memory) * MEMORY_SHARE)
        self.bytes_read = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="read-ahead", daemon=True)

    def _read(self) -> None:
        # A hint to the cache: an error here loses nothing and stops only the hint.
        with contextlib.suppress(OSError):
            source = os.open(self.path, os.O_RDONLY)
            try:
                size = os.fstat(source).st_size
                if size > self.limit:
                    return
                sink = os.open(os.devnull, os.O_WRONLY)
                try:
                    while self.bytes_read < size and not self._stop.is_set():
                        sent = os.sendfile(sink, source, self.bytes_read, _STEP)
                        if sent == 0:
                            return
                        self.bytes_read += sent
                finally:
                    os.close(sink)
            finally:
                os.close(source)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
