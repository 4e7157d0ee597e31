"""The complaint register as a read model: every complaint with its subjects, the
groups it counts against, its clock, and whether it is open or overdue."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgpack

from domain.complaint import Complaint
from projections.facts import Fact, micros

TABLES = (
    "CREATE TABLE IF NOT EXISTS rm_complaints ("
    "aggregate BLOB PRIMARY KEY, complaint TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, "
    "about TEXT NOT NULL, summary TEXT NOT NULL, household TEXT, groups TEXT NOT NULL, "
    "filed_at TEXT NOT NULL, acknowledged_at TEXT, resolved_at TEXT, finding TEXT, "
    "clock_from TEXT NOT NULL, events BIGINT NOT NULL, timeline BLOB NOT NULL)",
)
CLEAR = ("DELETE FROM rm_complaints",)
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
TOPICS = (
    C.Filed.TOPIC,
    C.Acknowledged.TOPIC,
    C.NoteAdded.TOPIC,
    C.Resolved.TOPIC,
    C.Reopened.TOPIC,
)


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


def _load(c: Any, aggregate: bytes) -> Row | None:
    c.execute("SELECT * FROM rm_complaints WHERE aggregate = ?", (aggregate,))
    r = c.fetchone()
    if r is None:
        return None
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


def subject_of(c: Any, aggregate: bytes) -> tuple[str, str] | None:
    """(complaint, household) for a complaint about a household."""
    c.execute("SELECT complaint, household FROM rm_complaints WHERE aggregate = ?", (aggregate,))
    r = c.fetchone()
    return (r[0], r[1]) if r and r[1] is not None else None


def process(
    c: Any,
    facts: Sequence[Fact],
    household_group: Callable[[str], str | None],
    staff_group: Callable[[str], str | None],
) -> dict[bytes, Row]:
    rows: dict[bytes, Row] = {}
    for fact in facts:
        if fact.topic not in TOPICS:
            continue
        key = fact.aggregate.bytes
        s = fact.state
        at = fact.at.isoformat()
        if fact.topic == C.Filed.TOPIC:
            about = dict(s["about"])
            groups = {about["group"]} if "group" in about else set()
            if "household" in about:
                groups.add(household_group(about["household"]) or "")
            if "staff" in about:
                groups.add(staff_group(about["staff"]) or "")
            groups.discard("")
            rows[key] = Row(
                key,
                s["complaint"],
                s["channel"],
                about,
                s["summary"],
                about.get("household"),
                sorted(groups),
                at,
                None,
                None,
                None,
                at,
                1,
                [[micros(fact.at), fact.position, 1]],
            )
            continue
        row = rows.get(key) or _load(c, key)
        assert row is not None, f"{fact.topic} before its complaint was filed"
        rows[key] = row
        row.events += 1
        change = 0
        if fact.topic == C.Acknowledged.TOPIC:
            row.acknowledged_at = at
        elif fact.topic == C.Resolved.TOPIC:
            row.resolved_at, row.finding, change = at, s["finding"], -1
        elif fact.topic == C.Reopened.TOPIC:
            row.resolved_at, row.finding, row.clock_from, change = None, None, at, 1
        row.timeline.append([micros(fact.at), fact.position, change])
    for row in rows.values():
        row.timeline.sort()
        c.execute(
            _UPSERT,
            (
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
            ),
        )
    return rows


def transitions(row: Row) -> list[tuple[int, int]]:
    """When the complaint opened (+1) and closed (-1), in business-time order."""
    return [(at, change) for at, _, change in row.timeline if change]


def register(
    c: Any, now: datetime, acknowledge_days: int, resolve_days: int
) -> list[dict[str, Any]]:
    """Every complaint, oldest first, with its deadlines and whether it is overdue now."""
    c.execute("SELECT aggregate FROM rm_complaints ORDER BY filed_at, complaint")
    entries = []
    for (aggregate,) in c.fetchall():
        row = _load(c, aggregate)
        assert row is not None
        filed = datetime.fromisoformat(row.filed_at)
        clock = datetime.fromisoformat(row.clock_from)
        acknowledge_by = filed + timedelta(days=acknowledge_days)
        resolve_by = clock + timedelta(days=resolve_days)
        is_open = row.resolved_at is None
        overdue = []
        if is_open and row.acknowledged_at is None and now > acknowledge_by:
            overdue.append("acknowledge")
        if is_open and now > resolve_by:
            overdue.append("resolve")
        entries.append(
            {
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
            }
        )
    return entries
