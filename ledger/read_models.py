"""Keeps every read model (the models of projections/, found by
projections.model.registered) in step with the ledger: pages of stored events, in
notification order, given to the models and applied with one tracking row in the
same transaction, so that a crash never counts an event twice or skips one; and
rebuilds them all from the first event. It knows no model by name."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Mapper,
    OperationalError,
    Recording,
)

from ledger.collector import Collector, collected_between_units
from ledger.log.store import TransparencyLog
from ledger.read_model_plan import DeferredWrites, Handlers, Step, handlers_of, plan, topics_of
from ledger.recording import WriterBusy
from ledger.settings import DEFAULT, Settings
from ledger.transcoder import ReadMapper
from ledger.workers import rebuild
from ledger.workers.launcher import Launch
from ledger.workers.rebuild import Folded, RebuildWorker
from projections.model import ReadModel, in_dependency_order, registered

# The tracking name carries the read models' format: a new format starts again
# from an empty position, and so from empty tables (see __init__).
NAME = "read-models/9"
# Until when (milliseconds since the epoch) a process has said it keeps the read models
# up to date while it writes (an ingest, and its follower): see ReadModels.keep.
KEPT_UNTIL = f"{NAME}/kept-until"
# Tuning (pages, the rebuild's second process, a read's catch-up): ledger/settings.py.

Event = tuple[int, Any]  # (position, domain event)
# A stored event: position, aggregate id (16 bytes), version, topic, state.
Row = tuple[int, bytes, int, str, bytes]


@dataclass
class _Shared:
    """One thread's one_read(): what closes its transaction, and its cursor once
    opened."""

    stack: ExitStack
    cursor: Any = None


@runtime_checkable
class ReadModelStore(Protocol):
    """What a recorder offers the read models (SQLite and PostgreSQL alike)."""

    def projection_transaction(
        self, *, commit: bool, wait: bool = True
    ) -> AbstractContextManager[Any]: ...
    def tracking_position(self, name: str) -> int: ...
    def ends(self, name: str) -> tuple[int, int]: ...
    def record_tracking(self, c: Any, name: str, position: int) -> None: ...
    @property
    def log(self) -> TransparencyLog: ...
    def forget_tracking(self, c: Any, name: str) -> None: ...
    def note(self, c: Any, name: str, value: int) -> None: ...
    def noted(self, name: str) -> int: ...
    def read_ahead(self) -> AbstractContextManager[object]: ...


class ReadModels:
    """Every registered read model, followed page by page and rebuilt in one go."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        *,
        prepare: bool = True,
        models: Sequence[type[ReadModel]] | None = None,
        settings: Settings = DEFAULT,
    ) -> None:
        """prepare: create the read models' tables, and empty them for a new format;
        not in a process that only reads events for another (ledger/workers/rebuild.py),
        which must not wait for the write lock that process holds."""
        assert isinstance(recorder, ReadModelStore)
        self.settings = settings
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
        # What a second process needs to fold half the aggregates in a long rebuild
        # (None: everything here); and what went wrong with it.
        self.second_process: Launch | None = None
        self.notes: list[str] = []
        # Of the last rebuild's events, how many the second process folded (the bench
        # reports the share).
        self.folded_elsewhere = 0
        # The transaction shared by a thread's readings within one_read().
        self._shared = threading.local()
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

    def catch_up(
        self,
        progress_to: Callable[[int], None] | None = None,
        *,
        upto: int | None = None,
        wait: bool = True,
    ) -> int:
        """Apply every event the read models have not seen (up to position upto, if
        given); return how many. Unless wait, it stops, without waiting, where another
        process holds the lock its next write needs (WriterBusy)."""
        done = 0
        start = self.position()
        if upto is not None and start >= upto:
            return 0
        if start == 0 and self.recorder.select_notifications(0, 1):
            # From nothing (a new ledger, a copy, a new read-model format): a rebuild
            # reads each aggregate's events together, several times faster.
            return self.rebuild(progress_to, upto=upto, wait=wait)
        while True:
            try:
                step = self._next_page(start, upto, wait)
            except WriterBusy:
                return done
            if step is None:
                return done
            start, applied = step
            done += applied
            if progress_to is not None and applied:
                progress_to(applied)

    def _next_page(self, start: int, upto: int | None, wait: bool) -> tuple[int, int] | None:
        """Apply the page after position start (up to upto); return the position after
        it and how many events it held, or None when there is nothing to apply. In a
        method of its own so that the page is let go before the caller reports it
        (progress_to may collect garbage, which would otherwise walk the page's
        objects too)."""
        if upto is not None and start >= upto:
            return None
        events = self._take_offered(start)
        if upto is not None:
            events = [event for event in events if event[0] <= upto]
        if not events:
            page = self.recorder.select_notifications(
                start, self.settings.page, stop=upto, inclusive_of_start=False
            )
            if not page:
                self._offered_overflow = False
                return None
            to_event = self.mapper.to_domain_event
            events = [(n.id, to_event(n)) for n in page]
        last = events[-1][0]
        try:
            self._apply_page(events, last, wait)
        except IntegrityError:
            # Another process applied this page first (and rolled ours back):
            # go on from wherever the read models are now.
            self._forget()
            return self.position(), 0
        except BaseException:
            self._forget()
            raise
        return last, len(events)

    def _apply_page(self, events: list[Event], last: int, wait: bool = True) -> None:
        """Apply a page and advance the position to its last event, atomically.

        The page is worked out in a read transaction, its writes kept, and then made
        in a short write transaction that also advances the position; so the write
        lock (SQLite has one for the whole file) is held for the writes alone, and a
        command or an ingest writing meanwhile hardly waits. If another process moved
        the position on in between, recording it fails (IntegrityError) and the page
        is dropped. Reads see the tables as they were before the page: each model
        finds what the page itself changed in memory (ReadModel.flush). Unless wait,
        a write lock held by another process drops the page too (WriterBusy).
        """
        with self.store.projection_transaction(commit=False) as c:
            writes = DeferredWrites(c)
            self._work_out(writes, events)
        with self.store.projection_transaction(commit=True, wait=wait) as c:
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
        past settings.offered events, the offer is dropped until the next catch-up."""
        if self._offered_overflow:
            return
        if len(self._offered) + len(recordings) > self.settings.offered:
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
            count < self.settings.page
            and skip + count < len(offered)
            and offered[skip + count][0] == start + 1 + count
        ):
            count += 1
        taken = offered[skip : skip + count]
        if skip + count < len(offered) and count < self.settings.page:
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
        """A read transaction over the read models (see _read_transaction); within
        one_read(), the one that the first reading opened."""
        shared: _Shared | None = getattr(self._shared, "reads", None)
        if shared is None:
            with self._read_transaction() as c:
                yield c
            return
        if shared.cursor is None:
            shared.cursor = shared.stack.enter_context(self._read_transaction())
        yield shared.cursor

    @contextmanager
    def one_read(self) -> Iterator[None]:
        """Every reading() of this thread within this shares one transaction, opened by
        the first (one catch-up, one snapshot): a page that shows several reads of a
        household costs one. For work that only reads: a write made within would not
        be seen by the readings after it."""
        if getattr(self._shared, "reads", None) is not None:
            yield
            return
        with ExitStack() as stack:
            self._shared.reads = _Shared(stack)
            try:
                yield
            finally:
                self._shared.reads = None

    @contextmanager
    def _read_transaction(self) -> Iterator[Any]:
        """A read transaction over the read models, never waiting on a writer
        (docs/design.md, "What a read sees"): they are first brought up to the log's
        end as it is now (no further, however fast others append), unless another
        process holds the write lock that needs (an ingest committing, a follower
        applying a page), or more than settings.read_catch_up events are missing while another
        process keeps them (keep()): then they are read as they are, at the position
        they had when the read began or later."""
        upto, position = self.store.ends(NAME)
        behind = upto - position
        if behind > 0 and (behind <= self.settings.read_catch_up or not self.kept()):
            self.catch_up(upto=upto, wait=False)
        with self.store.projection_transaction(commit=False) as c:
            yield c

    def after_write(self, tries: int = 10, pause: float = 0.02) -> None:
        """Bring the read models up to the log's end now, so that what a write's answer
        leads to (the page a form redirects to, served by any process of the server)
        shows it; a read alone never waits for the write lock, and may read them a
        little behind while another process writes. Where another process holds the
        lock, this tries again a few times (`tries`, `pause` seconds apart: 0.2 s in
        all), never waiting on the lock itself, then leaves it to the next read. Left
        to the process that keeps them, if one does (an ingest and its follower)."""
        upto = self.recorder.max_notification_id() or 0  # the write's end, no further
        for attempt in range(tries):
            if self.kept():
                return
            with suppress(WriterBusy, OperationalError):  # busy: try again shortly
                self.catch_up(upto=upto, wait=False)
            if self.position() >= upto:
                return
            if attempt < tries - 1:
                time.sleep(pause)

    def keep(self, seconds: float) -> None:
        """Say that this process keeps the read models up to date (catching up as it
        writes) for so many seconds more; 0: no longer. Reads meanwhile leave a long
        catch-up to it rather than fold thousands of events each (said again before
        it runs out; one that stopped without saying so runs out by itself)."""
        until = int((time.time() + seconds) * 1000) if seconds else 0
        with self.store.projection_transaction(commit=True) as c:
            self.store.note(c, KEPT_UNTIL, until)

    def kept(self) -> bool:
        """Whether a process has said it keeps the read models up to date now."""
        return self.store.noted(KEPT_UNTIL) > time.time() * 1000

    # --- rebuilding ---------------------------------------------------------------

    def rebuild(
        self,
        progress_to: Callable[[int], None] | None = None,
        *,
        upto: int | None = None,
        wait: bool = True,
    ) -> int:
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
        ahead of the rebuild, in the order it lies on disk (store.read_ahead). Unless
        wait, it builds nothing (returns 0) if another process holds the write lock."""
        self._forget()
        self.folded_elsewhere = 0
        size = 0
        try:
            with (
                collected_between_units() as collector,
                self.store.projection_transaction(commit=True, wait=wait) as c,
                self.store.read_ahead(),
            ):
                self._empty(c)
                self.store.forget_tracking(c, NAME)
                size, last = self._end(c)
                if last is not None:
                    read = self._rebuild(c, last, progress_to or (lambda _: None), collector)
                    self.store.record_tracking(c, NAME, last)
                    if progress_to is not None:
                        progress_to(size - read)  # the events no read model takes
        except WriterBusy:
            return 0
        finally:
            self._forget()
        return size + self.catch_up(progress_to, upto=upto, wait=wait)

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
        """Fold a model aggregate by aggregate, writing every settings.rebuild_rows aggregates;
        with a second process folding from the other end, if the rebuild is long."""
        assert step.folding is not None
        settings = self.settings
        handlers = step.folded
        topics = topics_of(step.folded)
        done = 0
        pending = [0, 0]  # aggregates and events folded since the last write

        def fold_one(events: list[Event]) -> None:
            nonlocal done
            for position, event in events:
                for handler in handlers[type(event)]:
                    handler(event, position)
            pending[0] += 1
            pending[1] += len(events)
            done += len(events)
            if pending[0] >= settings.rebuild_rows:
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
            rebuild.write(c, folded)
            events = sum(record.events for record in folded)
            self.folded_elsewhere += events
            report(events)
            done += events

        def fold_to_meet(worker: RebuildWorker) -> None:
            """Fold aggregates from the lowest id up while the worker folds them from
            the highest down, writing what it sends as it comes, until this process
            reaches an aggregate the worker has sent."""
            worker.wait_for(settings.rebuild_head_start)
            for number, (aggregate, events) in enumerate(self._by_aggregate(c, topics, upto)):
                look = number % settings.rebuild_look_every == 0
                if look and worker.poll() >= settings.rebuild_write_from:
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
        return self.second_process is not None and upto >= self.settings.rebuild_second_process_from

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
        """What the second process of a rebuild does (ledger/workers/rebuild.py): take
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
        handlers = step.folded
        topics = topics_of(step.folded)
        for number, (aggregate, events) in enumerate(
            self._by_aggregate(c, topics, upto, descending=True), start=1
        ):
            self._begin(writes)
            for position, event in events:
                for handler in handlers[type(event)]:
                    handler(event, position)
            self._flush()
            send(aggregate, len(events), writes.take())
            if number % self.settings.rebuild_collect_every == 0:
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
            c.execute(
                f"{select}ORDER BY {d.notification_id} LIMIT ?",
                (upto, *topics, start, self.settings.page),
            )
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
                c.execute(f"{select}{order} LIMIT ?", (upto, *topics, self.settings.page))
            else:
                c.execute(
                    f"{select}AND originator_id {past} ? {order} LIMIT ?",
                    (upto, *topics, after, self.settings.page),
                )
            rows = c.fetchall()
            if not rows:
                return
            if len(rows) == self.settings.page:
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
