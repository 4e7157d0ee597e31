"""How every second process is started and spoken with (one protocol for all).

A worker is `python -m ledger.workers NAME` (ledger/workers/__main__.py). It gets:
- in its environment, under ENVIRONMENT, as JSON: the store's settings (the Ledger's
  env, to open the same store; never on its command line, where every user of the
  machine could read a PostgreSQL password) and the ledger's Settings, so that it
  pages, batches and bounds exactly as the process that started it;
- on its standard input, its request: one msgpack value. The starting process then
  closes it, or keeps it open until it wants the worker to finish (the follower):
  the end of its input is the sign to finish.
It answers on its standard output with msgpack values (what each worker sends is
its own), the last of which is [DONE, result]; and it exits 0. If it fails, it writes
one line, `Type: message`, on its standard error and exits 1: the starting process
says so (Worker.failure) and does the work itself."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import select
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgpack

from ledger.settings import Settings

ENVIRONMENT = "ONERULER_WORKER"
DONE = "done"

_F_SETPIPE_SZ = 1031
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Launch:
    """What a second process needs to work on the same ledger: the store's settings
    (None: it opens no ledger) and the ledger's Settings."""

    store: Mapping[str, str] | None
    settings: Settings

    def environment(self) -> str:
        store = dict(self.store) if self.store is not None else None
        return json.dumps({"store": store, "settings": self.settings.as_json()})

    @staticmethod
    def from_environment(text: str) -> Launch:
        found = json.loads(text)
        return Launch(found["store"], Settings.from_json(found["settings"]))


def can_share(store: Mapping[str, str]) -> bool:
    """Whether another process can open the same store (an in-memory SQLite cannot)."""
    name = store.get("SQLITE_DBNAME", "")
    return ":memory:" not in name and "mode=memory" not in name


class Worker:
    """A running second process, as its starter sees it: what it has sent so far
    (taken in by a thread as it comes, so the worker goes on while this process
    works), whether it has ended, and why it failed, if it did."""

    def __init__(
        self,
        name: str,
        launch: Launch,
        request: Any = None,
        *,
        keep_input_open: bool = False,
        buffered_chunks: int = 32,
    ) -> None:
        """buffered_chunks: chunks (of 1 MiB) it may have sent that this process has
        not taken in yet, at most; past that it waits (bounded memory)."""
        self.failure: str | None = None
        self.done = False
        self.result: Any = None
        self._ended = False
        self._closed = False
        self._unpacker = msgpack.Unpacker(raw=False)
        self._process = subprocess.Popen(
            self.command(name),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, ENVIRONMENT: launch.environment()},
        )
        # Written by a thread: a request can be larger than the pipe holds, and the
        # worker reads it only once it has started.
        packed = msgpack.packb(request)
        self._writer = threading.Thread(
            target=self._send, args=(packed, keep_input_open), daemon=True
        )
        self._writer.start()
        assert self._process.stdout is not None
        self._out = self._process.stdout.fileno()
        with contextlib.suppress(OSError):  # Linux: a larger pipe, fewer wake-ups
            fcntl.fcntl(self._out, _F_SETPIPE_SZ, _CHUNK)
        # Read by a thread as it comes (an empty chunk: the end of its output).
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=buffered_chunks)
        self._stopping = threading.Event()
        self._eof = threading.Event()  # its output ended (set by the reading thread)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def command(self, name: str) -> list[str]:
        """How the worker is run."""
        return [sys.executable, "-m", "ledger.workers", name]

    def _send(self, request: bytes, keep_open: bool) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(request)
            stdin.flush()
            if not keep_open:
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

    # --- what it sends ----------------------------------------------------------------

    def poll(self) -> list[Any]:
        """What it has sent since last asked, without waiting."""
        messages: list[Any] = []
        while not self._ended:
            try:
                chunk = self._chunks.get_nowait()
            except queue.Empty:
                break
            messages.extend(self._take_in(chunk))
        return messages

    def receive(self) -> list[Any]:
        """What it sends next, waiting for it; [] once its output has ended."""
        while not self._ended:
            messages = self._take_in(self._chunks.get())
            if messages:
                return messages
        return []

    @property
    def ended(self) -> bool:
        """Whether its output has ended (all it sent has been taken in)."""
        return self._ended

    def _take_in(self, chunk: bytes) -> list[Any]:
        if not chunk:
            self._ended = True
            return []
        self._unpacker.feed(chunk)
        messages = []
        for message in self._unpacker:
            if isinstance(message, list) and len(message) == 2 and message[0] == DONE:
                self.done = True
                self.result = message[1]
            else:
                messages.append(message)
        return messages

    # --- its end ------------------------------------------------------------------------

    def running(self) -> bool:
        return self._process.poll() is None

    @property
    def exit_status(self) -> int | None:
        """Its exit status once it has ended and was waited for (negative: killed)."""
        return self._process.returncode

    def finish(self) -> None:
        """Close its input (the sign to finish), take in the rest of what it sends,
        and wait for it to exit; failure then says why it failed, if it did."""
        stdin = self._process.stdin
        self._writer.join()
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()
        while not self._ended:
            self._take_in(self._chunks.get())
        self._end(ended=True)

    def stop(self) -> None:
        """End it at once (the work is over, failed or was interrupted), unless it
        ended by itself (or was finished); failure then says why, if it failed.

        Whether it ended by itself is whether its output ended: a process closes its
        output as it exits, and may not have exited yet when this runs (asking whether
        it still runs would then kill it and lose its failure)."""
        if self._closed:
            return
        ended = self._ended or self._eof.is_set() or self._process.poll() is not None
        if not ended:
            self._process.kill()
        self._end(ended)

    def _end(self, ended: bool) -> None:
        if self._closed:  # finished, then stopped
            return
        self._closed = True
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
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class Channel:
    """The worker's side: its request, what it sends, and whether it is told to finish."""

    def __init__(self, given: BinaryIO, sending: BinaryIO) -> None:
        self._in = given.fileno()
        self._out = sending
        self._packer = msgpack.Packer()

    def request(self) -> Any:
        """Its request: the first msgpack value on its standard input."""
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            chunk = os.read(self._in, _CHUNK)
            if not chunk:
                raise EOFError("the starting process sent no request")
            unpacker.feed(chunk)
            for value in unpacker:
                return value

    def send(self, message: Any) -> None:
        self._out.write(self._packer.pack(message))

    def flush(self) -> None:
        """Let what was sent reach the starting process now (it is buffered)."""
        self._out.flush()

    def done(self, result: Any) -> None:
        self._out.write(self._packer.pack([DONE, result]))
        self._out.flush()

    def finishing(self, timeout: float) -> bool:
        """Whether its input was closed (the sign to finish), waiting up to timeout."""
        readable, _, _ = select.select([self._in], [], [], timeout)
        return bool(readable) and not os.read(self._in, 4096)
