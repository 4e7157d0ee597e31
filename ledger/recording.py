"""What the ledger's two recorders (SQLite's, ledger/recorder.py, and PostgreSQL's,
ledger/postgres.py) share: the rows of the log's leaves, the read models' positions,
the refusals of a store that takes no writes or whose writer is busy, and the mark by
which the application knows a recorder of its own. Neither recorder imports the
other."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.environment import StoreProblem
from ledger.log.leaf import LeafRow

READ_ONLY_READS = "; verify, prove and household history work read-only."
READ_MODELS_WRITE = (
    ", and the read models are brought up to date by writing: ask the primary for "
    f"household show, reports and bulletins{READ_ONLY_READS}"
)


class LedgerRecording:
    """The mark of the ledger's own recorders (either store)."""


def is_ledger_recorder(recorder: object) -> bool:
    return isinstance(recorder, LedgerRecording)


def leaf_rows(notification_ids: Sequence[int], stored: Sequence[StoredEvent]) -> list[LeafRow]:
    return [
        (nid, _uuid(s.originator_id).bytes, s.originator_version, s.topic, s.state)
        for nid, s in zip(notification_ids, stored, strict=True)
    ]


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


class ReadOnlyStore(StoreProblem):
    """The store takes no writes (a PostgreSQL replica, a read-only file), and the
    command needs one (exit 2)."""


class WriterBusy(Exception):
    """Another process holds the lock a write needs, and this one was asked not to
    wait for it (a read bringing the read models up to date: it reads them as they
    are instead)."""


class Positions:
    """Each read model's position as this process last wrote it (before it has, as it
    first read it).

    The read models (ledger/read_models.py) read a page of events after the position
    outside the transaction that applies it, and keep the rows they wrote in memory
    for the next page. If another process moved the position on since, the page would
    count events twice or skip some, and the rows in memory may be out of date; so
    recording it fails (they then forget those rows and go on from the position they
    find), and the position found is the one expected from then on."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}
        self.pending: dict[str, int] = {}

    def read(self, name: str, position: int) -> int:
        self.known.setdefault(name, position)
        return position

    def check(self, name: str, current: int) -> None:
        # What this transaction itself wrote (a rebuild forgets the position first).
        expected = self.pending.get(name, self.known.get(name))
        if expected is not None and current != expected:
            self.known[name] = current
            raise IntegrityError(
                f"the read models ({name}) were moved on to {current} by another process "
                f"since this one left them at {expected}"
            )

    def stage(self, name: str, position: int) -> None:
        self.pending[name] = position

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Wraps a write transaction: what it recorded is known only once it committed."""
        self.pending = {}
        yield
        self.known.update(self.pending)
