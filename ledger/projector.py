"""Keeps the read models in step with the ledger: pages of stored events, in
notification order, applied to every read model and to one tracking row in the
same transaction, so that a crash never counts an event twice or skips one."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Mapper,
    Notification,
    Recording,
)

from domain.complaint import Complaint
from domain.policy import PolicyVersion
from ledger import rebuild_worker
from ledger.collector import Collector, collected_between_units
from ledger.log.store import TransparencyLog
from ledger.rebuild_worker import Folded, RebuildWorker
from ledger.transcoder import MsgpackTranscoder
from projections import complaints, households, programme, progress
from projections.facts import Fact

K = TypeVar("K")
V = TypeVar("V")

# The tracking name carries the read models' format: a new format starts again
# from an empty position, and so from empty tables (see __init__).
NAME = "read-models/4"
CACHE = 20_000


class LRU(OrderedDict[K, V]):
    """A dict that forgets its least recently written entries beyond a size."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


PAGE = 10_000
# Events committed by this process kept for the read models (see Projector.offer).
OFFERED = 3 * PAGE
# Households folded and written at a time in a rebuild.
_REBUILD_ROWS = 5_000
# Events from which a rebuild folds some of the households in a second process (it
# takes about 0.3 s to start; ledger/rebuild_worker.py).
SECOND_PROCESS_FROM = 200_000
# Households the second process is let fold before this one starts its own: none,
# but for tests, which see the two meet at every point.
_HEAD_START = 0
# Households this process folds between two looks at what the second one has sent.
_LOOK_EVERY = 64
# Households the second process has folded that this one writes once so many wait: enough
# to write them in bulk, few enough that memory holds little.
_WRITE_FROM = 500
MODELS = (programme, households, complaints, progress)


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
    kept, in order, to be made later in another transaction (Projector._apply_page)."""

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

    def make(self, c: Any) -> None:
        """Make the kept writes, in the order they were asked for."""
        for many, statement, parameters in self._writes:
            if many:
                c.executemany(statement, parameters)
            else:
                c.execute(statement, parameters)


class Projector:
    def __init__(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any], *, prepare: bool = True
    ) -> None:
        """prepare: create the read models' tables, and empty them for a new format;
        not in a process that only reads events for another (ledger/rebuild_worker.py),
        which must not wait for the write lock that process holds."""
        assert isinstance(recorder, ReadModelStore)
        self.recorder = recorder
        self.store: ReadModelStore = recorder
        self.mapper = mapper
        self._policies: dict[tuple[str, int], PolicyVersion | None] = {}
        # Rows and contributions as last written, so that a household touched page
        # after page is not read back each time; bounded, and dropped with a failed page.
        self._rows = households.RowCache(CACHE)
        self._contributions: LRU[str, list[progress.Contribution]] = LRU(CACHE)
        self._offered: list[Fact] = []
        self._offered_overflow = False
        # The store's settings, for a second process to fold half the households in
        # a long rebuild (None: everything here); and what went wrong with it.
        self.second_process: Mapping[str, str] | None = None
        self.notes: list[str] = []
        # Of the last rebuild's events, how many the second process folded (the bench
        # reports the share).
        self.folded_elsewhere = 0
        if not prepare:
            return
        with self.store.projection_transaction(commit=True) as c:
            for model in MODELS:
                for statement in model.TABLES:
                    c.execute(statement)
        if self.position() == 0:
            self._clear()

    def position(self) -> int:
        return self.store.tracking_position(NAME)

    def fact(self, n: Notification) -> Fact:
        assert isinstance(n.originator_id, UUID)
        return Fact(n.id, n.topic, n.originator_id, n.originator_version, self.state_of(n.state))

    def state_of(self, state: bytes) -> dict[str, Any]:
        """A stored event's state, decoded."""
        if self.mapper.cipher:
            state = self.mapper.cipher.decrypt(state)
        if self.mapper.compressor:
            state = self.mapper.compressor.decompress(state)
        transcoder = self.mapper.transcoder
        if isinstance(transcoder, MsgpackTranscoder):
            transient: dict[str, Any] = transcoder.decode_transient(state)
            return transient
        decoded: dict[str, Any] = transcoder.decode(state)
        return decoded

    def catch_up(self, progress_to: Callable[[int], None] | None = None) -> int:
        """Apply every event the read models have not seen; return how many."""
        done = 0
        start = self.position()
        if start == 0 and self.recorder.select_notifications(0, 1):
            # From nothing (a new ledger, a copy, a new read-model format): a rebuild
            # reads each household's events together, several times faster.
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
        facts = self._take_offered(start)
        if not facts:
            page = self.recorder.select_notifications(start, PAGE, inclusive_of_start=False)
            if not page:
                self._offered_overflow = False
                return None
            facts = [self.fact(n) for n in page]
        last = facts[-1].position
        try:
            self._apply_page(facts, last)
        except IntegrityError:
            # Another process applied this page first (and rolled ours back):
            # go on from wherever the read models are now.
            self._forget()
            return self.position(), 0
        except BaseException:
            self._forget()
            raise
        return last, len(facts)

    def _apply_page(self, facts: list[Fact], last: int) -> None:
        """Apply a page and advance the position to its last event, atomically.

        The page is worked out in a read transaction, its writes kept, and then made
        in a short write transaction that also advances the position; so the write
        lock (SQLite has one for the whole file) is held for the writes alone, and a
        command or an ingest writing meanwhile hardly waits. If another process moved
        the position on in between, recording it fails (IntegrityError) and the page
        is dropped. Reads see the read models as they were before the page: each
        model takes what the page itself changes from the page (Projector.apply),
        except the set-up (policies, staff, groups), which later rows look up in the
        tables, so a page holding set-up events is applied in the write transaction.
        """
        if any(fact.topic in programme.TOPICS for fact in facts):
            with self.store.projection_transaction(commit=True) as c:
                self.apply(c, facts)
                self.store.record_tracking(c, NAME, last)
            return
        with self.store.projection_transaction(commit=False) as c:
            writes = DeferredWrites(c)
            self.apply(writes, facts)
        with self.store.projection_transaction(commit=True) as c:
            # First: a position moved on fails here, before anything is written.
            self.store.record_tracking(c, NAME, last)
            writes.make(c)

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
        self._offered.extend(
            # vars(): the event's own attributes, what the mapper encodes for the store.
            Fact(
                n.id,
                n.topic,
                r.domain_event.originator_id,
                n.originator_version,
                vars(r.domain_event),
            )
            for r in recordings
            for n in (r.notification,)
        )

    def _take_offered(self, start: int) -> list[Fact]:
        """The offered events that follow position start without a gap, up to a page."""
        offered = self._offered
        skip = 0
        while skip < len(offered) and offered[skip].position <= start:
            skip += 1  # applied already (read from the store)
        count = 0
        while (
            count < PAGE
            and skip + count < len(offered)
            and offered[skip + count].position == start + 1 + count
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

    def apply(self, c: Any, facts: list[Fact]) -> None:
        programme.process(c, facts)
        filed = {
            f.aggregate.bytes: (f.state["complaint"], f.state["about"]["household"])
            for f in facts
            if f.topic == Complaint.Filed.TOPIC and "household" in f.state["about"]
        }

        def subject(aggregate: bytes) -> tuple[str, str] | None:
            return filed.get(aggregate) or complaints.subject_of(c, aggregate)

        changed_households = households.process(c, facts, subject, self._rows)
        # The households registered in this page are not in the table yet when the
        # page's writes are deferred (see _apply_page).
        groups = {row.household: row.group for row in changed_households.values()}

        def household_group(code: str) -> str | None:
            if code in groups:
                return groups[code]
            row = households.load_by_code(c, code)
            return row.group if row else None

        changed_complaints = complaints.process(
            c, facts, household_group, lambda staff: programme.staff_group(c, staff)
        )
        progress.update(
            c, changed_households, changed_complaints, self.policy_lookup(c), self._contributions
        )

    def _forget(self) -> None:
        self._offered.clear()
        self._policies.clear()
        self._rows.clear()
        self._contributions.clear()

    def policy_lookup(self, c: Any) -> households.PolicyLookup:
        def lookup(policy: str, version: int) -> PolicyVersion | None:
            key = (policy, version)
            if key not in self._policies or self._policies[key] is None:
                self._policies[key] = programme.policy_version(c, policy, version)
            return self._policies[key]

        return lookup

    def rebuild(self, progress_to: Callable[[int], None] | None = None) -> int:
        """Empty every read model and build it again from the first event, in one
        transaction: an interrupted rebuild leaves the read models as they were, and
        no other process ever sees half-built tables. Meanwhile other processes read
        the read models as they were; on SQLite one that must write (a command, or
        read models catching up with new events) is refused as busy after the lock
        timeout, on PostgreSQL it waits.

        Following applies events in the order they were stored, so a household is
        folded and written again on every page that touches it. A rebuild reads each
        household's events together instead (in the order of the events' primary
        key), and folds and writes each household once; the set-up and the
        complaints, few, are read in stored order. Events stored meanwhile are
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
                for model in MODELS:
                    for statement in model.CLEAR:
                        c.execute(statement)
                self.store.forget_tracking(c, NAME)
                size, upto = self._end(c)
                if upto is not None:
                    read = self._rebuild(c, upto, progress_to, collector)
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
        self,
        c: Any,
        upto: int,
        progress_to: Callable[[int], None] | None,
        collector: Collector,
    ) -> int:
        """Build every read model from the events up to a position; return how many
        events were read."""
        report = progress_to or (lambda _: None)
        policies = self.policy_lookup(c)
        done = 0
        # The set-up (the policy versions the households' folds look up), and the
        # entries each household's timeline takes from the complaints about it.
        about: dict[bytes, tuple[str, str]] = {}
        entries: dict[str, list[households.Entry]] = {}
        for page in self._in_stored_order(c, (*programme.TOPICS, *complaints.TOPICS), upto):
            set_up = [fact for fact in page if fact.topic in programme.TOPICS]
            programme.process(c, set_up)
            report(len(set_up))
            done += len(set_up)
            for fact in page:
                if fact.topic in programme.TOPICS:
                    continue
                key = fact.aggregate.bytes
                if fact.topic == Complaint.Filed.TOPIC and "household" in fact.state["about"]:
                    about[key] = (fact.state["complaint"], fact.state["about"]["household"])
                if key in about:
                    complaint, household = about[key]
                    entry = households.complaint_entry(fact, complaint)
                    assert entry is not None
                    entries.setdefault(household, []).append(entry)
        rows: dict[bytes, households.Row] = {}
        read = [0]
        bulk = progress.BulkLoad(c)

        def flush() -> None:
            households.write(c, rows.values())
            bulk.add(
                c,
                {
                    "h:" + row.household: progress.household_contributions(row, policies)
                    for row in rows.values()
                },
            )
            report(read[0])
            rows.clear()
            read[0] = 0
            collector.between_units()

        def fold_one(facts: list[Fact]) -> None:
            nonlocal done
            row = households.row_of_events(facts, entries.pop(facts[0].state["household"], ()))
            rows[row.aggregate] = row
            read[0] += len(facts)
            done += len(facts)
            if len(rows) >= _REBUILD_ROWS:
                flush()

        def fold_to_meet(worker: RebuildWorker) -> None:
            """Fold households from the lowest aggregate id up while the worker folds
            them from the highest down, writing what it sends as it comes, until this
            process reaches a household the worker has sent."""
            nonlocal done
            worker.wait_for(_HEAD_START)
            for number, facts in enumerate(self.households_by_aggregate(c, upto)):
                if number % _LOOK_EVERY == 0 and worker.poll() >= _WRITE_FROM:
                    done += write_folded(worker.take())
                if worker.reached(facts[0].aggregate):
                    break
                worker.floor = facts[0].aggregate
                fold_one(facts)
            flush()
            # Everything above the meeting point; what it sent below it was folded here.
            done += write_folded(worker.take())

        def write_folded(folded: list[Folded]) -> int:
            """Write the rows and contributions the second process folded."""
            rebuild_worker.write(c, folded, bulk)
            for record in folded:
                entries.pop(record.household, None)
            events = sum(record.events for record in folded)
            self.folded_elsewhere += events
            report(events)
            return events

        worker = self._start_rebuild_worker(c, upto, entries)
        if worker is None:
            for facts in self.households_by_aggregate(c, upto):
                fold_one(facts)
            flush()
        else:
            try:
                fold_to_meet(worker)
            finally:
                worker.stop()
            if worker.failure is not None:
                self.notes.append(
                    f"the second process that folded households failed ({worker.failure}); "
                    "this one folded the rest."
                )
        assert not entries, f"complaints about unregistered households: {sorted(entries)[:3]}"
        bulk.finish(c)

        # The register, and the complaints' share of the bulletin (which needs the
        # households' groups, written above).
        def household_group(code: str) -> str | None:
            row = households.load_by_code(c, code)
            return row.group if row else None

        for page in self._in_stored_order(c, complaints.TOPICS, upto):
            changed = complaints.process(
                c, page, household_group, lambda staff: programme.staff_group(c, staff)
            )
            progress.update(c, {}, changed, policies, self._contributions)
            report(len(page))
            done += len(page)
        return done

    def _start_rebuild_worker(
        self, c: Any, upto: int, entries: Mapping[str, list[households.Entry]]
    ) -> RebuildWorker | None:
        """A second process folding households from the other end, for a long rebuild
        where the store can be opened by another process."""
        if self.second_process is None or upto < SECOND_PROCESS_FROM:
            return None
        c.execute("SELECT document FROM rm_policy_versions")
        documents = [row[0] for row in c.fetchall()]
        try:
            return RebuildWorker(
                self.second_process, upto=upto, documents=documents, entries=entries
            )
        except OSError as e:
            self.notes.append(
                f"a second process to fold households could not be started ({e}); "
                "this one folded them all."
            )
            return None

    def _select(self, topics: Sequence[str]) -> str:
        """The stored events of some topics up to a position (and a condition to add)."""
        d = self.store.log.dialect
        return (
            f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
            f"FROM {d.events_table} WHERE {d.notification_id} <= ? "
            f"AND topic IN ({', '.join('?' * len(topics))}) "
        )

    def _in_stored_order(self, c: Any, topics: Sequence[str], upto: int) -> Iterator[list[Fact]]:
        """Pages of the events of some topics, in the order they were stored."""
        d = self.store.log.dialect
        select = f"{self._select(topics)}AND {d.notification_id} > ? "
        start = 0
        while True:
            c.execute(f"{select}ORDER BY {d.notification_id} LIMIT ?", (upto, *topics, start, PAGE))
            rows = c.fetchall()
            if not rows:
                return
            yield [
                Fact(
                    position,
                    topic,
                    UUID(bytes=d.originator_bytes(key)),
                    version,
                    self.state_of(state),
                )
                for position, key, version, topic, state in rows
            ]
            start = rows[-1][0]

    def households_by_aggregate(
        self, c: Any, upto: int, *, descending: bool = False
    ) -> Iterator[list[Fact]]:
        """Each household's events (up to a position) together, in version order:
        pages in the order of the events table's primary key (from the highest
        aggregate id down, if descending), cut between aggregates."""
        d = self.store.log.dialect
        topics = tuple(households.TOPICS)
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
            for key, events in groupby(rows, key=itemgetter(1)):
                aggregate = UUID(bytes=d.originator_bytes(key))
                facts = [
                    Fact(position, topic, aggregate, version, self.state_of(state))
                    for position, _, version, topic, state in events
                ]
                if descending:  # read from the last version down
                    facts.reverse()
                yield facts
            after = rows[-1][1]

    def _clear(self) -> None:
        self._forget()
        with self.store.projection_transaction(commit=True) as c:
            for model in MODELS:
                for statement in model.CLEAR:
                    c.execute(statement)
            self.store.forget_tracking(c, NAME)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A read transaction over read models that have caught up with the ledger."""
        self.catch_up()
        with self.store.projection_transaction(commit=False) as c:
            yield c
