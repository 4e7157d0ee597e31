"""Properties of the auditor's checks (issue 17): for random programmes with planted
irregularities of each kind, `report consistency` lists exactly the planted ones (and
nothing for a fair programme); and a read `--known-at` a moment equals the same read
of a ledger holding only the events recorded by then (a naive filter by recorded
time)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import NotFound
from domain.policy import Item, PolicyVersion, entitlement
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.reads import Reads
from ledger.store import open_ledger
from simulation.programme import POLICY
from tests.credentials import ADMIN
from tests.integration.test_consistency import AS_OF, CHECKS, CST, Commands, at, id_number

KINDS = ("quantities", "shared_id_numbers", "vacated_before_paid", "deviations")
RULER = PolicyVersion.from_document(POLICY)


@dataclass(frozen=True)
class Planted:
    household: str
    kinds: frozenset[str]


households = st.lists(
    st.frozensets(st.sampled_from(KINDS), max_size=len(KINDS)), min_size=2, max_size=6
).map(lambda plans: [Planted(f"H{n:02d}", kinds) for n, kinds in enumerate(plans)])


def programme(planted: list[Planted]) -> list[dict[str, Any]]:
    c = Commands()
    c.add("publish_policy", "admin", at(1, 8), document=POLICY)
    c.add("add_village", "admin", at(1, 8), village="一村")
    c.add("create_group", "admin", at(1), group="G01", name="第一工作组")
    c.add("enroll_staff", "admin", at(1), staff="c1", name="周清", role="clerk", group="G01")
    c.add("enroll_staff", "admin", at(1), staff="app-1", name="吴评", role="appraiser")
    c.add("enroll_staff", "admin", at(1), staff="sup-1", name="郑督", role="supervisor")
    for n, plan in enumerate(planted):
        code, kinds = plan.household, plan.kinds
        # A planted shared number is the first household's (a second house).
        shared = "shared_id_numbers" in kinds and n > 0
        c.add(
            "register_household",
            "admin",
            at(1, 10),
            household=code,
            group="G01",
            village="一村",
            head=f"户主{n}",
            id_number=id_number(0 if shared else n),
        )
        c.add(
            "record_survey",
            "c1",
            at(2),
            household=code,
            residents=3,
            building_area_m2={"brick_concrete": "100.00"},
            land_area_m2="200.00",
        )
        area = "110.00" if "quantities" in kinds else "100.00"
        extra: dict[str, Any] = {}
        if "quantities" in kinds:
            extra["quantity_deviation"] = {"reason": "含阁楼", "approved_by": "sup-1"}
        c.value(code, 3, 1, area, **extra)
        items = [
            Item("building:brick_concrete", quantity=Decimal(area)),
            Item("land:homestead", quantity=Decimal("200.00")),
        ]
        owed = entitlement(items, RULER, datetime.fromisoformat(at(10))).total
        deviation: dict[str, Any] = {}
        if "deviations" in kinds:
            owed += Decimal("1000.00")
            c.add(
                "approve_deviation",
                "sup-1",
                at(9),
                household=code,
                amount=f"{owed:.2f}",
                reason="困难补助",
                approval=f"AP-{code}",
            )
            deviation = {"deviation": {"approval": f"AP-{code}"}}
        c.sign(code, f"{owed:.2f}", **deviation)
        if "vacated_before_paid" in kinds:
            c.add("record_vacated", "c1", at(11), household=code)
    return c.lines


def expected(planted: list[Planted]) -> dict[str, list[str]]:
    found = {section: [] for section in (*CHECKS, "deviations")}
    for plan in planted:
        for kind in plan.kinds:
            if kind != "shared_id_numbers":
                found[kind].append(plan.household)
    sharing = [p.household for p in planted[1:] if "shared_id_numbers" in p.kinds]
    if sharing:
        found["shared_id_numbers"] = [planted[0].household, *sharing]
    return found


def listed(document: dict[str, Any]) -> dict[str, list[str]]:
    found = {}
    for section in (*CHECKS, "deviations"):
        entries = document[section]
        if section == "shared_id_numbers":
            found[section] = [h["household"] for e in entries for h in e["households"]]
        else:
            found[section] = [e["household"] for e in entries]
    return found


def fresh(directory: str, name: str, clock: Any = None) -> Ledger:
    path = str(Path(directory) / f"{name}.db")
    return open_ledger(path) if clock is None else open_ledger(path, clock=clock)


@settings(max_examples=15)
@given(planted=households)
def test_the_report_lists_exactly_the_planted_irregularities(planted: list[Planted]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        ledger = fresh(directory, "planted")
        try:
            lines = programme(planted)
            refusals = ledger.execute_batch([parse_command(x) for x in lines], ADMIN)
            assert [str(r) for r in refusals if r is not None] == []
            document = Reads(ledger).consistency(AS_OF)
        finally:
            ledger.close()
    assert listed(document) == expected(planted)
    assert document["policy_versions"] == document["voided"] == []


@settings(max_examples=10)
@given(
    planted=households,
    gaps=st.lists(st.integers(min_value=0, max_value=90), min_size=80, max_size=80),
    cut=st.integers(min_value=0, max_value=80),
)
def test_known_at_equals_a_ledger_of_the_events_recorded_by_then(
    planted: list[Planted], gaps: list[int], cut: int
) -> None:
    """Each command recorded some minutes after the one before (a gap of 0: the same
    moment); the reads known at a moment equal those of a ledger given only the
    commands recorded by then."""
    lines = [parse_command(x) for x in programme(planted)]
    start = datetime(2018, 3, 20, 8, 0, tzinfo=CST)
    times, now = [], start
    for n in range(len(lines)):
        now += timedelta(minutes=gaps[n % len(gaps)])
        times.append(now)
    moment = times[min(cut, len(times) - 1)] + timedelta(seconds=30 * (cut % 3 - 1))
    clock = {"now": start}
    with tempfile.TemporaryDirectory() as directory:
        whole = fresh(directory, "whole", lambda: clock["now"])
        part = fresh(directory, "part")
        try:
            for command, when in zip(lines, times, strict=True):
                clock["now"] = when
                assert whole.execute_batch([command], ADMIN) == [None]
            known = [c for c, when in zip(lines, times, strict=True) if when <= moment]
            assert all(r is None for r in part.execute_batch(known, ADMIN))
            reads, naive = Reads(whole), Reads(part)
            assert reads.group_report(AS_OF, moment) == naive.group_report(AS_OF)
            report, expected_report = reads.consistency(AS_OF, moment), naive.consistency(AS_OF)
            # Acts entered for others carry their recorded times, which differ between
            # the two ledgers: compared by what they are.
            acts = [a.pop("recorded_at") and a for a in report.pop("entered_for_others")]
            naive_acts = [
                a.pop("recorded_at") and a for a in expected_report.pop("entered_for_others")
            ]
            assert report == expected_report
            assert acts == naive_acts
            for plan in planted:
                if reads.known_position(moment) and _registered(naive, plan.household):
                    assert reads.household(plan.household, AS_OF, moment) == naive.household(
                        plan.household, AS_OF
                    )
        finally:
            whole.close()
            part.close()


def _registered(reads: Reads, code: str) -> bool:
    try:
        reads.household(code, AS_OF)
    except NotFound:
        return False
    return True
