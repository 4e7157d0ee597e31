"""A read never waits on a writer (issue 19, item 1): it answers from the read models
as they were when it began, brought up to the log's end as it was then only when no
other process holds the write that needs. The writer here holds its transaction open
until the read has returned: were the read to wait for it, the writer would let go
first (after a minute at most, so that such a failure does not hang the suite)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.errors import NotFound
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.ingest import ingest
from ledger.reads import Reads
from ledger.settings import Settings
from ledger.store import open_ledger
from tests.credentials import ADMIN

AS_OF = datetime(2018, 3, 31, tzinfo=UTC)
NEW = {
    "id": "late-1",
    "cmd": "register_household",
    "actor": "admin",
    "at": "2018-03-20T09:00:00+08:00",
    "household": "XC-0999",
    "group": "G01",
    "village": "一村",
    "head": "王五",
}


class Writer:
    """Another process's writer, holding its transaction open until told to let go
    (or until a minute has passed)."""

    def __init__(self, holding: Callable[[], AbstractContextManager[object]]) -> None:
        self.holding = holding
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.holding():
            self.started.set()
            self.release.wait(timeout=60)
        self.finished.set()

    @contextmanager
    def running(self) -> Iterator[Writer]:
        self.thread.start()
        assert self.started.wait(timeout=60)
        try:
            yield self
        finally:
            self.release.set()
            self.thread.join()


@contextmanager
def events_table_locked(ledger: Ledger) -> Iterator[None]:
    """An append under way: the events' write transaction (SQLite's write lock; on
    PostgreSQL the EXCLUSIVE lock on the events table that every append takes)."""
    recorder: Any = ledger.ledger_recorder
    if hasattr(recorder, "qualified_events"):
        with recorder.log_transaction(commit=True) as c:
            c.execute(f"LOCK TABLE {recorder.qualified_events} IN EXCLUSIVE MODE")
            yield
    else:
        with recorder.transaction(commit=True):
            yield


@contextmanager
def read_models_locked(ledger: Ledger) -> Iterator[None]:
    """Another process applying a page of the read models (a follower)."""
    with ledger.read_models.store.projection_transaction(commit=True):
        yield


@pytest.fixture
def ledgers(store_url: str, sample_lines: list[str]) -> Iterator[tuple[Ledger, Ledger]]:
    """The sample programme, its read models up to date; a reader and a writer."""
    reader, writer = open_ledger(store_url), open_ledger(store_url)
    ingest(writer, sample_lines, ADMIN)
    try:
        yield reader, writer
    finally:
        reader.close()
        writer.close()


def expect_fresh(ledger: Ledger, holding: object) -> bool:
    return holding is events_table_locked and hasattr(ledger.ledger_recorder, "qualified_events")


@pytest.mark.parametrize("holding", [events_table_locked, read_models_locked])
def test_a_read_answers_while_a_writer_holds_its_transaction(
    ledgers: tuple[Ledger, Ledger], holding: Callable[[Ledger], AbstractContextManager[None]]
) -> None:
    reader, writer = ledgers
    reads = Reads(reader)
    before = reads.household("XC-0001", AS_OF)
    # Committed, but not yet in the read models: the next read would bring them up to it.
    writer.execute(parse_command(NEW), ADMIN)
    with Writer(lambda: holding(writer)).running() as slow:
        assert reads.household("XC-0001", AS_OF) == before
        try:
            # Up to date where the write it needs is free (PostgreSQL's read models
            # do not wait on the events' lock), else as they were when it began.
            seen = reads.household("XC-0999", AS_OF)["status"]
        except NotFound:
            seen = None
        assert not slow.finished.is_set()
    assert seen == ("registered" if expect_fresh(writer, holding) else None)
    # With no writer in the way, a read sees every event committed before it began.
    assert reads.household("XC-0999", AS_OF)["status"] == "registered"


def test_a_read_catches_up_no_further_than_the_log_s_end_when_it_began(
    ledgers: tuple[Ledger, Ledger],
) -> None:
    """A writer appending the whole time a read brings the read models up to date:
    the read stops at the end it saw when it began, while the writer goes on."""
    reader, writer = ledgers
    appended = threading.Event()
    read_models = reader.read_models
    end = reader.recorder.max_notification_id()
    catch_up = read_models.catch_up

    def appending_meanwhile(*args: Any, **kwargs: Any) -> int:
        # Each page the read applies is followed by a commit of the writer's.
        writer.execute(parse_command({**NEW, "id": f"late-{end}", "household": "XC-0998"}), ADMIN)
        appended.set()
        return catch_up(*args, **kwargs)

    writer.execute(parse_command(NEW), ADMIN)
    read_models.catch_up = appending_meanwhile  # type: ignore[method-assign]
    try:
        reads = Reads(reader)
        assert reads.household("XC-0999", AS_OF)["status"] == "registered"
    finally:
        del read_models.catch_up
    assert appended.is_set()
    # The writer's later event is in the log, not yet in the read models.
    assert reader.recorder.max_notification_id() > read_models.position()


def test_a_read_leaves_a_long_catch_up_to_the_process_that_keeps_the_read_models(
    store_url: str, sample_lines: list[str]
) -> None:
    """While an ingest says it keeps the read models (and so catches them up itself), a
    read finding more missing than settings.read_catch_up (here: any) reads them as
    they are instead of folding what is missing; once it no longer says so (it ended,
    or stopped without saying and its word ran out) the read catches up itself."""
    reader = open_ledger(store_url, settings=Settings(read_catch_up=0))
    writer = open_ledger(store_url)
    try:
        ingest(writer, sample_lines, ADMIN)
        reads = Reads(reader)
        writer.execute(parse_command(NEW), ADMIN)
        writer.read_models.keep(60)
        with pytest.raises(NotFound):
            reads.household("XC-0999", AS_OF)
        writer.read_models.keep(0)
        assert reads.household("XC-0999", AS_OF)["status"] == "registered"
    finally:
        reader.close()
        writer.close()


def test_the_reads_of_one_page_are_of_one_moment(ledgers: tuple[Ledger, Ledger]) -> None:
    """Within one_read (a page: several reads of the read models), a write that lands
    and is brought into the read models between two reads is not seen by the second:
    the page shows one moment. After it, the next read sees the write."""
    reader, writer = ledgers
    reads = Reads(reader)
    with reader.read_models.one_read():
        assert reads.household("XC-0001", AS_OF)["household"] == "XC-0001"
        writer.execute(parse_command(NEW), ADMIN)
        writer.read_models.catch_up()
        with pytest.raises(NotFound):
            reads.household("XC-0999", AS_OF)
        assert reads.search_households("XC-0999")["households"] == []
    assert reads.household("XC-0999", AS_OF)["status"] == "registered"
