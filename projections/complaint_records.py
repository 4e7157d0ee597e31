"""Each complaint's record as the hotline and supervisors read it back: every event
with who and when (the filing, the acknowledgement, notes, assignments, resolutions,
reopenings), who it is assigned to now, and the salted digest of its caller's contact
(the contact itself is kept beside the events, not in them: docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import singledispatchmethod
from typing import Any

from domain.complaint import Complaint
from projections.model import Cursor, ReadModel, micros

C = Complaint
# Up to this many complaints are looked up by code; more, by reading them all.
_FEW = 100


class ComplaintRecords(ReadModel):
    """rm_complaint_records: one row a complaint; `record` is a JSON list of
    [business time (microseconds), position, entry], in that order."""

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_complaint_records ("
        "aggregate BLOB PRIMARY KEY, complaint TEXT NOT NULL UNIQUE, assignee TEXT, "
        "caller TEXT, record TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_complaint_records_assignee "
        "ON rm_complaint_records (assignee)",
    )

    def __init__(self) -> None:
        super().__init__()
        # The rows this batch changed, by aggregate: [complaint, assignee, caller, record].
        self.changed: dict[bytes, list[Any]] = {}

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
        self.changed[e.originator_id.bytes] = [e.complaint, None, e.caller, []]
        self._add(e, position, _entry(e, "filed", summary=e.summary))

    @handle.register
    def _acknowledged(self, e: C.Acknowledged, position: int) -> None:
        self._add(e, position, _entry(e, "acknowledged", note=e.note))

    @handle.register
    def _noted(self, e: C.NoteAdded, position: int) -> None:
        self._add(e, position, _entry(e, "note", text=e.text))

    @handle.register
    def _assigned(self, e: C.Assigned, position: int) -> None:
        self._add(e, position, _entry(e, "assigned", assignee=e.assignee))[1] = e.assignee

    @handle.register
    def _resolved(self, e: C.Resolved, position: int) -> None:
        self._add(e, position, _entry(e, "resolved", finding=e.finding, outcome=e.outcome))

    @handle.register
    def _reopened(self, e: C.Reopened, position: int) -> None:
        self._add(e, position, _entry(e, "reopened", reason=e.reason))

    def _add(self, e: C.Event, position: int, entry: dict[str, Any]) -> list[Any]:
        """The complaint's row, with the event in its record."""
        key = e.originator_id.bytes
        row = self.changed.get(key)
        if row is None:
            self.c.execute(
                "SELECT complaint, assignee, caller, record FROM rm_complaint_records "
                "WHERE aggregate = ?",
                (key,),
            )
            stored = self.c.fetchone()
            assert stored is not None, f"{type(e).__name__} before its complaint was filed"
            row = self.changed[key] = [stored[0], stored[1], stored[2], json.loads(stored[3])]
        row[3].append([micros(e.occurred_at), position, entry])
        return row

    def flush(self) -> None:
        if self.changed:
            self.c.executemany(
                "INSERT INTO rm_complaint_records VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (aggregate) DO UPDATE SET assignee = excluded.assignee, "
                "caller = excluded.caller, record = excluded.record",
                [
                    (key, code, assignee, caller,
                     json.dumps(sorted(record, key=_order), ensure_ascii=False))
                    for key, (code, assignee, caller, record) in sorted(self.changed.items())
                ],
            )  # fmt: skip


def _order(item: list[Any]) -> tuple[int, int]:
    return item[0], item[1]


def _entry(e: C.Event, kind: str, **fields: Any) -> dict[str, Any]:
    """One event as the complaint's record shows it."""
    return {
        "event": kind,
        "occurred_at": e.occurred_at.isoformat(),
        "actor": e.actor,
        "entered_by": e.entered_by,
        "recorded_at": e.recorded_at.isoformat(),
        **fields,
    }


def assignees(c: Cursor, codes: Sequence[str] | None = None) -> dict[str, str]:
    """Who each assigned complaint (of `codes`, if given) is assigned to now."""
    if codes is not None and len(codes) <= _FEW:
        if not codes:
            return {}
        c.execute(
            "SELECT complaint, assignee FROM rm_complaint_records WHERE assignee IS NOT NULL "
            f"AND complaint IN ({', '.join('?' * len(codes))})",
            tuple(codes),
        )
    else:
        c.execute("SELECT complaint, assignee FROM rm_complaint_records WHERE assignee IS NOT NULL")
    return {str(code): str(assignee) for code, assignee in c.fetchall()}


def record(c: Cursor, code: str) -> tuple[str | None, str | None, list[dict[str, Any]]] | None:
    """A complaint's assignee, caller digest and every event as its record shows it, in
    business-time order (None: no such complaint)."""
    c.execute(
        "SELECT assignee, caller, record FROM rm_complaint_records WHERE complaint = ?", (code,)
    )
    found = c.fetchone()
    if found is None:
        return None
    return found[0], found[1], [entry for _, _, entry in json.loads(found[2])]


def drawn_out(events: list[dict[str, Any]], resolved: bool) -> dict[str, Any]:
    """The acknowledgement, notes, assignments, latest resolution (while resolved),
    resolutions and reopenings, drawn out of a complaint's record."""

    def of(kind: str, *fields: str) -> list[dict[str, Any]]:
        keys = ("occurred_at", "actor", *fields)
        return [{k: e[k] for k in keys} for e in events if e["event"] == kind]

    acknowledged = of("acknowledged", "note")
    resolutions = of("resolved", "finding", "outcome")
    return {
        "acknowledgement": acknowledged[0] if acknowledged else None,
        "notes": of("note", "text"),
        "assignments": of("assigned", "assignee"),
        "resolution": resolutions[-1] if resolutions and resolved else None,
        "resolutions": resolutions,
        "reopenings": of("reopened", "reason"),
    }
