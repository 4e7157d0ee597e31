"""The read models as the runner sees them: each model of projections/ found, its
topics those of its handlers; a model added as one class is followed and rebuilt
alike; events reach the models in their current shape (upcast); and a rebuild's
second process that fails is reported however its exit and the end of its output
fall."""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from functools import singledispatchmethod
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from domain.complaint import Complaint
from domain.household import Household
from domain.payout import PayoutIndex
from domain.programme import Policy, Staff, WorkGroup
from ledger.commands import parse_command
from ledger.read_model_plan import plan
from ledger.read_models import ReadModels
from ledger.settings import DEFAULT, Settings
from ledger.store import open_ledger
from ledger.transcoder import ReadMapper, construct_transcoder
from ledger.workers.launcher import Launch, Worker
from projections.complaints import Complaints
from projections.households import Households
from projections.model import ReadModel, registered
from projections.on_behalf import OnBehalf
from projections.programme import Programme
from projections.progress import Progress
from tests.credentials import ADMIN


def test_every_read_model_of_the_package_is_found_after_those_it_reads() -> None:
    # Every class of a module of projections/ that subclasses ReadModel, read from the
    # source: a module added with one is found without being listed anywhere.
    defined = {
        node.name
        for path in (Path(__file__).resolve().parents[2] / "projections").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "ReadModel" for base in node.bases)
    }
    found = registered()
    assert {model.__name__ for model in found} == defined
    assert {"Households", "Programme", "Complaints", "Progress"} <= defined
    for index, model in enumerate(found):
        assert all(found.index(before) < index for before in model.after)


def test_a_model_reads_the_topics_of_its_handlers() -> None:
    household_events = {
        cls for cls in vars(Household).values() if isinstance(cls, type) and "TOPIC" in vars(cls)
    }
    complaint_events = {
        cls for cls in vars(Complaint).values() if isinstance(cls, type) and "TOPIC" in vars(cls)
    }
    assert set(Households.handlers()) == (household_events - {Household}) | (
        complaint_events - {Complaint}
    )
    assert set(Complaints.handlers()) == complaint_events - {Complaint}
    assert Progress.handlers() == {}
    assert set(Programme.handlers()) == {
        Policy.Published, Policy.NewVersionPublished, WorkGroup.Created,
        Staff.Enrolled, Staff.RoleChanged, Staff.Transferred,
    }  # fmt: skip
    assert set(OnBehalf.handlers()) == {
        Household.DeviationApproved, Household.DeviationRefused, Household.AgreementVoided,
        Household.PayoutConfirmed,
        Complaint.Resolved,
    }  # fmt: skip


def test_a_rebuild_reads_the_set_up_and_the_complaints_before_it_folds_the_households() -> None:
    programme, households = Programme(), Households()
    complaints = Complaints(households, programme)
    steps = plan([households, programme, complaints, Progress(households, complaints, programme)])
    assert [step.folding for step in steps] == [households, None]
    assert set(steps[0].stored) == set(Programme.handlers()) | {
        cls for cls in Households.handlers() if not issubclass(cls, Household.Event)
    }
    assert set(steps[0].folded) == {
        cls for cls in Households.handlers() if issubclass(cls, Household.Event)
    }
    assert set(steps[1].stored) == set(Complaints.handlers())


class DocumentKinds(ReadModel):
    """A read model added as one class: how many documents of each kind are on file."""

    tables: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS rm_test_documents "
        "(kind TEXT PRIMARY KEY, documents BIGINT NOT NULL)",
    )

    def begin(self, c: Any) -> None:
        super().begin(c)
        self.added: Counter[str] = Counter()

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """One handler per event class."""

    @handle.register
    def _attached(self, e: Household.DocumentAttached, position: int) -> None:
        self.added[e.kind] += 1

    def flush(self) -> None:
        self.c.executemany(
            "INSERT INTO rm_test_documents VALUES (?, ?) ON CONFLICT (kind) "
            "DO UPDATE SET documents = rm_test_documents.documents + excluded.documents",
            sorted(self.added.items()),
        )


def test_a_read_model_added_as_one_class_is_followed_and_rebuilt_alike(
    tmp_path: Path, sample_lines: list[str]
) -> None:
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        models = ReadModels(
            ledger.recorder,
            ledger.mapper,
            models=[*registered(), DocumentKinds],
            settings=Settings(page=5),
        )
        assert "rm_test_documents" in models.tables()
        for start in range(0, len(sample_lines), 7):  # followed in pages of 5 events
            batch = [parse_command(json.loads(line)) for line in sample_lines[start : start + 7]]
            assert ledger.execute_batch(batch, ADMIN) == [None] * len(batch)
            models.catch_up()
        followed = models.rows()
        models.rebuild()
        assert models.rows() == followed
        attached = Counter(
            e.kind for e in ledger.all_events() if isinstance(e, Household.DocumentAttached)
        )
        assert followed["rm_test_documents"] == sorted(attached.items())
    finally:
        ledger.close()


class Thing(Aggregate):
    class Noted(Aggregate.Event):
        """Version 2 added `urgent`; version 1 events were not urgent."""

        class_version = 2
        note: str
        urgent: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["urgent"] = False


@pytest.mark.parametrize("stored_version", [1, 2])
def test_the_read_models_are_given_an_old_event_in_its_current_shape(stored_version: int) -> None:
    transcoder = construct_transcoder()
    state: dict[str, Any] = {"note": "量错了", "timestamp": None}
    if stored_version == 2:
        state.update(class_version=2, urgent=True)
    stored = StoredEvent(uuid4(), 3, get_topic(Thing.Noted), transcoder.encode(state))
    library = Mapper(transcoder).to_domain_event(stored)
    event = ReadMapper(Mapper(transcoder)).to_domain_event(stored)
    assert type(event) is Thing.Noted
    assert vars(event) == vars(library)
    assert (event.note, event.urgent) == ("量错了", stored_version == 2)


class _EndsBeforeItExits(Worker):
    """A second process that fails: it closes its output, says why, and exits a while
    later (as a process does while Python shuts down)."""

    def command(self, name: str) -> list[str]:
        return [
            sys.executable,
            "-c",
            "import os, sys, time; sys.stdin.buffer.read(); os.close(1); "
            "print('KeyError: the settings', file=sys.stderr, flush=True); "
            "time.sleep(0.5); sys.exit(1)",
        ]


def test_a_second_process_that_ended_its_output_but_has_not_exited_is_reported() -> None:
    worker = _EndsBeforeItExits("rebuild", Launch({}, DEFAULT))
    assert worker.receive() == []  # returns when its output ends
    worker.stop()
    assert worker.failure == "KeyError: the settings"


def test_a_rebuild_gives_the_models_that_ride_a_fold_its_events_as_it_folds() -> None:
    """Payouts, the search and the acts entered for others take the households' events
    in the households' fold (each read and decoded once), their other events in stored
    order; a model that does not ride reads its household events in stored order."""
    instances: dict[type, ReadModel] = {}
    for cls in registered():
        instances[cls] = cls(*(instances[before] for before in cls.after))
    steps = plan(list(instances.values()))
    fold = next(step for step in steps if step.folding is instances[Households])
    riders = {handler.__self__.name for found in fold.folded.values() for handler in found}
    assert riders == {"households", "payouts", "household_search", "on_behalf"}
    assert Household.PayoutRequested in fold.folded
    assert Household.PayoutRequested not in fold.stored
    assert PayoutIndex.Indexed in fold.stored
