"""The programme's set-up as a read model: published policy versions, work groups
and staff, for the other read models and the reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from domain.policy import PolicyVersion
from domain.programme import Policy, Staff, WorkGroup
from projections.facts import Fact, micros

TABLES = (
    "CREATE TABLE IF NOT EXISTS rm_policy_versions ("
    "policy TEXT NOT NULL, version BIGINT NOT NULL, effective TEXT NOT NULL, "
    "document TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (policy, version))",
    "CREATE TABLE IF NOT EXISTS rm_groups ("
    "grp TEXT PRIMARY KEY, name TEXT NOT NULL, leader TEXT, created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_staff ("
    "staff TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, grp TEXT)",
)
CLEAR = ("DELETE FROM rm_policy_versions", "DELETE FROM rm_groups", "DELETE FROM rm_staff")

TOPICS = (
    Policy.Published.TOPIC,
    Policy.NewVersionPublished.TOPIC,
    WorkGroup.Created.TOPIC,
    Staff.Enrolled.TOPIC,
)


def process(c: Any, facts: Sequence[Fact]) -> None:
    for fact in facts:
        state = fact.state
        if fact.topic in (Policy.Published.TOPIC, Policy.NewVersionPublished.TOPIC):
            document = state["document"]
            c.execute(
                "INSERT INTO rm_policy_versions VALUES (?, ?, ?, ?, ?)",
                (
                    document["policy"],
                    document["version"],
                    document["effective"],
                    json.dumps(document, ensure_ascii=False, sort_keys=True),
                    fact.position,
                ),
            )
        elif fact.topic == WorkGroup.Created.TOPIC:
            c.execute(
                "INSERT INTO rm_groups VALUES (?, ?, ?, ?)",
                (state["group"], state["name"], state["leader"], micros(fact.at)),
            )
        elif fact.topic == Staff.Enrolled.TOPIC:
            c.execute(
                "INSERT INTO rm_staff VALUES (?, ?, ?, ?)",
                (state["staff"], state["name"], state["role"], state["group"]),
            )


@lru_cache(maxsize=256)
def parse_policy(document: str) -> PolicyVersion:
    return PolicyVersion.from_document(json.loads(document), stored=True)


def policy_version(c: Any, policy: str, version: int) -> PolicyVersion | None:
    c.execute(
        "SELECT document FROM rm_policy_versions WHERE policy = ? AND version = ?",
        (policy, version),
    )
    row = c.fetchone()
    return parse_policy(row[0]) if row else None


def latest_policy(c: Any) -> PolicyVersion | None:
    """The most recently published version of any policy."""
    c.execute("SELECT document FROM rm_policy_versions ORDER BY position DESC LIMIT 1")
    row = c.fetchone()
    return parse_policy(row[0]) if row else None


def staff_group(c: Any, staff: str) -> str | None:
    c.execute("SELECT grp FROM rm_staff WHERE staff = ?", (staff,))
    row = c.fetchone()
    return row[0] if row else None


def groups(c: Any, created_by: int | None = None) -> list[tuple[str, str]]:
    """Work groups in id order (those created by a business time, if given)."""
    if created_by is None:
        c.execute("SELECT grp, name FROM rm_groups ORDER BY grp")
    else:
        c.execute(
            "SELECT grp, name FROM rm_groups WHERE created_at <= ? ORDER BY grp", (created_by,)
        )
    return [(row[0], row[1]) for row in c.fetchall()]
