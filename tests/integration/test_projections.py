"""The read models, followed incrementally (any batch and page sizes, with crashes
between and inside pages), equal the read models rebuilt from nothing, and equal
a naive recount of the stored events, as of any moment."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import Recorded
from domain.complaint import Complaint
from domain.household import Household
from domain.programme import Staff, WorkGroup
from domain.values import LEDGER_TZ
from ledger import read_models as read_models_module
from ledger.application import Ledger
from ledger.ingest import ingest
from ledger.reads import Reads
from ledger.settings import Settings
from ledger.store import open_ledger
from simulation.programme import POLICY, Programme
from tests.credentials import ADMIN

REQUIRED = set(POLICY["required_documents"])


def programme(households: int, seed: int, shuffle: int, transfers: bool = False) -> list[str]:
    """A generated programme as ingest lines, with a few neighbouring lines swapped
    (some then arrive late, some are refused: both are what real files do), and with
    transfers, a clerk or two moved to another group part-way."""
    commands = list(Programme(households, 3, seed))
    rng = random.Random(seed)
    # Dated at a neighbouring line, so some complaints about the clerk come before the
    # move and some after (and the clerk's later acts on the old group are refused).
    clerks = [c for c in commands if c["cmd"] == "enroll_staff" and c["role"] == "clerk"]
    groups = sorted({c["group"] for c in clerks})
    for n in range(rng.randint(0, 2) if transfers else 0):
        clerk = rng.choice(clerks)
        i = rng.randrange(40, len(commands))
        commands.insert(i, {
            "id": f"move-{n}", "cmd": "transfer_staff", "actor": "admin",
            "at": commands[i - 1]["at"], "staff": clerk["staff"],
            "group": rng.choice([g for g in groups if g != clerk["group"]] or groups),
            "reason": "支援",
        })  # fmt: skip
    lines = [json.dumps(c, ensure_ascii=False) for c in commands]
    for _ in range(shuffle):
        i = rng.randrange(40, len(lines) - 1)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return lines


def read_models(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every registered read model's rows, as the models compare them."""
    return ledger.read_models.rows()


# --- a naive recount, written without the read models' code ---------------------------


def naive_report(events: list[Recorded], as_of: datetime) -> dict[str, dict[str, int]]:
    """Count every group's bulletin figures from the events up to as_of, folding each
    household and complaint in business-time order."""
    group_of: dict[str, str] = {}
    # Each staff member's moves: (stored index, business time, group); a complaint
    # counts against the group of the latest move by its time among those stored
    # before it (before the first: the group enrolled in).
    moves: dict[str, list[tuple[int, datetime, str | None]]] = {}
    staff_of: dict[Any, str] = {}
    stored = {id(e): n for n, e in enumerate(events)}
    for n, e in enumerate(events):
        if isinstance(e, Staff.Enrolled):
            staff_of[e.originator_id] = e.staff
            moves[e.staff] = [(n, e.occurred_at, e.group)]
        elif isinstance(e, Staff.Transferred):
            moves[staff_of[e.originator_id]].append((n, e.occurred_at, e.group))

    def staff_group(staff: str, at: datetime, before: int) -> str | None:
        known = [m for m in moves.get(staff, []) if m[0] < before]
        by_then = [m for m in known if m[1] <= at]
        if by_then:
            return max(by_then, key=lambda m: (m[1], m[0]))[2]
        return min(known)[2] if known else None

    groups: set[str] = set()
    per_household: dict[Any, dict[str, Any]] = {}
    complaints: dict[Any, dict[str, Any]] = {}
    for e in sorted((e for e in events if e.occurred_at <= as_of), key=lambda e: e.occurred_at):
        if isinstance(e, WorkGroup.Created):
            groups.add(e.group)
        elif isinstance(e, Household.Registered):
            group_of[e.household] = e.group
            per_household[e.originator_id] = {
                "group": e.group,
                "surveyed": False,
                "valued": False,
                "agreed": None,
                "docs": set(),
                "requested": {},
                "confirmed": Decimal(0),
                "any": False,
            }
        elif isinstance(e, Household.Event) and e.originator_id in per_household:
            h = per_household[e.originator_id]
            if isinstance(e, Household.Surveyed):
                h["surveyed"] = True
            elif isinstance(e, Household.Valued):
                h["valued"] = True
            elif isinstance(e, Household.AgreementSigned):
                h["agreed"] = e.amount
            elif isinstance(e, Household.AgreementVoided):
                h["agreed"] = None
            elif isinstance(e, Household.DocumentAttached):
                h["docs"].add(e.kind)
            elif isinstance(e, Household.PayoutRequested):
                h["requested"][e.payout] = e.amount
            elif isinstance(e, Household.PayoutConfirmed):
                h["confirmed"] += h["requested"][e.payout]
                h["any"] = True
        elif isinstance(e, Complaint.Filed):
            about = e.about
            counted = {about["group"]} if "group" in about else set()
            if "household" in about:
                counted.add(group_of[about["household"]])
            if "staff" in about:
                group = staff_group(about["staff"], e.occurred_at, stored[id(e)])
                if group:
                    counted.add(group)
            complaints[e.originator_id] = {"groups": counted, "open": True}
        elif isinstance(e, Complaint.Resolved):
            complaints[e.originator_id]["open"] = False
        elif isinstance(e, Complaint.Reopened):
            complaints[e.originator_id]["open"] = True
    report: dict[str, dict[str, int]] = {
        g: dict.fromkeys(
            (
                "households",
                "surveyed",
                "valued",
                "signed",
                "files_complete",
                "paid",
                "open_complaints",
            ),
            0,
        )
        for g in [*groups, "total"]
    }
    for h in per_household.values():
        for key in (h["group"], "total"):
            row = report[key]
            row["households"] += 1
            row["surveyed"] += h["surveyed"]
            row["valued"] += h["valued"]
            row["signed"] += h["agreed"] is not None
            row["files_complete"] += h["valued"] and h["docs"] >= REQUIRED
            row["paid"] += h["agreed"] is not None and h["any"] and h["confirmed"] >= h["agreed"]
    for complaint in complaints.values():
        if complaint["open"]:
            for group in complaint["groups"]:
                report[group]["open_complaints"] += 1
            report["total"]["open_complaints"] += 1
    return report


def figures(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    keys = (
        "households",
        "surveyed",
        "valued",
        "signed",
        "files_complete",
        "paid",
        "open_complaints",
    )
    out = {row["group"]: {k: row[k] for k in keys} for row in document["groups"]}
    out["total"] = {k: document["total"][k] for k in keys}
    return out


# --- the properties -----------------------------------------------------------------------


class Crash(Exception):
    pass


def batches(lines: list[str], sizes: list[int]) -> Iterator[list[str]]:
    start, i = 0, 0
    while start < len(lines):
        size = sizes[i % len(sizes)]
        yield lines[start : start + size]
        start, i = start + size, i + 1


@settings(max_examples=12, deadline=None)
@given(
    households=st.integers(3, 25),
    seed=st.integers(0, 10_000),
    shuffle=st.integers(0, 6),
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=5),
    page=st.sampled_from([3, 64, 10_000]),
    crashes=st.lists(st.booleans(), min_size=1, max_size=6),
)
def test_followed_equals_rebuilt_equals_a_naive_recount(
    tmp_path_factory: pytest.TempPathFactory,
    households: int,
    seed: int,
    shuffle: int,
    sizes: list[int],
    page: int,
    crashes: list[bool],
) -> None:
    path = tmp_path_factory.mktemp("followed") / "ledger.db"
    lines = programme(households, seed, shuffle, transfers=True)
    original_apply = read_models_module.ReadModels._work_out
    paged = Settings(page=page)
    try:
        for n, batch in enumerate(batches(lines, sizes)):
            # A new process, as it were: nothing cached.
            ledger = open_ledger(str(path), settings=paged)
            if crashes[n % len(crashes)]:
                # The process dies while the read models follow (after the events of
                # the batch were committed): nothing of that page may count.
                def crashing(self: Any, c: Any, events: Any) -> None:
                    original_apply(self, c, events)
                    raise Crash

                read_models_module.ReadModels._work_out = crashing  # type: ignore[method-assign]
                with contextlib.suppress(Crash):
                    ingest(ledger, batch, ADMIN, batch_size=max(1, len(batch) // 2))
                read_models_module.ReadModels._work_out = original_apply  # type: ignore[method-assign]
                ledger.close()
                ledger = open_ledger(str(path), settings=paged)
            # The same file again (after a crash, the office simply runs it again).
            ingest(ledger, batch, ADMIN, batch_size=max(1, len(batch) // 2))
            ledger.close()
        followed = open_ledger(str(path), settings=paged)
        followed.read_models.catch_up()
        incremental = read_models(followed)
        events = list(followed.all_events())
        end = max(e.occurred_at for e in events) + timedelta(days=1)
        reported = figures(Reads(followed).group_report(end))
        followed.read_models.rebuild()
        assert read_models(followed) == incremental
        assert reported == naive_report(events, end)
        followed.close()
    finally:
        read_models_module.ReadModels._work_out = original_apply  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def programme_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path: Path = tmp_path_factory.mktemp("as-of") / "ledger.db"
    ledger = open_ledger(str(path))
    report = ingest(ledger, programme(60, 11, 8, transfers=True), ADMIN)
    assert report.applied > 0
    yield ledger
    ledger.close()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shift=st.sampled_from([-1, 0, 1]), uniform=st.booleans())
def test_the_report_as_of_any_moment_equals_a_naive_count(
    programme_ledger: Ledger, data: st.DataObject, shift: int, uniform: bool
) -> None:
    events = list(programme_ledger.all_events())
    if uniform:
        # Anywhere from before the programme to after it, uniformly (hypothesis's own
        # integers favour small values, which would all fall before the first event).
        rng = data.draw(st.randoms(use_true_random=False))
        start = datetime(2018, 2, 28, 12, tzinfo=LEDGER_TZ)
        as_of = start + timedelta(seconds=rng.uniform(0, 34 * 86_400))
    else:
        # Exactly at an event, or a microsecond either side of it.
        moment = data.draw(st.sampled_from(sorted({e.occurred_at for e in events})))
        as_of = moment + timedelta(microseconds=shift)
    assert figures(Reads(programme_ledger).group_report(as_of)) == expected_report(events, as_of)


def expected_report(events: list[Any], as_of: datetime) -> dict[str, Any]:
    """The naive count, for the groups that existed at as_of."""
    return {
        group: counts
        for group, counts in naive_report(events, as_of).items()
        if group == "total"
        or any(
            isinstance(e, WorkGroup.Created) and e.group == group and e.occurred_at <= as_of
            for e in events
        )
    }


def test_the_report_counts_an_event_at_the_very_start_of_an_hour(tmp_path: Path) -> None:
    # An as-of inside an hour sums whole hours before it and the moments of its hour:
    # an event exactly on the hour belongs to its own hour, not the one before.
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        assert ingest(ledger, programme(5, 3, 0), ADMIN).rejected == 0
        events = list(ledger.all_events())
        group = next(e.group for e in events if isinstance(e, WorkGroup.Created))
        latest = max(e.occurred_at for e in events).astimezone(LEDGER_TZ)
        hour = (latest + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        line = {
            "id": "on-the-hour",
            "cmd": "register_household",
            "actor": "admin",
            "at": hour.isoformat(),
            "household": "XC-9999",
            "group": group,
            "village": "一村",
            "head": "王五",
        }
        assert ingest(ledger, [json.dumps(line, ensure_ascii=False)], ADMIN).applied == 1
        events = list(ledger.all_events())
        tick = timedelta(microseconds=1)
        reported = [
            figures(Reads(ledger).group_report(as_of))["total"]["households"]
            for as_of in (hour - tick, hour, hour + tick)
        ]
        assert reported == [
            expected_report(events, as_of)["total"]["households"]
            for as_of in (hour - tick, hour, hour + tick)
        ]
        assert reported[1] == reported[0] + 1 == reported[2]
    finally:
        ledger.close()


def test_the_report_at_the_exact_moment_of_an_event_counts_it(programme_ledger: Ledger) -> None:
    events = list(programme_ledger.all_events())
    signings = [e for e in events if isinstance(e, Household.AgreementSigned)]
    moment = signings[len(signings) // 2].occurred_at
    at = figures(Reads(programme_ledger).group_report(moment))["total"]["signed"]
    before = figures(Reads(programme_ledger).group_report(moment - timedelta(microseconds=1)))
    assert at == naive_report(events, moment)["total"]["signed"]
    assert at == before["total"]["signed"] + sum(1 for e in signings if e.occurred_at == moment)


def test_a_complaint_about_a_household_registered_in_the_same_page_counts_for_its_group(
    tmp_path: Path,
) -> None:
    # A page without set-up events is worked out before any of its rows are written:
    # the complaint finds its household's group in the page, not in the table.
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        assert ingest(ledger, programme(3, 5, 0), ADMIN).rejected == 0
        events = list(ledger.all_events())
        group = max(e.group for e in events if isinstance(e, WorkGroup.Created))
        at = max(e.occurred_at for e in events).astimezone(LEDGER_TZ) + timedelta(hours=1)
        lines = [
            {"id": "new-household", "cmd": "register_household", "actor": "admin",
             "at": at.isoformat(), "household": "XC-9998", "group": group,
             "village": "一村", "head": "王五"},
            {"id": "new-complaint", "cmd": "file_complaint", "actor": "hot-1",
             "at": (at + timedelta(minutes=5)).isoformat(), "complaint": "C-9998",
             "channel": "hotline", "about": {"household": "XC-9998"}, "summary": "量错了"},
        ]  # fmt: skip
        before = figures(Reads(ledger).group_report(at))
        report = ingest(ledger, [json.dumps(line, ensure_ascii=False) for line in lines], ADMIN)
        assert (report.applied, report.rejected) == (2, 0)
        after = figures(Reads(ledger).group_report(at + timedelta(hours=1)))
        assert after[group]["open_complaints"] == before[group]["open_complaints"] + 1
        assert after["total"]["open_complaints"] == before["total"]["open_complaints"] + 1
        followed = read_models(ledger)
        ledger.read_models.rebuild()
        assert read_models(ledger) == followed
    finally:
        ledger.close()


def test_a_policy_followed_in_the_same_page_as_the_households_it_prices(tmp_path: Path) -> None:
    # Past the first catch-up (which rebuilds), a page holding set-up events (here the
    # policy) is applied in its write transaction: the households folded later in the
    # page look the policy up in the table.
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        lines = programme(5, 3, 0)
        first_group = lines.pop(next(i for i, x in enumerate(lines) if '"create_group"' in x))
        assert ingest(ledger, [first_group], ADMIN).applied == 1
        assert ingest(ledger, lines, ADMIN).rejected == 0
        followed = read_models(ledger)
        complete = [row for row in followed["rm_progress_daily"] if row[1] == "files_complete"]
        assert sum(row[3] for row in complete) > 0
        ledger.read_models.rebuild()
        assert read_models(ledger) == followed
    finally:
        ledger.close()
