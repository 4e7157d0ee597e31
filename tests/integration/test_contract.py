"""One contract, two stores: on a SQLite file and on PostgreSQL the ledger holds the
same figures for the same commands, byte for byte the same log, refuses and repeats
alike, and rolls back a transaction whole."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError
from domain.ids import household_id
from domain.values import LEDGER_TZ
from ledger import ingest as ingest_module
from ledger import read_models as read_models_module
from ledger.application import Ledger
from ledger.checkpoint import generate_key, parse_signer, parse_verifier
from ledger.commands import parse_command
from ledger.copy import recorder_of
from ledger.ingest import ingest
from ledger.log import audit, keys, proving, verification
from ledger.reads import Reads
from ledger.settings import DEFAULT, Settings
from ledger.store import open_ledger
from ledger.workers import launcher, rebuild
from ledger.workers.follower import Follower
from ledger.workers.launcher import Launch, Worker
from ledger.workers.rebuild import RebuildWorker
from ledger.workers.verify import VerifyWorker
from projections import households as households_rm
from tests.credentials import ADMIN, execute_as_actor

# When the ledger records: fixed, so that every store holds the same stored bytes and
# so the same log.
RECORDED = datetime(2018, 6, 1, tzinfo=UTC)
HOUSEHOLDS = ("XC-0001", "XC-0002", "XC-0003", "XC-0004")
CODES = {household_id(code).bytes: code for code in HOUSEHOLDS}
DAYS = [
    datetime(2018, month, day, 23, 59, 59, 999999, tzinfo=LEDGER_TZ)
    for month, day in ((3, 1), (3, 6), (3, 11), (3, 13), (3, 31), (5, 31))
]
SAMPLE_EVENTS = 46


def clock() -> datetime:
    return RECORDED


def open_at(url: str, settings: Settings = DEFAULT) -> Ledger:
    return open_ledger(url, clock=clock, settings=settings)


# An ingest that hands the read models to a follower after its first batch.
FOLLOWER_FIRST = Settings(follower_after=1)
# A rebuild of any length that folds households in a second process too.
SECOND_FOLDS = Settings(rebuild_second_process_from=0)


def figures(ledger: Ledger) -> dict[str, Any]:
    """Everything a reader sees of the sample, and the log's head."""
    recorder = recorder_of(ledger)
    with recorder.log_transaction(commit=False) as c:
        size = recorder.log.size(c)
        root = recorder.log.root(c, size).hex()
    return {
        "households": {
            code: [Reads(ledger).household(code, day) for day in DAYS[-3:]] for code in HOUSEHOLDS
        },
        "reports": [Reads(ledger).group_report(day) for day in DAYS],
        "complaints": Reads(ledger).complaints(datetime(2018, 3, 9, tzinfo=LEDGER_TZ)),
        "log": (size, root),
    }


def stored(ledger: Ledger) -> tuple[int, int, int]:
    """Events, their log's size and the number of applied command ids."""
    recorder = recorder_of(ledger)
    with recorder.log_transaction(commit=False) as c:
        c.execute(f"SELECT COUNT(*) FROM {recorder.log.dialect.events_table}")
        events = int(c.fetchone()[0])
        c.execute("SELECT COUNT(*) FROM applied_commands")
        commands = int(c.fetchone()[0])
        size = recorder.log.size(c)
    return events, size, commands


def read_models(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every registered read model's rows, sorted, as the models compare them."""
    ledger.read_models.catch_up()
    return ledger.read_models.rows()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, sample_lines: list[str]) -> dict[str, Any]:
    """The sample's figures in a SQLite file, for every store to match."""
    ledger = open_at(str(tmp_path_factory.mktemp("reference") / "reference.db"))
    try:
        ingest(ledger, sample_lines, ADMIN)
        return figures(ledger)
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def sample_lines() -> list[str]:
    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def tuned(store_url: str) -> Iterator[Callable[[Settings], Ledger]]:
    """The store opened again (after `loaded`) with other settings (ledger/settings.py)."""
    opened: list[Ledger] = []

    def reopen(settings: Settings) -> Ledger:
        opened.append(open_at(store_url, settings))
        return opened[-1]

    yield reopen
    for ledger in opened:
        ledger.close()


@pytest.fixture
def loaded(store_url: str, sample_lines: list[str]) -> Iterator[Ledger]:
    ledger = open_at(store_url)
    try:
        report = ingest(ledger, sample_lines, ADMIN)
        assert (report.applied, report.skipped, report.rejected) == (41, 0, 0)
        yield ledger
    finally:
        ledger.close()


def test_two_processes_verify_what_one_verifies(
    loaded: Ledger, tuned: Callable[[Settings], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = recorder_of(loaded)
    signer = parse_signer(generate_key("ledger.test.example/office")[0])
    keys.make_checkpoint(recorder, [signer], origin=None, now=datetime.now(UTC))
    one = verification.verify(recorder)
    outcomes: list[Any] = []
    result = VerifyWorker.result

    def kept(self: VerifyWorker, progress: Any) -> Any:
        outcomes.append(result(self, progress))
        return outcomes[-1]

    monkeypatch.setattr(VerifyWorker, "result", kept)
    # Pages of 4 leaves, the second half checked by a second process.
    split = tuned(Settings(verify_split_from=0, page_levels=2))
    two = verification.verify(recorder_of(split), second_process=split.sharable_settings)
    # The second process checked leaves 20 to 46 (the map head), from the nodes over
    # 0-15 and 16-19.
    [(frontier, events, _, problems, complete)] = outcomes
    assert (list(frontier), events, problems, complete) == ([(4, 0), (2, 4)], 47, [], True)
    assert (two.ok, two.events, two.tree_size, two.notes) == (True, 47, 47, [])
    assert (one.ok, one.events, one.tree_size) == (True, 47, 47)


def command(**fields: Any) -> Any:
    return parse_command({"actor": "admin", "at": "2018-03-20T09:00:00+08:00", **fields})


def register(code: str, command_id: str) -> Any:
    return command(
        id=command_id,
        cmd="register_household",
        household=code,
        group="G01",
        village="一村",
        head="周七",
        id_number="211481197001051099",
        address="兴城镇一村9号",
    )


def test_the_sample_reads_the_same_and_has_the_same_log(
    loaded: Ledger, reference: dict[str, Any]
) -> None:
    found = figures(loaded)
    assert found == reference
    assert found["log"][0] == SAMPLE_EVENTS
    assert found["reports"][-1]["total"]["signed"] == 2


def test_a_second_ingest_of_the_same_file_appends_nothing(
    loaded: Ledger, sample_lines: list[str], reference: dict[str, Any]
) -> None:
    before = stored(loaded)
    report = ingest(loaded, sample_lines, ADMIN)
    assert (report.applied, report.skipped, report.rejected) == (0, 41, 0)
    assert stored(loaded) == before == (SAMPLE_EVENTS, SAMPLE_EVENTS, 41)
    assert execute_as_actor(loaded, parse_command(json.loads(sample_lines[5]))) is None
    assert figures(loaded) == reference


def test_refused_commands_append_nothing(loaded: Ledger, reference: dict[str, Any]) -> None:
    before = stored(loaded)
    refused = [
        register("XC-0001", "again-1"),  # already registered
        command(id="again-2", cmd="create_group", group="G01", name="重复"),  # exists
        command(  # a G02 clerk acting on a G01 household
            id="again-3",
            cmd="attach_document",
            actor="s-002",
            household="XC-0001",
            kind="hukou",
            sha256="0" * 64,
            filename="x.pdf",
        ),
        command(  # no valuation before a survey: unknown household
            id="again-4",
            cmd="record_survey",
            actor="s-001",
            household="XC-0999",
            residents=1,
            building_area_m2={"simple": "10.00"},
            land_area_m2="5.00",
        ),
    ]
    for refusal in refused:
        with pytest.raises(DomainError):
            execute_as_actor(loaded, refusal)
    outcomes = loaded.execute_batch(refused, ADMIN)
    assert all(isinstance(outcome, DomainError) for outcome in outcomes)
    assert stored(loaded) == before
    assert loaded.applied_commands([r.id for r in refused]) == {}
    assert figures(loaded) == reference


def test_verify_checkpoints_and_audit_bundles(loaded: Ledger) -> None:
    recorder = recorder_of(loaded)
    signer_text, verifier_text = generate_key("ledger.contract.example/office")
    signer = parse_signer(signer_text)
    checkpoint = keys.make_checkpoint(recorder, [signer], origin=None, now=RECORDED)
    # The checkpoint signs the log with its map head, leaf 46.
    assert (checkpoint.id, checkpoint.size) == (1, SAMPLE_EVENTS + 1)
    result = verification.verify(recorder, against=checkpoint.note)
    assert result.ok, result.problems
    assert (result.events, [cp.size for cp in result.checkpoints]) == (47, [47])
    assert result.map_heads == 1
    proof = proving.prove_household(recorder, "XC-0003")
    bundle = audit.bundle(proof)
    report = audit.audit_verify(json.loads(json.dumps(bundle)), parse_verifier(verifier_text))
    assert report.records == [("household", "XC-0003", 6), ("complaint", "C-0001", 2)]
    assert bundle["public_key"] == verifier_text
    # More events, and a second map head from the first's kept subtrees.
    execute_as_actor(
        loaded,
        parse_command(
            {"id": "c-late", "cmd": "attach_document", "actor": "s-002",
             "at": RECORDED.isoformat(), "household": "XC-0003", "kind": "hukou",
             "sha256": "ab" * 32, "filename": "XC-0003-hukou.pdf"}
        )
    )  # fmt: skip
    second = keys.make_checkpoint(recorder, [signer], origin=None, now=RECORDED)
    assert second.size == SAMPLE_EVENTS + 3
    result = verification.verify(recorder)
    assert result.ok and result.map_heads == 2, result.problems
    bundle = audit.bundle(proving.prove_household(recorder, "XC-0003"))
    report = audit.audit_verify(json.loads(json.dumps(bundle)), parse_verifier(verifier_text))
    assert report.records[0] == ("household", "XC-0003", 7)


def test_read_models_rebuilt_equal_read_models_followed(loaded: Ledger) -> None:
    followed = read_models(loaded)
    assert followed["rm_households"] and followed["rm_progress_daily"]
    assert loaded.read_models.rebuild() == SAMPLE_EVENTS
    assert read_models(loaded) == followed


@pytest.mark.parametrize("page", [3, 6, 7])
def test_a_rebuild_in_small_pages_reads_the_same(
    loaded: Ledger, tuned: Callable[[Settings], Ledger], page: int
) -> None:
    # The sample's households have 3 to 14 events: pages end inside a household
    # (which the next page reads), or one household fills a page (read whole).
    followed = read_models(loaded)
    small = tuned(Settings(page=page))
    assert small.read_models.rebuild() == SAMPLE_EVENTS
    assert read_models(small) == followed


@pytest.fixture
def folded_by_a_second_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The households a rebuild's second process folded (with SECOND_FOLDS), as the
    rebuilding process writes them."""
    written: list[str] = []
    write = rebuild.write

    def kept(c: Any, folded: Any) -> None:
        written.extend(CODES[f.aggregate] for f in folded)
        write(c, folded)

    monkeypatch.setattr(rebuild, "write", kept)
    return written


@pytest.fixture
def folded_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The households the rebuilding process folded and wrote itself."""
    written: list[str] = []
    write = households_rm.write

    def kept(c: Any, rows: Any) -> None:
        rows = list(rows)
        written.extend(row.household for row in rows)
        write(c, rows)

    monkeypatch.setattr(households_rm, "write", kept)
    return written


@pytest.mark.parametrize("head_start", [0, 1, 3, 4])
def test_a_rebuild_with_a_second_process_reads_the_same(
    loaded: Ledger,
    tuned: Callable[[Settings], Ledger],
    folded_by_a_second_process: list[str],
    folded_here: list[str],
    head_start: int,
) -> None:
    # The second process folds from the highest aggregate id down, this one from the
    # lowest up, and they meet wherever their speeds take them: given a head start
    # of so many households, the second process folds at least those.
    followed = read_models(loaded)
    loaded = tuned(SECOND_FOLDS.but(rebuild_head_start=head_start))
    assert loaded.read_models.rebuild() == SAMPLE_EVENTS
    assert loaded.read_models.notes == []
    assert len(folded_by_a_second_process) >= head_start
    # Every household is written once, by one process or the other.
    assert sorted(folded_by_a_second_process + folded_here) == list(HOUSEHOLDS)
    assert read_models(loaded) == followed
    assert 0 <= loaded.read_models.folded_elsewhere <= SAMPLE_EVENTS
    assert (loaded.read_models.folded_elsewhere > 0) == bool(folded_by_a_second_process)


def test_what_the_second_process_sends_of_households_folded_here_is_dropped(
    loaded: Ledger,
    tuned: Callable[[Settings], Ledger],
    monkeypatch: pytest.MonkeyPatch,
    folded_by_a_second_process: list[str],
    folded_here: list[str],
) -> None:
    # This process looks at what was sent only now and then: it may fold households
    # the second one has sent meanwhile. Here it looks after each household, and
    # sees nothing until it has folded two, and then all four.
    followed = read_models(loaded)
    loaded = tuned(SECOND_FOLDS.but(rebuild_look_every=1))
    poll = RebuildWorker.poll
    looks = [0]

    def late(self: RebuildWorker) -> int:
        looks[0] += 1
        if looks[0] < 3:
            return 0
        self.wait_for(len(HOUSEHOLDS) - 2)
        return poll(self)

    monkeypatch.setattr(RebuildWorker, "poll", late)
    assert loaded.read_models.rebuild() == SAMPLE_EVENTS
    assert len(folded_here) == 2
    assert sorted(folded_by_a_second_process + folded_here) == list(HOUSEHOLDS)
    assert read_models(loaded) == followed


def test_a_second_process_that_fails_leaves_its_households_to_the_rebuild(
    loaded: Ledger,
    tuned: Callable[[Settings], Ledger],
    monkeypatch: pytest.MonkeyPatch,
    folded_by_a_second_process: list[str],
    folded_here: list[str],
) -> None:
    followed = read_models(loaded)
    loaded = tuned(SECOND_FOLDS.but(rebuild_head_start=1))
    take_in = RebuildWorker._take_in

    def dies_after_one(self: RebuildWorker, records: list[Any]) -> None:
        # Sent one household, then killed: the rest of what it sent is never read.
        take_in(self, records)
        if self._folded:
            process = self._worker._process
            process.kill()
            process.wait()
            del self._folded[1:]
            self._worker._ended = True
            self.lowest = UUID(bytes=self._folded[0].aggregate)

    monkeypatch.setattr(RebuildWorker, "_take_in", dies_after_one)
    assert loaded.read_models.rebuild() == SAMPLE_EVENTS
    assert len(folded_by_a_second_process) == 1
    assert sorted(folded_by_a_second_process + folded_here) == list(HOUSEHOLDS)
    assert loaded.read_models.notes == [
        "the second process that folded households failed (it exited with status -9); "
        "this one folded the rest."
    ]
    assert read_models(loaded) == followed


def test_a_second_process_that_cannot_run_leaves_the_households_to_the_rebuild(
    loaded: Ledger,
    tuned: Callable[[Settings], Ledger],
    monkeypatch: pytest.MonkeyPatch,
    folded_by_a_second_process: list[str],
) -> None:
    followed = read_models(loaded)
    loaded = tuned(SECOND_FOLDS.but(rebuild_head_start=1))
    # Its launch under a name the second process does not read: it fails at once (and
    # this process, waiting for its first household, sees it end).
    monkeypatch.setattr(launcher, "ENVIRONMENT", "NOT_THE_SETTINGS")
    assert loaded.read_models.rebuild() == SAMPLE_EVENTS
    assert folded_by_a_second_process == []
    assert loaded.read_models.notes == [
        "the second process that folded households failed (KeyError: "
        "'ONERULER_WORKER'); this one folded the rest."
    ]
    assert read_models(loaded) == followed


def test_an_interrupted_rebuild_leaves_the_read_models_as_they_were(
    loaded: Ledger, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    followed = read_models(loaded)
    position = loaded.read_models.position()
    built = 0
    by_aggregate = read_models_module.ReadModels._by_aggregate

    def fail_on_the_third(*args: Any, **kwargs: Any) -> Any:
        nonlocal built
        for aggregate in by_aggregate(*args, **kwargs):
            built += 1
            if built == 3:
                raise KeyboardInterrupt
            yield aggregate

    monkeypatch.setattr(read_models_module.ReadModels, "_by_aggregate", fail_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        loaded.read_models.rebuild()
    monkeypatch.undo()
    assert loaded.read_models.position() == position == SAMPLE_EVENTS
    assert read_models(loaded) == followed
    reopened = open_at(store_url)
    try:
        assert read_models(reopened) == followed
    finally:
        reopened.close()


def test_a_failure_while_logging_rolls_back_the_events_and_the_command_id(
    loaded: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = stored(loaded)
    log = recorder_of(loaded).log

    def broken(c: Any, rows: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(log, "append", broken)
    with pytest.raises(RuntimeError, match="the disk is full"):
        execute_as_actor(loaded, register("XC-0005", "late-1"))
    monkeypatch.undo()
    assert stored(loaded) == before
    assert loaded.applied_commands(["late-1"]) == {}
    assert verification.verify(recorder_of(loaded)).ok
    # Nothing of it was kept: the same command applies now, as new.
    events = execute_as_actor(loaded, register("XC-0005", "late-1"))
    assert events is not None and len(events) == 1
    assert stored(loaded) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_process_whose_read_models_were_moved_on_gives_way(
    store_url: str, sample_lines: list[str]
) -> None:
    """Two processes follow the same read models. When one writes after the other
    moved them on, its page and what it remembers of their rows are out of date: it
    must give way and go on from the rows as they are, or it would write stale ones."""
    first, second = open_at(store_url), open_at(store_url)
    try:
        ingest(first, sample_lines, ADMIN)
        execute_as_actor(second, register("XC-0100", "more-1"))
        assert second.read_models.catch_up() == 1  # the second now remembers XC-0100's row
        execute_as_actor(first, survey("XC-0100", "more-2", "2018-03-20T10:00:00+08:00"))
        assert first.read_models.catch_up() == 1
        execute_as_actor(
            second, survey("XC-0100", "more-3", "2018-03-21T10:00:00+08:00", "remeasured")
        )
        gave_way = []
        record = second.read_models.store.record_tracking

        def recording(c: Any, name: str, position: int) -> None:
            try:
                record(c, name, position)
            except IntegrityError:
                gave_way.append(position)
                raise

        second.read_models.store.record_tracking = recording  # type: ignore[method-assign]
        assert second.read_models.catch_up() == 1
        assert gave_way == [SAMPLE_EVENTS + 3]
        followed = read_models(second)
        assert followed == read_models(first)
        assert Reads(second).household("XC-0100", DAYS[-1])["events"] == 3
        second.read_models.rebuild()
        assert read_models(second) == followed
    finally:
        first.close()
        second.close()


def survey(code: str, command_id: str, at: str, reason: str | None = None) -> Any:
    return command(
        id=command_id,
        cmd="record_survey",
        actor="s-001",
        at=at,
        household=code,
        residents=2,
        building_area_m2={"brick_concrete": "90.00"},
        land_area_m2="20.00",
        **({"reason": reason} if reason else {}),
    )


def test_a_batch_reads_the_aggregates_it_names_in_one_query(
    loaded: Ledger, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch on a ledger whose cache is empty (another process wrote the sample)
    reads every aggregate it names in one query, and refuses and applies exactly as
    command by command."""
    ledger = open_at(store_url)
    recorder = type(ledger.ledger_recorder)
    reads = {"one": 0, "many": 0}
    select_one, select_many = recorder.select_events, recorder.select_events_of

    def one(self: Any, *args: Any, **kwargs: Any) -> Any:
        reads["one"] += 1
        return select_one(self, *args, **kwargs)

    def many(self: Any, *args: Any, **kwargs: Any) -> Any:
        reads["many"] += 1
        return select_many(self, *args, **kwargs)

    monkeypatch.setattr(recorder, "select_events", one)
    monkeypatch.setattr(recorder, "select_events_of", many)
    try:
        outcomes = ledger.execute_batch(
            [
                survey("XC-0001", "resurvey-0001", "2018-04-02T10:00:00+08:00", "remeasured"),
                survey("XC-0003", "resurvey-0003", "2018-04-02T10:00:00+08:00", "remeasured"),
                register("XC-0001", "again-0001"),
                register("XC-0100", "new-0100"),
                survey("XC-0100", "survey-0100", "2018-04-02T10:00:00+08:00"),
                register("XC-0100", "again-0100"),
            ],
            ADMIN,
        )
    finally:
        ledger.close()
    assert [str(o) if o else None for o in outcomes] == [
        "agreement A-0001 of XC-0001 is in force; a supervisor must void it before you "
        "correct the survey.",
        "s-001 is a clerk of G01 and may not record a survey for a household of G02; "
        "a clerk of G02 must.",
        "household XC-0001 is already registered.",
        None,
        None,
        "household XC-0100 is already registered.",
    ]
    # The aggregates named, then the policies the programme's register lists.
    assert reads == {"one": 0, "many": 2}


def test_events_offered_after_another_writers_are_not_applied_across_the_gap(
    store_url: str, sample_lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process's read models take the events it committed as they are only when
    they follow their position without a gap; another writer's events in between are
    read from the store, so nothing is skipped and nothing counted twice."""
    first, second = open_at(store_url), open_at(store_url)
    try:
        ingest(first, sample_lines, ADMIN)
        execute_as_actor(second, register("XC-0100", "gap-1"))  # the first has not seen it
        execute_as_actor(first, register("XC-0101", "gap-2"))  # offered to the first's read models
        read = []
        select = type(first.recorder).select_notifications

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            page = select(self, *args, **kwargs)
            read.extend(n.id for n in page)
            return page

        monkeypatch.setattr(type(first.recorder), "select_notifications", counting)
        assert first.read_models.catch_up() == 2
        assert read == [SAMPLE_EVENTS + 1, SAMPLE_EVENTS + 2]
        for code in ("XC-0100", "XC-0101"):
            assert Reads(first).household(code, RECORDED)["status"] == "registered"
        # With no gap, the offered events are applied without reading the store.
        read.clear()
        execute_as_actor(first, survey("XC-0101", "gap-3", "2018-03-20T10:00:00+08:00"))
        assert first.read_models.catch_up() == 1
        assert read == []
        assert Reads(first).household("XC-0101", RECORDED)["status"] == "surveyed"
    finally:
        first.close()
        second.close()
    assert followed(store_url) == rebuilt(store_url)


def followed(url: str) -> dict[str, list[tuple[Any, ...]]]:
    ledger = open_at(url)
    try:
        return read_models(ledger)
    finally:
        ledger.close()


def rebuilt(url: str) -> dict[str, list[tuple[Any, ...]]]:
    ledger = open_at(url)
    try:
        ledger.read_models.rebuild()
        return read_models(ledger)
    finally:
        ledger.close()


@pytest.fixture
def second_process_from_the_first_batch(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The positions up to which this process applied pages itself (an ingest opened
    with FOLLOWER_FIRST hands the read models to a follower after its first batch)."""
    applied_here: list[int] = []
    apply_page = read_models_module.ReadModels._apply_page

    def recording(self: read_models_module.ReadModels, events: Any, last: int, *rest: Any) -> None:
        apply_page(self, events, last, *rest)
        applied_here.append(last)

    monkeypatch.setattr(read_models_module.ReadModels, "_apply_page", recording)
    return applied_here


def test_read_models_kept_by_a_second_process_read_the_same(
    store_url: str,
    sample_lines: list[str],
    reference: dict[str, Any],
    second_process_from_the_first_batch: list[int],
) -> None:
    ledger = open_at(store_url, FOLLOWER_FIRST)
    try:
        report = ingest(ledger, sample_lines, ADMIN, batch_size=4)
        assert (report.applied, report.rejected, report.notes) == (41, 0, [])
        # This process caught up once, after the first batch (from nothing: a rebuild,
        # no page); the follower applied every page after.
        assert second_process_from_the_first_batch == []
        assert figures(ledger) == reference
        followed = read_models(ledger)
        ledger.read_models.rebuild()
        assert read_models(ledger) == followed
    finally:
        ledger.close()


class _FailsAtOnce(Worker):
    def command(self, name: str) -> list[str]:
        return [sys.executable, "-c", "import sys; sys.exit('OperationalError: unable to open')"]


class _FailingFollower(Follower):
    """A follower whose process fails at once, as one that cannot open the store."""

    def __init__(self, launch: Launch) -> None:
        self._worker = _FailsAtOnce("follower", launch, keep_input_open=True)


def test_a_failed_follower_is_reported_and_this_process_catches_up(
    store_url: str,
    sample_lines: list[str],
    reference: dict[str, Any],
    second_process_from_the_first_batch: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingest_module, "Follower", _FailingFollower)
    ledger = open_at(store_url, FOLLOWER_FIRST)
    try:
        report = ingest(ledger, sample_lines, ADMIN, batch_size=4)
        assert (report.applied, report.rejected) == (41, 0)
        assert report.notes == [
            "the second process keeping the read models stopped (OperationalError: unable "
            "to open); this one brought them up to date instead."
        ]
        assert second_process_from_the_first_batch[-1] == SAMPLE_EVENTS
        assert figures(ledger) == reference
    finally:
        ledger.close()


def test_an_interrupted_ingest_stops_its_follower(
    store_url: str,
    sample_lines: list[str],
    second_process_from_the_first_batch: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[Follower] = []
    real = ingest_module.Follower

    def follower(launch: Launch) -> Follower:
        started.append(real(launch))
        return started[-1]

    def interrupt(_: int) -> None:
        if started:
            raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "Follower", follower)
    ledger = open_at(store_url, FOLLOWER_FIRST)
    try:
        with pytest.raises(KeyboardInterrupt):
            ingest(ledger, sample_lines, ADMIN, batch_size=4, progress=interrupt)
        assert len(started) == 1
        assert not started[0].running()  # ended, not left running
        # The first batch was committed, and its events are in the read models.
        assert stored(ledger) == (6, 6, 4)
        ledger.read_models.catch_up()
        assert ledger.read_models.position() == 6
    finally:
        ledger.close()


def test_a_sqlite_write_takes_the_write_lock_as_it_begins(tmp_path: Path) -> None:
    # A deferred transaction that read first could not take the lock after another
    # writer committed (SQLITE_BUSY_SNAPSHOT, not waited on): ingest and its follower
    # would fail instead of taking turns.
    path = tmp_path / "ledger.db"
    ledger = open_at(str(path))
    try:
        recorder = recorder_of(ledger)
        with recorder.log_transaction(commit=True):
            other = sqlite3.connect(path, isolation_level=None, timeout=0)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    finally:
        ledger.close()


def test_an_ingest_leaves_checkpoints_to_its_follower_and_takes_them_back(
    tmp_path: Path, sample_lines: list[str], second_process_from_the_first_batch: list[int]
) -> None:
    ledger = open_at(str(tmp_path / "ledger.db"), FOLLOWER_FIRST)
    recorder = recorder_of(ledger)

    def autocheckpoint() -> int:
        with recorder.log_transaction(commit=True) as c:
            c.execute("PRAGMA wal_autocheckpoint")
            return int(c.fetchone()[0])

    seen: list[int] = []
    try:
        report = ingest(ledger, sample_lines, ADMIN, batch_size=4, progress=lambda _: seen.append(
            autocheckpoint()))  # fmt: skip
        assert report.notes == []
        # From the first batch on, a follower kept the read models and the checkpoints.
        assert seen == [0] * 11
        assert autocheckpoint() == 1000
    finally:
        ledger.close()


@pytest.mark.parametrize(("bound", "restarted"), [(1, True), (1_000_000, False)])
def test_a_wal_past_its_bound_is_restarted_when_checkpointed(
    tmp_path: Path,
    sample_lines: list[str],
    reference: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    bound: int,
    restarted: bool,
) -> None:
    # A reader (the follower, or the ingest itself) that began before a passive
    # checkpoint and reads on during the next write keeps that write from starting
    # the WAL again: in a long ingest it grew past 700 MB.
    path = tmp_path / "ledger.db"
    ledger = open_at(str(path), Settings(wal_bound_pages=bound, wal_limit_bytes=0))
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        recorder = recorder_of(ledger)
        recorder.leave_checkpoints(True)
        ingest(ledger, sample_lines[:-1], ADMIN, batch_size=4, second_process=False)
        wal = Path(f"{path}-wal")
        before = wal.stat().st_size
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM stored_events").fetchone()
        done_reading = threading.Timer(0.5, reader.execute, ["COMMIT"])
        done_reading.start()
        # Past the bound, the checkpoint waits for the reader to finish.
        assert recorder.checkpoint_wal() is restarted
        ingest(ledger, sample_lines[-1:], ADMIN, second_process=False)
        done_reading.join()
        # The next write started the WAL again (cut back to its limit), or appended.
        assert (wal.stat().st_size < before) is restarted
        assert figures(ledger) == reference
    finally:
        reader.close()
        ledger.close()


def test_a_follower_that_cannot_start_leaves_the_read_models_to_this_process(
    tmp_path: Path,
    sample_lines: list[str],
    reference: dict[str, Any],
    second_process_from_the_first_batch: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cannot_start(launch: Launch) -> Follower:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(ingest_module, "Follower", cannot_start)
    ledger = open_at(str(tmp_path / "ledger.db"), FOLLOWER_FIRST)
    try:
        report = ingest(ledger, sample_lines, ADMIN, batch_size=4)
        assert (report.applied, report.rejected) == (41, 0)
        assert report.notes == [
            "a second process to keep the read models could not be started ([Errno 24] Too "
            "many open files); this one kept them."
        ]
        assert figures(ledger) == reference
        with recorder_of(ledger).log_transaction(commit=True) as c:
            c.execute("PRAGMA wal_autocheckpoint")
            assert c.fetchone()[0] == 1000
    finally:
        ledger.close()
