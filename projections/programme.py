"""The programme's set-up as a read model: published policy versions, work groups
and staff, for the other read models and the reports."""

from __future__ import annotations

import json
from functools import lru_cache, singledispatchmethod
from typing import Any

from domain.policy import PolicyVersion
from domain.programme import Policy, Staff, WorkGroup
from projections.model import Cursor, ReadModel, micros


class Programme(ReadModel):
    """rm_policy_versions, rm_groups, rm_staff. What a batch adds is looked up in
    memory until it is written, so that later events of the same batch find it."""

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_policy_versions ("
        "policy TEXT NOT NULL, version BIGINT NOT NULL, effective TEXT NOT NULL, "
        "document TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (policy, version))",
        "CREATE TABLE IF NOT EXISTS rm_groups ("
        "grp TEXT PRIMARY KEY, name TEXT NOT NULL, leader TEXT, created_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_staff ("
        "staff TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, grp TEXT)",
        # Whose record each staff aggregate is: a role change or a transfer names
        # only its aggregate.
        "CREATE TABLE IF NOT EXISTS rm_staff_ids ("
        "aggregate BLOB PRIMARY KEY, staff TEXT NOT NULL UNIQUE)",
        # Each staff member's groups over time: from `since` (business time), as
        # recorded at `position` (an enrolment, then each transfer).
        "CREATE TABLE IF NOT EXISTS rm_staff_groups ("
        "staff TEXT NOT NULL, position BIGINT NOT NULL, since BIGINT NOT NULL, grp TEXT, "
        "PRIMARY KEY (staff, position))",
    )

    def __init__(self) -> None:
        super().__init__()
        self._versions: list[tuple[Any, ...]] = []
        self._groups: list[tuple[Any, ...]] = []
        # Staff enrolled in this batch, and staff whose role or group changed in it,
        # by staff id: [staff, name, role, group].
        self._staff: dict[str, list[Any]] = {}
        self._changed: dict[str, list[Any]] = {}
        self._ids: dict[bytes, str] = {}
        # [staff, position, since, group] of this batch's enrolments and transfers.
        self._moves: list[tuple[str, int, int, str | None]] = []
        # Versions once read or taken in: a published version never changes.
        self._policies: dict[tuple[str, int], PolicyVersion] = {}

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self._versions, self._groups, self._staff = [], [], {}
        self._changed, self._ids, self._moves = {}, {}, []

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _published(self, e: Policy.Published | Policy.NewVersionPublished, position: int) -> None:
        document = e.document
        text = json.dumps(document, ensure_ascii=False, sort_keys=True)
        self._versions.append(
            (document["policy"], document["version"], document["effective"], text, position)
        )
        self._policies[document["policy"], document["version"]] = parse_policy(text)

    @handle.register
    def _group(self, e: WorkGroup.Created, position: int) -> None:
        self._groups.append((e.group, e.name, e.leader, micros(e.occurred_at)))

    @handle.register
    def _staff_enrolled(self, e: Staff.Enrolled, position: int) -> None:
        self._staff[e.staff] = [e.staff, e.name, e.role, e.group]
        self._ids[e.originator_id.bytes] = e.staff
        self._moves.append((e.staff, position, micros(e.occurred_at), e.group))

    @handle.register
    def _role_changed(self, e: Staff.RoleChanged, position: int) -> None:
        self._record_of(e)[2] = e.role

    @handle.register
    def _transferred(self, e: Staff.Transferred, position: int) -> None:
        record = self._record_of(e)
        record[3] = e.group
        self._moves.append((record[0], position, micros(e.occurred_at), e.group))

    def _record_of(self, e: Staff.Event) -> list[Any]:
        """The staff member's record as it stands, to change (enrolled in this batch,
        changed earlier in it, or as the table holds it)."""
        aggregate = e.originator_id.bytes
        staff = self._ids.get(aggregate)
        if staff is None:
            self.c.execute("SELECT staff FROM rm_staff_ids WHERE aggregate = ?", (aggregate,))
            staff = self.c.fetchone()[0]
            self._ids[aggregate] = staff
        if staff in self._staff:
            return self._staff[staff]
        if staff not in self._changed:
            self.c.execute("SELECT staff, name, role, grp FROM rm_staff WHERE staff = ?", (staff,))
            self._changed[staff] = list(self.c.fetchone())
        return self._changed[staff]

    def flush(self) -> None:
        # A batch that only changed a role (no move, no enrolment) has that to write too.
        if not (self._versions or self._groups or self._staff or self._moves or self._changed):
            return
        enrolled = [
            (aggregate, staff) for aggregate, staff in self._ids.items() if staff in self._staff
        ]
        for statement, rows in (
            ("INSERT INTO rm_policy_versions VALUES (?, ?, ?, ?, ?)", self._versions),
            ("INSERT INTO rm_groups VALUES (?, ?, ?, ?)", self._groups),
            ("INSERT INTO rm_staff VALUES (?, ?, ?, ?)", list(self._staff.values())),
            ("INSERT INTO rm_staff_ids VALUES (?, ?)", enrolled),
            ("INSERT INTO rm_staff_groups VALUES (?, ?, ?, ?)", self._moves),
            (
                "UPDATE rm_staff SET role = ?, grp = ? WHERE staff = ?",
                [(role, group, staff) for staff, _, role, group in self._changed.values()],
            ),
        ):
            if rows:
                self.c.executemany(statement, rows)
        self._versions, self._groups, self._staff = [], [], {}
        self._changed, self._ids, self._moves = {}, {}, []

    def forget(self) -> None:
        self._policies.clear()

    def policy(self, policy: str, version: int) -> PolicyVersion | None:
        """A published policy version (None: not published)."""
        key = (policy, version)
        found = self._policies.get(key)
        if found is None:
            found = policy_version(self.c, policy, version)
            if found is not None:
                self._policies[key] = found
        return found

    def staff_group(self, staff: str, at: int, position: int) -> str | None:
        """The staff member's group at business time `at` (microseconds), as the log
        had recorded it before `position`: following and a rebuild (which reads the
        set-up first) agree, and a transfer entered later changes no earlier act."""
        self.c.execute(
            "SELECT position, since, grp FROM rm_staff_groups WHERE staff = ? AND position < ?",
            (staff, position),
        )
        moves = [tuple(row) for row in self.c.fetchall()]
        moves += [m[1:] for m in self._moves if m[0] == staff and m[1] < position]
        return group_at(moves, at)


@lru_cache(maxsize=256)
def parse_policy(document: str) -> PolicyVersion:
    return PolicyVersion.from_document(json.loads(document), stored=True)


def policy_version(c: Cursor, policy: str, version: int) -> PolicyVersion | None:
    c.execute(
        "SELECT document FROM rm_policy_versions WHERE policy = ? AND version = ?",
        (policy, version),
    )
    row = c.fetchone()
    return parse_policy(row[0]) if row else None


def latest_policy(c: Cursor) -> PolicyVersion | None:
    """The most recently published version of any policy."""
    c.execute("SELECT document FROM rm_policy_versions ORDER BY position DESC LIMIT 1")
    row = c.fetchone()
    return parse_policy(row[0]) if row else None


def policy_documents(c: Cursor) -> list[str]:
    c.execute("SELECT document FROM rm_policy_versions ORDER BY policy, version")
    return [row[0] for row in c.fetchall()]


def current_group(c: Cursor, staff: str) -> str | None:
    """The work group a staff member belongs to now (None: none, or not enrolled)."""
    c.execute("SELECT grp FROM rm_staff WHERE staff = ?", (staff,))
    row = c.fetchone()
    return row[0] if row else None


def group_at(moves: list[tuple[int, int, str | None]], at: int) -> str | None:
    """Of (position, since, group) moves, the group in force at `at`: the latest move
    in business time by then (the later recorded at a tie); before the first, the
    group enrolled in (None: no record)."""
    if not moves:
        return None
    by_then = [m for m in moves if m[1] <= at]
    chosen = max(by_then, key=lambda m: (m[1], m[0])) if by_then else min(moves)
    return chosen[2]


def staff_role(c: Cursor, staff: str) -> str | None:
    """The staff member's role now (None: not enrolled)."""
    c.execute("SELECT role FROM rm_staff WHERE staff = ?", (staff,))
    row = c.fetchone()
    return row[0] if row else None


def has_group(c: Cursor, group: str) -> bool:
    c.execute("SELECT 1 FROM rm_groups WHERE grp = ?", (group,))
    return c.fetchone() is not None


def staff_group(c: Cursor, staff: str) -> str | None:
    """The staff member's work group now (None: none, or unknown)."""
    c.execute("SELECT grp FROM rm_staff WHERE staff = ?", (staff,))
    row = c.fetchone()
    return row[0] if row else None


def groups(c: Cursor, created_by: int | None = None) -> list[tuple[str, str]]:
    """Work groups in id order (those created by a business time, if given)."""
    if created_by is None:
        c.execute("SELECT grp, name FROM rm_groups ORDER BY grp")
    else:
        c.execute(
            "SELECT grp, name FROM rm_groups WHERE created_at <= ? ORDER BY grp", (created_by,)
        )
    return [(row[0], row[1]) for row in c.fetchall()]
