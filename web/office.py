"""One open ledger shared by a server process's requests: the read facade, the
identity service and the command API over it, used one request at a time."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from domain.base import Recorded
from ledger.application import Clock, ConflictError, Ledger
from ledger.commands import Command
from ledger.identity import Identity
from ledger.reads import Reads
from ledger.session import Session

T = TypeVar("T")
log = logging.getLogger("uvicorn.error")

# A web session ends after this long without a request (specs/web.md), and in any case
# after the token's lifetime.
IDLE = timedelta(minutes=30)
_RETRIES = 3


@dataclass(frozen=True)
class Settings:
    """What a deployment may change. secure_cookies: the cookies carry `Secure`, as
    they must behind a TLS proxy (the docs' stanza); idle: a page session's idle
    timeout; clock: the ledger's clock (tests move it)."""

    secure_cookies: bool = False
    idle: timedelta = IDLE
    clock: Clock | None = field(default=None, compare=False)


class Office:
    """The ledger of one server process. The ledger's connections and caches are used
    by one request at a time, so a page is always read from one consistent state:
    requests are run on the ledger's own thread, one after another in the order they
    came (`serve`). Several processes (--workers) answer more at once, on either store:
    each process its own Office, the store taking their writes in turn."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.reads = Reads(ledger)
        self.identity = Identity(ledger)
        self._lock = threading.RLock()
        # A queue, not a lock that many threads wait on: a lock does not let its waiters
        # in in the order they came, and under load some requests waited many turns
        # (50 clients never pausing, SQLite: p99 5 to 15 times the median; queued, 3).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    async def serve(self, work: Callable[[], T], *, reads_only: bool = False) -> T:
        """Run a request's work on the ledger's thread, after those that came before
        it; reads_only (a GET): all its reads in one transaction (read)."""
        future = self._thread.submit(self.read if reads_only else self.run, work)
        return await asyncio.wrap_future(future)

    def run(self, work: Callable[[], T]) -> T:
        with self._lock:
            return work()

    def read(self, work: Callable[[], T]) -> T:
        """Run work that only reads (a GET): all its reads of the read models in one
        transaction, as of one moment."""
        with self._lock, self.ledger.read_models.one_read():
            return work()

    def execute(self, command: Command, session: Session) -> list[Recorded] | None:
        """Run one command entered by the logged-in staff member; a conflict with
        another process's write is retried against fresh state (nothing of it was
        appended), as ingest does. The read models are then brought up to date, so
        that the next request shows the write whichever process serves it."""
        recorded = self._execute(command, session)
        try:
            self.ledger.read_models.after_write()
        except Exception:  # the write is committed: never answer it as a failure
            log.exception("the read models could not catch up after a write")
        return recorded

    def _execute(self, command: Command, session: Session) -> list[Recorded] | None:
        for _ in range(_RETRIES - 1):
            try:
                return self.ledger.execute(command, session)
            except ConflictError:
                continue
        return self.ledger.execute(command, session)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        with self._lock:
            self.ledger.close()
