"""Entries recorded late (`report late-entries`): every event recorded more than the
policy's window after its business time, and every event that changed a figure of a
bulletin already checkpointed (recorded after a checkpoint, dated before it, and
moving a household's or a complaint's counts as the bulletin had them then), each
with who did it and who entered it. It reads every stored event once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import domain.account  # noqa: F401  (its events' topics: every stored event is decoded)
from domain.base import Recorded
from domain.policy import DEFAULT_LATE_ENTRY_DAYS
from domain.values import LEDGER_TZ
from ledger.application import Ledger
from ledger.log import mapstore
from projections import complaints as complaints_rm
from projections import households as households_rm
from projections import programme as programme_rm
from projections import progress as progress_rm
from projections.history import event_type
from projections.household_rows import Row
from projections.model import micros

_PAGE = 2000


def late_entries(ledger: Ledger, window_days: int | None = None) -> dict[str, Any]:
    """The `report late-entries --json` document."""
    with ledger.read_models.reading() as c:
        policy = programme_rm.latest_policy(c)
        names = _names(c)
        changed = _after_checkpoints(ledger, c)
    days = window_days
    if days is None:
        days = policy.late_entry_days if policy is not None else DEFAULT_LATE_ENTRY_DAYS
    window = timedelta(days=days)
    late = []
    found: dict[int, Recorded] = {}
    for position, event in _recorded_events(ledger):
        if position in changed:
            found[position] = event
        if event.recorded_at - event.occurred_at > window:
            late.append(
                {
                    **_entry(position, event, names),
                    "late_by_days": round(
                        (event.recorded_at - event.occurred_at) / timedelta(days=1), 1
                    ),
                }
            )
    after = [
        {**_entry(position, found[position], names), **changed[position]}
        for position in sorted(changed)
        if position in found
    ]
    return {"window_days": days, "late": late, "after_checkpoint": after}


def _recorded_events(ledger: Ledger) -> Iterator[tuple[int, Recorded]]:
    start = 1
    while True:
        notifications = ledger.recorder.select_notifications(start, _PAGE)
        if not notifications:
            return
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            if isinstance(event, Recorded):
                yield notification.id, event
        start = notifications[-1].id + 1


def _names(c: Any) -> dict[bytes, tuple[str, str]]:
    """("household", code) or ("complaint", code) of each aggregate the read models know."""
    c.execute("SELECT aggregate, household FROM rm_households")
    names = {bytes(a): ("household", h) for a, h in c.fetchall()}
    c.execute("SELECT aggregate, complaint FROM rm_complaints")
    names.update({bytes(a): ("complaint", code) for a, code in c.fetchall()})
    return names


def _entry(position: int, event: Recorded, names: dict[bytes, tuple[str, str]]) -> dict[str, Any]:
    kind, code = names.get(event.originator_id.bytes, (None, None))
    return {
        "position": position,
        "event": event_type(event),
        "household": code if kind == "household" else None,
        "complaint": code if kind == "complaint" else None,
        "occurred_at": event.occurred_at.astimezone(LEDGER_TZ).isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.actor,
        "entered_by": event.entered_by,
        "command": event.command,
    }


def _after_checkpoints(ledger: Ledger, c: Any) -> dict[int, dict[str, Any]]:
    """The positions of the entries that changed a checkpointed bulletin's figures:
    recorded after the checkpoint, dated by it, and changing when a household's (or a
    complaint's) counts switch up to it; with the first checkpoint each changed."""
    recorder = ledger.ledger_recorder
    with recorder.log_transaction(commit=False) as lc:
        marks = []
        for checkpoint in recorder.log.checkpoints(lc):
            if checkpoint.size == 0:
                continue
            last = mapstore.nid_at(recorder.log, lc, checkpoint.size - 1)
            made = datetime.fromisoformat(checkpoint.created_at)
            marks.append((checkpoint.size, last, made))
    if not marks:
        return {}
    changed: dict[int, dict[str, Any]] = {}
    lookup = _policies(c)
    c.execute(households_rm.SELECT_ALL)
    for r in c.fetchall():
        row = households_rm.row_of(r)
        _compare(
            row.timeline,
            marks,
            changed,
            lambda entries, row=row: _household_changes(row, entries, lookup),
        )
    for complaint in complaints_rm.every(c):
        timeline = [tuple(entry) for entry in complaint.timeline]
        _compare(
            timeline,
            marks,
            changed,
            lambda entries, complaint=complaint: [
                (at, change) for at, _, change in entries if change
            ],
        )
    return changed


def _household_changes(row: Any, entries: list[Any], lookup: Any) -> list[Any]:
    copy = Row(
        row.aggregate, row.household, row.group, row.village, row.head, row.id_number, entries
    )
    return sorted(progress_rm.transitions(copy, lookup)) if entries else []


def _compare(
    timeline: list[Any],
    marks: list[tuple[int, int, datetime]],
    changed: dict[int, dict[str, Any]],
    switches: Any,
) -> None:
    """Mark the entries recorded after a checkpoint, dated by it, when with them the
    counts switch otherwise up to the checkpoint than without them."""
    full = switches(timeline)
    for size, last, made in marks:
        at = micros(made)
        after = [e for e in timeline if e[1] > last and e[0] <= at]
        if not after or all(e[1] in changed for e in after):
            continue
        known = [e for e in timeline if e[1] <= last]
        then = [s for s in switches(known) if s[0] <= at]
        now = [s for s in full if s[0] <= at]
        if then != now:
            for entry in after:
                changed.setdefault(
                    entry[1],
                    {"checkpoint": size, "checkpointed_at": made.isoformat()},
                )


def _policies(c: Any) -> Any:
    cache: dict[tuple[str, int], Any] = {}

    def lookup(policy: str, version: int) -> Any:
        key = (policy, version)
        if key not in cache:
            cache[key] = programme_rm.policy_version(c, policy, version)
        return cache[key]

    return lookup
