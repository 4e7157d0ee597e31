"""Keeps every read model (the models of projections/, found by
projections.model.registered) in step with the ledger: pages of stored events, in
notification order, given to the models and applied with one tracking row in the
same transaction, so that a crash never counts an event twice or skips one; and
rebuilds them all from the first event. It knows no model by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper, Recording

from ledger import rebuild_client
from ledger.collector import Collector, collected_between_units
from ledger.log.store import TransparencyLog
from ledger.rebuild_client import Folded, RebuildWorker
from ledger.transcoder import ReadMapper
from projections.model import ReadModel, in_dependency_order, registered

# The tracking name carries the read models' format: a new format starts again
# from an empty position, and so from empty tables (see __init__).
NAME = "read-models/6"

PAGE = 10_000
# Events committed by this process kept for the read models (see ReadModels.offer).
OFFERED = 3 * PAGE
# Aggregates folded and written at a time in a rebuild.
_REBUILD_ROWS = 5_000
# Events from which a rebuild folds some of the aggregates in a second process (it
# takes about 0.3 s to start; ledger/rebuild_worker.py).
SECOND_PROCESS_FROM = 200_000
# Aggregates the second process is let fold before this one starts its own: none,
# but for tests, which see the two meet at every point.
_HEAD_START = 0
# Aggregates this process folds between two looks at what the second one has sent.
_LOOK_EVERY = 64
# Aggregates the second process has folded that this one writes once so many wait:
# enough to write them in bulk, few enough that memory holds little.
_WRITE_FROM = 500

Event = tuple[int, Any]  # (position, domain event)
# A stored event: position, aggregate id (16 bytes), version, topic, state.
Row = tuple[int, bytes, int, str, bytes]
Handlers = dict[type, tuple[Callable[[Any, int], None], ...]]


@runtime_checkable
class ReadModelStore(Protocol):
    """What a recorder offers the read models (SQLite and PostgreSQL alike)."""

    def projection_transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...
    def tracking_position(self, name: str) -> int: ...
    def record_tracking(self, c: Any, name: str, position: int) -> None: ...
    @property
    def log(self) -> TransparencyLog: ...
    def forget_tracking(self, c: Any, name: str) -> None: ...
    def read_ahead(self) -> AbstractContextManager[object]: ...


class DeferredWrites:
    """A read-model cursor whose reads (SELECT) are made at once and whose writes are
    kept, in order, to be made later in another transaction (ReadModels._apply_page),
    or in another process (ledger/rebuild_worker.py)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._writes: list[tuple[bool, str, Any]] = []

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> None:
        if statement.lstrip()[:6].upper() == "SELECT":
            self._cursor.execute(statement, parameters)
        else:
            self._writes.append((False, statement, parameters))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        self._writes.append((True, statement, list(rows)))

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()  # type: ignore[no-any-return]

    def take(self) -> list[tuple[bool, str, Any]]:
        """The writes kept so far (no longer kept)."""
        writes, self._writes = self._writes, []
        return writes

    def make(self, c: Any) -> None:
        """Make the kept writes, in the order they were asked for."""
        for many, statement, parameters in self.take():
            if many:
                c.executemany(statement, parameters)
            else:
                c.execute(statement, parameters)


def handlers_of(
    models: Iterable[ReadModel], only: Callable[[ReadModel, type], bool] | None = None
) -> Handlers:
    """For each event class, the handlers of these models (those `only` keeps), in the
    models' order."""
    table: dict[type, list[Callable[[Any, int], None]]] = {}
    for model in models:
        for event_class, handler in type(model).handlers().items():
            if only is None or only(model, event_class):
                table.setdefault(event_class, []).append(handler.__get__(model))
    return {event_class: tuple(found) for event_class, found in table.items()}


def topics_of(handlers: Handlers) -> list[str]:
    return sorted(str(vars(event_class)["TOPIC"]) for event_class in handlers)


@dataclass
class Step:
    """A step of a rebuild: the events of some models read in stored order (for a
    model that folds, its events outside the fold), then perhaps one model folded
    aggregate by aggregate."""

    stored: Handlers
    folding: ReadModel | None
    folded: Handlers


def plan(models: Sequence[ReadModel]) -> list[Step]:
    """A rebuild's steps. Each model joins the first pass in which every model it comes
    after is complete, or is read in the same pass and folds nothing; a model that
    folds is complete once folded, after its pass. So a model that reads a folded
    model's tables comes after the fold, and the models a fold's consumers look up
    (read in the same pass, before the fold) are complete by then."""
    steps: list[Step] = []
    complete: set[ReadModel] = set()
    remaining = list(models)
    by_class = {type(model): model for model in models}
    while remaining:
        joined: list[ReadModel] = []
        folding: ReadModel | None = None
        for model in remaining:
            before = [by_class[cls] for cls in type(model).after]
            if not all(m in complete or (m in joined and m is not folding) for m in before):
                continue
            if model.folds is not None:
                if folding is not None:
                    continue  # one fold a step
                folding = model
            joined.append(model)
        remaining = [model for model in remaining if model not in joined]
        folded = handlers_of([folding], _folded_events) if folding is not None else {}
        steps.append(Step(handlers_of(joined, _stored_order_events), folding, folded))
        complete.update(joined)
    return steps


def _folded_events(model: ReadModel, event_class: type) -> bool:
    return model.folds is not None and issubclass(event_class, model.folds)


def _stored_order_events(model: ReadModel, event_class: type) -> bool:
    """A model that folds reads its other events in stored order, before its fold."""
    return not _folded_events(model, event_class)


class ReadModels:
    """Every registered read model, followed page by page and rebuilt in one go."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        *,
        prepare: bool = True,
        models: Sequence[type[ReadModel]] | None = None,
    ) -> None:
        """prepare: create the read models' tables, and empty them for a new format;
        not in a process that only reads events for another (ledger/rebuild_worker.py),
        which must not wait for the write lock that process holds."""
        assert isinstance(recorder, ReadModelStore)
        self.recorder = recorder
        self.store: ReadModelStore = recorder
        self.mapper = ReadMapper(mapper)
        instances: dict[type[ReadModel], ReadModel] = {}
        for cls in in_dependency_order(models) if models is not None else registered():
            instances[cls] = cls(*(instances[before] for before in cls.after))
        self.models = list(instances.values())
        self._handlers = handlers_of(self.models)
        self._offered: list[Event] = []
        self._offered_overflow = False
        # The store's settings, for a second process to fold half the aggregates in
        # a long rebuild (None: everything here); and what went wrong with it.
        self.second_process: Mapping[str, str] | None = None
        self.notes: list[str] = []
        # Of the last rebuild's events, how many the second process folded (the bench
        # reports the share).
        self.folded_elsewhere = 0
        if not prepare:
            return
        with self.store.projection_transaction(commit=True) as c:
            for model in self.models:
                for statement in model.tables:
                    c.execute(statement)
        if self.position() == 0:
            self._clear()

    def tables(self) -> list[str]:
        return [table for model in self.models for table in model.table_names()]

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows as the models compare them, sorted (for tests)."""
        found = {}
        with self.store.projection_transaction(commit=False) as c:
            for model in self.models:
                for table in model.table_names():
                    c.execute(model.compared(table))
                    found[table] = sorted(tuple(row) for row in c.fetchall())
        return found

    def position(self) -> int:
        return self.store.tracking_position(NAME)

    # --- following ----------------------------------------------------------------

    def catch_up(self, progress_to: Callable[[int], None] | None = None) -> int:
        """Apply every event the read models have not seen; return how many."""
        done = 0
        start = self.position()
        if start == 0 and self.recorder.select_notifications(0, 1):
            # From nothing (a new ledger, a copy, a new read-model format): a rebuild
            # reads each aggregate's events together, several times faster.
            return self.rebuild(progress_to)
        while True:
            step = self._next_page(start)
            if step is None:
                return done
            start, applied = step
            done += applied
            if progress_to is not None and applied:
                progress_to(applied)

    def _next_page(self, start: int) -> tuple[int, int] | None:
        """Apply the page after position start; return the position after it and how
        many events it held, or None when there is nothing to apply. In a method of its
        own so that the page is let go before the caller reports it (progress_to may
        collect garbage, which would otherwise walk the page's objects too)."""
        events = self._take_offered(start)
        if not events:
            page = self.recorder.select_notifications(start, PAGE, inclusive_of_start=False)
            if not page:
                self._offered_overflow = False
                return None
            to_event = self.mapper.to_domain_event
            events = [(n.id, to_event(n)) for n in page]
        last = events[-1][0]
        try:
            self._apply_page(events, last)
        except IntegrityError:
            # Another process applied this page first (and rolled ours back):
            # go on from wherever the read models are now.
            self._forget()
            return self.position(), 0
        except BaseException:
            self._forget()
            raise
        return last, len(events)

    def _apply_page(self, events: list[Event], last: int) -> None:
        """Apply a page and advance the position to its last event, atomically.

        The page is worked out in a read transaction, its writes kept, and then made
        in a short write transaction that also advances the position; so the write
        lock (SQLite has one for the whole file) is held for the writes alone, and a
        command or an ingest writing meanwhile hardly waits. If another process moved
        the position on in between, recording it fails (IntegrityError) and the page
        is dropped. Reads see the tables as they were before the page: each model
        finds what the page itself changed in memory (ReadModel.flush).
        """
        with self.store.projection_transaction(commit=False) as c:
            writes = DeferredWrites(c)
            self._work_out(writes, events)
        with self.store.projection_transaction(commit=True) as c:
            # First: a position moved on fails here, before anything is written.
            self.store.record_tracking(c, NAME, last)
            writes.make(c)

    def _work_out(self, c: Any, events: Sequence[Event]) -> None:
        """Give a batch of events to every model that handles them, then write."""
        self._begin(c)
        self._dispatch(self._handlers, events)
        self._flush()

    def _begin(self, c: Any) -> None:
        for model in self.models:
            model.begin(c)

    def _flush(self) -> None:
        for model in self.models:
            model.flush()
        for model in self.models:
            model.end()

    @staticmethod
    def _dispatch(handlers: Handlers, events: Iterable[Event]) -> None:
        none: tuple[Callable[[Any, int], None], ...] = ()
        for position, event in events:
            for handler in handlers.get(type(event), none):
                handler(event, position)

    def offer(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Events this process has just committed: the next catch-up applies them as
        they are, without reading them back and decoding them, if they are exactly
        the events after its position (else it reads the store as usual). Bounded:
        past OFFERED events, the offer is dropped until the next catch-up."""
        if self._offered_overflow:
            return
        if len(self._offered) + len(recordings) > OFFERED:
            self._offered.clear()
            self._offered_overflow = True
            return
        self._offered.extend((r.notification.id, r.domain_event) for r in recordings)

    def _take_offered(self, start: int) -> list[Event]:
        """The offered events that follow position start without a gap, up to a page."""
        offered = self._offered
        skip = 0
        while skip < len(offered) and offered[skip][0] <= start:
            skip += 1  # applied already (read from the store)
        count = 0
        while (
            count < PAGE
            and skip + count < len(offered)
            and offered[skip + count][0] == start + 1 + count
        ):
            count += 1
        taken = offered[skip : skip + count]
        if skip + count < len(offered) and count < PAGE:
            # Another writer's events (or ids given up by a rolled-back writer) lie
            # between: the store has what comes next.
            offered.clear()
        else:
            del offered[: skip + count]
        return taken

    def _forget(self) -> None:
        self._offered.clear()
        for model in self.models:
            model.forget()

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A read transaction over read models that have caught up with the ledger."""
        self.catch_up()
        with self.store.projection_transaction(commit=False) as c:
            yield c

    # --- rebuilding ---------------------------------------------------------------

    def rebuild(self, progress_to: Callable[[int], None] | None = None) -> int:
        """Empty every read model and build it again from the first event, in one
        transaction: an interrupted rebuild leaves the read models as they were, and
        no other process ever sees half-built tables. Meanwhile other processes read
        the read models as they were; on SQLite one that must write (a command, or
        read models catching up with new events) is refused as busy after the lock
        timeout, on PostgreSQL it waits.

        Following applies events in the order they were stored, so an aggregate is
        folded and written again on every page that touches it. A rebuild follows
        plan(): a model that folds reads each aggregate's events together instead (in
        the order of the events' primary key), and folds and writes each aggregate
        once; other events, few, are read in stored order. Events stored meanwhile are
        followed as usual afterwards. The store reads its file into the system's cache
        ahead of the rebuild, in the order it lies on disk (store.read_ahead)."""
        self._forget()
        self.folded_elsewhere = 0
        size = 0
        try:
            with (
                collected_between_units() as collector,
                self.store.projection_transaction(commit=True) as c,
                self.store.read_ahead(),
            ):
                self._empty(c)
                self.store.forget_tracking(c, NAME)
                size, upto = self._end(c)
                if upto is not None:
                    read = self._rebuild(c, upto, progress_to or (lambda _: None), collector)
                    self.store.record_tracking(c, NAME, upto)
                    if progress_to is not None:
                        progress_to(size - read)  # the events no read model takes
        finally:
            self._forget()
        return size + self.catch_up(progress_to)

    def _end(self, c: Any) -> tuple[int, int | None]:
        """How many events the store holds, and the position of the last."""
        d = self.store.log.dialect
        c.execute(f"SELECT MAX({d.notification_id}) FROM {d.events_table}")
        upto = c.fetchone()[0]
        if upto is None:
            return 0, None
        # Every stored event is a leaf of the log, whose head says how many there are
        # (a ledger made before the log is counted, until its next write logs it).
        size, last = self.store.log.head(c)
        if last != upto:
            c.execute(f"SELECT COUNT(*) FROM {d.events_table}")
            size = c.fetchone()[0]
        return int(size), int(upto)

    def _rebuild(
        self, c: Any, upto: int, report: Callable[[int], None], collector: Collector
    ) -> int:
        """Build every read model from the events up to a position; return how many
        events were read."""
        self._begin(c)
        for model in self.models:
            model.start_rebuild()
        done = 0
        steps = plan(self.models)
        # What the stored passes read (by step), for a second process to take in too.
        read: list[tuple[int, list[Row]]] = []
        folds = [index for index, step in enumerate(steps) if step.folding is not None]
        for index, step in enumerate(steps):
            keep = self._may_share(upto) and index <= max(folds, default=-1)
            topics = topics_of(step.stored)
            for rows in self._in_stored_order(c, topics, upto) if topics else ():
                if keep:
                    read.append((index, rows))
                self._begin(c)
                self._dispatch(step.stored, self._events(rows))
                self._flush()
                report(len(rows))
                done += len(rows)
            if step.folding is not None:
                done += self._fold(c, step, upto, read, report, collector)
        self._begin(c)
        for model in self.models:
            model.finish_rebuild()
        return done

    def _fold(
        self,
        c: Any,
        step: Step,
        upto: int,
        read: list[tuple[int, list[Row]]],
        report: Callable[[int], None],
        collector: Collector,
    ) -> int:
        """Fold a model aggregate by aggregate, writing every _REBUILD_ROWS aggregates;
        with a second process folding from the other end, if the rebuild is long."""
        assert step.folding is not None
        handlers = {event_class: found[0] for event_class, found in step.folded.items()}
        topics = topics_of(step.folded)
        done = 0
        pending = [0, 0]  # aggregates and events folded since the last write

        def fold_one(events: list[Event]) -> None:
            nonlocal done
            for position, event in events:
                handlers[type(event)](event, position)
            pending[0] += 1
            pending[1] += len(events)
            done += len(events)
            if pending[0] >= _REBUILD_ROWS:
                write()

        def write() -> None:
            self._flush()
            report(pending[1])
            pending[0] = pending[1] = 0
            collector.between_units()
            self._begin(c)

        def write_folded(folded: list[Folded]) -> None:
            """Write what the second process folded."""
            nonlocal done
            rebuild_client.write(c, folded)
            events = sum(record.events for record in folded)
            self.folded_elsewhere += events
            report(events)
            done += events

        def fold_to_meet(worker: RebuildWorker) -> None:
            """Fold aggregates from the lowest id up while the worker folds them from
            the highest down, writing what it sends as it comes, until this process
            reaches an aggregate the worker has sent."""
            worker.wait_for(_HEAD_START)
            for number, (aggregate, events) in enumerate(self._by_aggregate(c, topics, upto)):
                if number % _LOOK_EVERY == 0 and worker.poll() >= _WRITE_FROM:
                    write_folded(worker.take())
                if worker.reached(aggregate):
                    break
                worker.floor = aggregate
                fold_one(events)
            write()
            # Everything above the meeting point; what it sent below it was folded here.
            write_folded(worker.take())

        self._begin(c)
        worker = self._start_worker(step.folding, upto, read)
        if worker is None:
            for _, events in self._by_aggregate(c, topics, upto):
                fold_one(events)
            write()
            return done
        try:
            fold_to_meet(worker)
        finally:
            worker.stop()
        if worker.failure is not None:
            self.notes.append(
                f"the second process that folded {step.folding.name} failed "
                f"({worker.failure}); this one folded the rest."
            )
        return done

    def _may_share(self, upto: int) -> bool:
        return self.second_process is not None and upto >= SECOND_PROCESS_FROM

    def _start_worker(
        self, model: ReadModel, upto: int, read: list[tuple[int, list[Row]]]
    ) -> RebuildWorker | None:
        """A second process folding from the other end, for a long rebuild where the
        store can be opened by another process."""
        if self.second_process is None or not self._may_share(upto):
            return None
        try:
            return RebuildWorker(self.second_process, upto=upto, model=model.name, read=read)
        except OSError as e:
            self.notes.append(
                f"a second process to fold {model.name} could not be started ({e}); "
                "this one folded them all."
            )
            return None

    def fold_from_the_end(
        self,
        c: Any,
        model: str,
        upto: int,
        read: Sequence[tuple[int, Sequence[Row]]],
        send: Callable[[UUID, int, list[tuple[bool, str, Any]]], None],
        between: Callable[[], None],
    ) -> None:
        """What the second process of a rebuild does (ledger/rebuild_worker.py): take
        in what the rebuilding process read in stored order before the fold, then
        fold the model's aggregates from the highest id down, sending for each the
        writes every model made of it (the models write into emptied tables, so the
        rebuilding process can make them in any order, in bulk)."""
        writes = DeferredWrites(c)
        self._begin(writes)
        for each in self.models:
            each.start_rebuild()
        steps = plan(self.models)
        step = next(s for s in steps if s.folding is not None and s.folding.name == model)
        for index, rows in read:
            self._dispatch(steps[index].stored, self._events(rows))
        self._flush()
        writes.take()  # written by the rebuilding process
        handlers = {event_class: found[0] for event_class, found in step.folded.items()}
        topics = topics_of(step.folded)
        for number, (aggregate, events) in enumerate(
            self._by_aggregate(c, topics, upto, descending=True), start=1
        ):
            self._begin(writes)
            for position, event in events:
                handlers[type(event)](event, position)
            self._flush()
            send(aggregate, len(events), writes.take())
            if number % rebuild_client.COLLECT_EVERY == 0:
                between()

    # --- reading stored events ----------------------------------------------------------

    def _events(self, rows: Iterable[Row]) -> list[Event]:
        event = self.mapper.event
        return [
            (position, event(UUID(bytes=key), version, topic, state))
            for position, key, version, topic, state in rows
        ]

    def _select(self, topics: Sequence[str]) -> str:
        """The stored events of some topics up to a position (and a condition to add)."""
        d = self.store.log.dialect
        return (
            f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
            f"FROM {d.events_table} WHERE {d.notification_id} <= ? "
            f"AND topic IN ({', '.join('?' * len(topics))}) "
        )

    def _in_stored_order(self, c: Any, topics: Sequence[str], upto: int) -> Iterator[list[Row]]:
        """Pages of the stored events of some topics, in the order they were stored."""
        d = self.store.log.dialect
        select = f"{self._select(topics)}AND {d.notification_id} > ? "
        start = 0
        while True:
            c.execute(f"{select}ORDER BY {d.notification_id} LIMIT ?", (upto, *topics, start, PAGE))
            rows = c.fetchall()
            if not rows:
                return
            yield [
                (p, d.originator_bytes(key), v, topic, state) for p, key, v, topic, state in rows
            ]
            start = rows[-1][0]

    def _by_aggregate(
        self, c: Any, topics: Sequence[str], upto: int, *, descending: bool = False
    ) -> Iterator[tuple[UUID, list[Event]]]:
        """Each aggregate's events of some topics (up to a position) together, in
        version order: pages in the order of the events table's primary key (from the
        highest aggregate id down, if descending), cut between aggregates."""
        d = self.store.log.dialect
        event = self.mapper.event
        select = self._select(topics)
        direction, past = ("DESC", "<") if descending else ("", ">")
        order = f"ORDER BY originator_id {direction}, originator_version {direction}"
        after: Any = None
        while True:
            if after is None:
                c.execute(f"{select}{order} LIMIT ?", (upto, *topics, PAGE))
            else:
                c.execute(
                    f"{select}AND originator_id {past} ? {order} LIMIT ?",
                    (upto, *topics, after, PAGE),
                )
            rows = c.fetchall()
            if not rows:
                return
            if len(rows) == PAGE:
                # The last aggregate may go on in the next page: leave it to that page,
                # or, if it fills this one, read it whole.
                last = rows[-1][1]
                cut = len(rows)
                while cut and rows[cut - 1][1] == last:
                    cut -= 1
                if cut:
                    rows = rows[:cut]
                else:
                    c.execute(f"{select}AND originator_id = ? {order}", (upto, *topics, last))
                    rows = c.fetchall()
            for key, stored in groupby(rows, key=itemgetter(1)):
                aggregate = UUID(bytes=d.originator_bytes(key))
                events = [
                    (position, event(aggregate, version, topic, state))
                    for position, _, version, topic, state in stored
                ]
                if descending:  # read from the last version down
                    events.reverse()
                yield aggregate, events
            after = rows[-1][1]

    def _empty(self, c: Any) -> None:
        for model in self.models:
            for table in model.table_names():
                c.execute(f"DELETE FROM {table}")

    def _clear(self) -> None:
        self._forget()
        with self.store.projection_transaction(commit=True) as c:
            self._empty(c)
            self.store.forget_tracking(c, NAME)
