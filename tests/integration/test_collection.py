"""Long runs switch Python's automatic cycle collection off and collect between units
of work (ledger/collector.py): what they rely on is that cycles are still freed unit by
unit, that a refused command leaves none holding its batch, and that the collector is
left as it was found."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator

import pytest

from domain.errors import DomainError, NotFound
from ledger.application import Ledger
from ledger.collector import OLDER_EVERY, collected_between_units
from ledger.commands import parse_command
from ledger.ingest import ingest
from tests.credentials import ADMIN


class Node:
    """An object that can be put in a reference cycle, and watched going."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    yield
    if not enabled:
        gc.disable()


def survey_of_unknown(number: int) -> str:
    return json.dumps(
        {
            "id": f"unknown-{number}",
            "cmd": "record_vacated",
            "actor": "admin",
            "at": "2018-03-02T09:00:00+08:00",
            "household": f"XC-9{number:03d}",
        }
    )


@pytest.mark.usefixtures("collector_on")
def test_a_cycle_is_freed_between_units_and_not_before() -> None:
    with collected_between_units() as collector:
        assert not gc.isenabled()
        watched = cycle()
        assert watched() is not None  # nothing collects on its own
        collector.between_units()
        assert watched() is None
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_cycle_let_go_after_it_grew_old_is_freed_every_so_many_units() -> None:
    with collected_between_units() as collector:
        kept = Node()
        kept.other = Node()
        kept.other.other = kept
        watched = weakref.ref(kept)
        collector.between_units()  # still in use: it moves to the older generation
        del kept  # a cache let it go
        for _ in range(OLDER_EVERY - 2):
            collector.between_units()
        assert watched() is not None  # the young collections do not look at it
        collector.between_units()
        assert watched() is None


def test_the_collector_is_left_as_it_was_found_even_after_a_failure() -> None:
    enabled = gc.isenabled()
    try:
        gc.enable()
        with pytest.raises(RuntimeError), collected_between_units():
            raise RuntimeError("interrupted")
        assert gc.isenabled()
        gc.disable()
        with collected_between_units():
            pass
        assert not gc.isenabled()
    finally:
        if enabled:
            gc.enable()


def test_a_refusal_in_a_batch_holds_no_traceback(ledger: Ledger) -> None:
    # A refusal's traceback holds the batch's frame, which holds the refusal: the
    # whole batch would wait for a collection to be freed.
    outcomes = ledger.execute_batch([parse_command(json.loads(survey_of_unknown(1)))], ADMIN)
    assert isinstance(outcomes[0], NotFound)
    assert str(outcomes[0]) == "unknown household XC-9001: register it first."
    assert outcomes[0].__traceback__ is None


@pytest.mark.usefixtures("collector_on")
def test_an_ingest_of_refused_lines_leaves_no_cyclic_garbage(
    ledger: Ledger, sample_lines: list[str]
) -> None:
    ingest(ledger, sample_lines, ADMIN)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        report = ingest(ledger, [survey_of_unknown(n) for n in range(300)], ADMIN, batch_size=50)
        gc.collect()
        garbage = [o for o in gc.garbage if isinstance(o, DomainError)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert (report.applied, report.rejected) == (0, 300)
    assert garbage == []
    assert gc.isenabled()
