"""A second process that folds aggregates in a long rebuild, while the rebuilding
process folds others and writes them all in its one transaction
(ReadModels._fold, ledger/read_models.py).

Its request: the model to fold (a read model that folds aggregate by aggregate), the
rebuild's last position, and the stored events the rebuilding process read in stored
order before the fold (what the models take in first: the policy versions, the
complaints about each household, ...). It takes those in, then reads the folded
model's events from the highest aggregate id down (up to that position), in one read
transaction, folds each aggregate exactly as the rebuilding process does, and sends
every write the models made of it (ReadModels.fold_from_the_end): a statement as
[text] the first time it is used (numbered in the order sent), an aggregate as [its
id (16 bytes), its events, [[statement number, [parameters, ...]], ...]].
Meanwhile the rebuilding process folds from the lowest id up, and stops the worker
where the two meet: the work is shared in whatever proportion the two processes'
speeds give, on any ledger and machine. The worker writes nothing to the store: the
rebuilding process makes its writes, so an interrupted rebuild still leaves the read
models as they were. It knows no read model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.collector import collected_between_units
from ledger.workers.launcher import Channel, Launch, Worker

OPENS_LEDGER = True


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

    def __init__(
        self,
        launch: Launch,
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
        self._folded: list[Folded] = []
        self._statements: list[str] = []
        # What it has sent and this process has not taken in yet is bounded: the
        # rebuilding process writes in bursts (5,000 households at a time), during
        # which a pipe alone (1 MiB) filled up and the worker waited: at a million
        # households each process spent a quarter of the rebuild waiting for the other.
        self._worker = Worker(
            "rebuild",
            launch,
            {"upto": upto, "model": model, "read": list(read)},
            buffered_chunks=launch.settings.rebuild_buffered_chunks,
        )

    @property
    def failure(self) -> str | None:
        return self._worker.failure

    def poll(self) -> int:
        """Take in what it has sent so far, without waiting; how many are waiting."""
        self._take_in(self._worker.poll())
        return len(self._folded)

    def wait_for(self, households: int) -> None:
        """Take in what it sends until so many households are waiting, or it ends."""
        while not self._worker.ended and len(self._folded) < households:
            self._take_in(self._worker.receive())

    def reached(self, aggregate: UUID) -> bool:
        """Whether it has sent this household, or one below it (and so every household
        from the highest down to it)."""
        return self.lowest is not None and aggregate >= self.lowest

    def take(self) -> list[Folded]:
        folded, self._folded = self._folded, []
        return folded

    def _take_in(self, records: list[Any]) -> None:
        for record in records:
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
        ended by itself; failure then says why, if it failed."""
        self._worker.stop()


def serve(ledger: Any, request: dict[str, Any], channel: Channel) -> None:
    read_models = ledger.folding_read_models()
    numbers: dict[str, int] = {}

    def send(aggregate: UUID, events: int, writes: list[tuple[bool, str, Any]]) -> None:
        coded = []
        for many, statement, parameters in writes:
            number = numbers.get(statement)
            if number is None:
                number = numbers[statement] = len(numbers)
                channel.send((statement,))
            coded.append((number, parameters if many else [parameters]))
        channel.send((aggregate.bytes, events, coded))

    with (
        collected_between_units() as collector,
        read_models.store.projection_transaction(commit=False) as c,
    ):
        read_models.fold_from_the_end(
            c,
            request["model"],
            request["upto"],
            request["read"],
            send,
            collector.between_units,
        )
