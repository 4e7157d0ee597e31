"""The complaint register as a read model: every complaint with its subjects, the
groups it counts against, its clock, and whether it is open or overdue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import singledispatchmethod
from typing import Any

import msgpack

from domain.complaint import Complaint
from projections.households import Households
from projections.model import Cursor, ReadModel, micros
from projections.programme import Programme

_COLUMNS = (
    "aggregate",
    "complaint",
    "channel",
    "about",
    "summary",
    "household",
    "groups",
    "filed_at",
    "acknowledged_at",
    "resolved_at",
    "finding",
    "clock_from",
    "events",
    "timeline",
)
# Standard SQL upsert (SQLite and PostgreSQL alike).
_UPSERT = (
    f"INSERT INTO rm_complaints VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (aggregate) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
)

C = Complaint

# A deadline this close is due soon (the inbox's third list, beside open and overdue).
DUE_SOON = timedelta(days=1)


@dataclass
class Row:
    aggregate: bytes
    complaint: str
    channel: str
    about: dict[str, str]
    summary: str
    household: str | None
    groups: list[str]
    filed_at: str
    acknowledged_at: str | None
    resolved_at: str | None
    finding: str | None
    clock_from: str
    events: int
    # [at (microseconds), position, +1 opened / -1 closed / 0 other]
    timeline: list[list[int]]


def _load(c: Cursor, aggregate: bytes) -> Row | None:
    c.execute("SELECT * FROM rm_complaints WHERE aggregate = ?", (aggregate,))
    r = c.fetchone()
    return _row_of(r) if r is not None else None


def _row_of(r: Any) -> Row:
    return Row(
        r[0],
        r[1],
        r[2],
        json.loads(r[3]),
        r[4],
        r[5],
        json.loads(r[6]),
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        msgpack.unpackb(r[13]),
    )


class Complaints(ReadModel):
    """rm_complaints: the register, with the groups each complaint counts against
    (its household's group, its staff member's group, its group)."""

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_complaints ("
        "aggregate BLOB PRIMARY KEY, complaint TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, "
        "about TEXT NOT NULL, summary TEXT NOT NULL, household TEXT, groups TEXT NOT NULL, "
        "filed_at TEXT NOT NULL, acknowledged_at TEXT, resolved_at TEXT, finding TEXT, "
        "clock_from TEXT NOT NULL, events BIGINT NOT NULL, timeline BLOB NOT NULL)",
        # A household's page lists the complaints about it.
        "CREATE INDEX IF NOT EXISTS rm_complaints_household ON rm_complaints (household)",
    )
    after = (Households, Programme)

    def __init__(self, households: Households, programme: Programme) -> None:
        super().__init__()
        self.households = households
        self.programme = programme
        # The rows this batch changed; after the flush, what the models after this
        # one consume.
        self.changed: dict[bytes, Row] = {}

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self.changed = {}

    def end(self) -> None:
        self.changed = {}

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _filed(self, e: C.Filed, position: int) -> None:
        key = e.originator_id.bytes
        at = e.occurred_at.isoformat()
        about = dict(e.about)
        groups = {about["group"]} if "group" in about else set()
        if "household" in about:
            groups.add(self.households.group_of(about["household"]) or "")
        if "staff" in about:
            group = self.programme.staff_group(about["staff"], micros(e.occurred_at), position)
            groups.add(group or "")
        groups.discard("")
        self.changed[key] = Row(
            key,
            e.complaint,
            e.channel,
            about,
            e.summary,
            about.get("household"),
            sorted(groups),
            at,
            None,
            None,
            None,
            at,
            1,
            [[micros(e.occurred_at), position, 1]],
        )

    @handle.register
    def _acknowledged(self, e: C.Acknowledged, position: int) -> None:
        row = self._row(e, position, 0)
        row.acknowledged_at = e.occurred_at.isoformat()

    @handle.register
    def _noted(self, e: C.NoteAdded | C.Assigned, position: int) -> None:
        self._row(e, position, 0)

    @handle.register
    def _resolved(self, e: C.Resolved, position: int) -> None:
        row = self._row(e, position, -1)
        row.resolved_at, row.finding = e.occurred_at.isoformat(), e.finding

    @handle.register
    def _reopened(self, e: C.Reopened, position: int) -> None:
        row = self._row(e, position, 1)
        row.resolved_at, row.finding, row.clock_from = None, None, e.occurred_at.isoformat()

    def _row(self, e: C.Event, position: int, change: int) -> Row:
        """The complaint's row, with the event counted and in its timeline."""
        key = e.originator_id.bytes
        row = self.changed.get(key) or _load(self.c, key)
        assert row is not None, f"{type(e).__name__} before its complaint was filed"
        self.changed[key] = row
        row.events += 1
        row.timeline.append([micros(e.occurred_at), position, change])
        return row

    def flush(self) -> None:
        for row in self.changed.values():
            row.timeline.sort()
        if self.changed:
            self.c.executemany(_UPSERT, [_stored(row) for row in self.changed.values()])


def _stored(row: Row) -> tuple[Any, ...]:
    return (
        row.aggregate,
        row.complaint,
        row.channel,
        json.dumps(row.about, ensure_ascii=False, sort_keys=True),
        row.summary,
        row.household,
        json.dumps(row.groups),
        row.filed_at,
        row.acknowledged_at,
        row.resolved_at,
        row.finding,
        row.clock_from,
        row.events,
        msgpack.packb(row.timeline),
    )


def every(c: Cursor, household: str | None = None) -> list[Row]:
    """Every complaint's row (about `household`, if given), oldest first."""
    if household is None:
        c.execute("SELECT * FROM rm_complaints ORDER BY filed_at, complaint")
    else:
        c.execute(
            "SELECT * FROM rm_complaints WHERE household = ? ORDER BY filed_at, complaint",
            (household,),
        )
    return [_row_of(r) for r in c.fetchall()]


def transitions(row: Row) -> list[tuple[int, int]]:
    """When the complaint opened (+1) and closed (-1), in business-time order."""
    return [(at, change) for at, _, change in row.timeline if change]


def register(
    c: Cursor,
    now: datetime,
    acknowledge_days: int,
    resolve_days: int,
    household: str | None = None,
) -> list[dict[str, Any]]:
    """Every complaint (about `household`, if given), oldest first, with its deadlines
    and whether it is overdue now."""
    return [entry(row, now, acknowledge_days, resolve_days) for row in every(c, household)]


def load_by_code(c: Cursor, code: str) -> Row | None:
    c.execute("SELECT aggregate FROM rm_complaints WHERE complaint = ?", (code,))
    found = c.fetchone()
    return _load(c, found[0]) if found is not None else None


def entry(row: Row, now: datetime, acknowledge_days: int, resolve_days: int) -> dict[str, Any]:
    """One complaint as the register lists it: its deadlines, and what is overdue now."""
    filed = datetime.fromisoformat(row.filed_at)
    clock = datetime.fromisoformat(row.clock_from)
    acknowledge_by = filed + timedelta(days=acknowledge_days)
    resolve_by = clock + timedelta(days=resolve_days)
    is_open = row.resolved_at is None
    overdue, due_soon = [], []
    if is_open and row.acknowledged_at is None:
        if now > acknowledge_by:
            overdue.append("acknowledge")
        elif now > acknowledge_by - DUE_SOON:
            due_soon.append("acknowledge")
    if is_open:
        if now > resolve_by:
            overdue.append("resolve")
        elif now > resolve_by - DUE_SOON:
            due_soon.append("resolve")
    return {
        "complaint": row.complaint,
        "channel": row.channel,
        "about": row.about,
        "groups": row.groups,
        "summary": row.summary,
        "filed_at": row.filed_at,
        "acknowledged_at": row.acknowledged_at,
        "resolved_at": row.resolved_at,
        "finding": row.finding,
        "status": "open" if is_open else "resolved",
        "acknowledge_by": acknowledge_by.isoformat(),
        "resolve_by": resolve_by.isoformat(),
        "overdue": overdue,
        "due_soon": due_soon,
    }
