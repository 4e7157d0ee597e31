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
    )

    def __init__(self) -> None:
        super().__init__()
        self._versions: list[tuple[Any, ...]] = []
        self._groups: list[tuple[Any, ...]] = []
        self._staff: dict[str, tuple[Any, ...]] = {}
        # Versions once read or taken in: a published version never changes.
        self._policies: dict[tuple[str, int], PolicyVersion] = {}

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self._versions, self._groups, self._staff = [], [], {}

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
        self._staff[e.staff] = (e.staff, e.name, e.role, e.group)

    def flush(self) -> None:
        if not (self._versions or self._groups or self._staff):
            return
        for statement, rows in (
            ("INSERT INTO rm_policy_versions VALUES (?, ?, ?, ?, ?)", self._versions),
            ("INSERT INTO rm_groups VALUES (?, ?, ?, ?)", self._groups),
            ("INSERT INTO rm_staff VALUES (?, ?, ?, ?)", list(self._staff.values())),
        ):
            if rows:
                self.c.executemany(statement, rows)
        self._versions, self._groups, self._staff = [], [], {}

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

    def staff_group(self, staff: str) -> str | None:
        enrolled = self._staff.get(staff)
        if enrolled is not None:
            group: str | None = enrolled[3]
            return group
        return staff_group(self.c, staff)


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


def staff_group(c: Cursor, staff: str) -> str | None:
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
