"""Keeps the read models in step with the ledger: pages of stored events, in
notification order, applied to every read model and to one tracking row in the
same transaction, so that a crash never counts an event twice or skips one."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper, Notification

from domain.complaint import Complaint
from domain.policy import PolicyVersion
from projections import complaints, households, programme, progress
from projections.facts import Fact

K = TypeVar("K")
V = TypeVar("V")

# The tracking name carries the read models' format: a new format starts again
# from an empty position, and so from empty tables (see __init__).
NAME = "read-models/3"
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
MODELS = (programme, households, complaints, progress)


@runtime_checkable
class ReadModelStore(Protocol):
    """What a recorder offers the read models (SQLite and PostgreSQL alike)."""

    def projection_transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...
    def tracking_position(self, name: str) -> int: ...
    def record_tracking(self, c: Any, name: str, position: int) -> None: ...
    def forget_tracking(self, c: Any, name: str) -> None: ...


class Projector:
    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[Any]) -> None:
        assert isinstance(recorder, ReadModelStore)
        self.recorder = recorder
        self.store: ReadModelStore = recorder
        self.mapper = mapper
        with self.store.projection_transaction(commit=True) as c:
            for model in MODELS:
                for statement in model.TABLES:
                    c.execute(statement)
        self._policies: dict[tuple[str, int], PolicyVersion | None] = {}
        # Rows and contributions as last written, so that a household touched page
        # after page is not read back each time; bounded, and dropped with a failed page.
        self._rows: LRU[bytes, households.Row] = LRU(CACHE)
        self._contributions: LRU[str, list[progress.Contribution]] = LRU(CACHE)
        if self.position() == 0:
            self._clear()

    def position(self) -> int:
        return self.store.tracking_position(NAME)

    def fact(self, n: Notification) -> Fact:
        state = n.state
        if self.mapper.cipher:
            state = self.mapper.cipher.decrypt(state)
        if self.mapper.compressor:
            state = self.mapper.compressor.decompress(state)
        assert isinstance(n.originator_id, UUID)
        return Fact(
            n.id,
            n.topic,
            n.originator_id,
            n.originator_version,
            self.mapper.transcoder.decode(state),
        )

    def catch_up(self, progress_to: Callable[[int], None] | None = None) -> int:
        """Apply every event the read models have not seen; return how many."""
        done = 0
        start = self.position()
        while True:
            page = self.recorder.select_notifications(start, PAGE, inclusive_of_start=False)
            if not page:
                return done
            facts = [self.fact(n) for n in page]
            try:
                with self.store.projection_transaction(commit=True) as c:
                    self.apply(c, facts)
                    self.store.record_tracking(c, NAME, page[-1].id)
            except IntegrityError:
                # Another process applied this page first (and rolled ours back):
                # go on from wherever the read models are now.
                self._forget()
                start = self.position()
                continue
            except BaseException:
                self._forget()
                raise
            start = page[-1].id
            done += len(page)
            if progress_to is not None:
                progress_to(len(page))

    def apply(self, c: Any, facts: list[Fact]) -> None:
        programme.process(c, facts)
        filed = {
            f.aggregate.bytes: (f.state["complaint"], f.state["about"]["household"])
            for f in facts
            if f.topic == Complaint.Filed.TOPIC and "household" in f.state["about"]
        }

        def subject(aggregate: bytes) -> tuple[str, str] | None:
            return filed.get(aggregate) or complaints.subject_of(c, aggregate)

        def household_group(code: str) -> str | None:
            row = households.load_by_code(c, code)
            return row.group if row else None

        changed_households = households.process(c, facts, subject, self._rows)
        changed_complaints = complaints.process(
            c, facts, household_group, lambda staff: programme.staff_group(c, staff)
        )
        progress.update(
            c, changed_households, changed_complaints, self.policy_lookup(c), self._contributions
        )

    def _forget(self) -> None:
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
        """Empty every read model and build it again from the first event."""
        self._clear()
        return self.catch_up(progress_to)

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
