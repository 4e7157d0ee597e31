"""The programme's set-up: staff, work groups and the published policy versions."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.errors import InvalidInput, RuleViolation
from domain.ids import group_id, policy_id, staff_id
from domain.policy import PolicyVersion
from domain.roles import Actor


class Staff(Aggregate):
    TOPIC = "oneruler:Staff"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Enrolled(Event, Aggregate.Created):
        TOPIC = "oneruler:Staff.Enrolled"
        staff: str
        name: str
        role: str
        group: str | None

    Created = Enrolled

    def __init__(self, staff: str, name: str, role: str, group: str | None) -> None:
        self.staff = staff
        self.name = name
        self.role = role
        self.group = group

    @classmethod
    def enroll(cls, stamp: Stamp, staff: str, name: str, role: str, group: str | None) -> Staff:
        if role == "clerk" and group is None:
            raise InvalidInput(f"clerk {staff} needs a group: add the group they work for.")
        return cls._create(
            cls.Enrolled,
            id=staff_id(staff),
            staff=staff,
            name=name,
            role=role,
            group=group,
            **stamp.fields(),
        )

    def as_actor(self) -> Actor:
        return Actor(staff=self.staff, role=self.role, group=self.group)


class WorkGroup(Aggregate):
    TOPIC = "oneruler:WorkGroup"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Created(Event, Aggregate.Created):
        TOPIC = "oneruler:WorkGroup.Created"
        group: str
        name: str
        leader: str | None

    def __init__(self, group: str, name: str, leader: str | None) -> None:
        self.group = group
        self.name = name
        self.leader = leader

    @classmethod
    def create(cls, stamp: Stamp, group: str, name: str, leader: str | None) -> WorkGroup:
        return cls._create(
            cls.Created, id=group_id(group), group=group, name=name, leader=leader, **stamp.fields()
        )


class Policy(Aggregate):
    """A compensation policy: its versions, each published once and never edited."""

    TOPIC = "oneruler:Policy"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Published(Event, Aggregate.Created):
        TOPIC = "oneruler:Policy.Published"
        policy: str
        document: dict[str, Any]

    Created = Published

    class NewVersionPublished(Event):
        TOPIC = "oneruler:Policy.NewVersionPublished"
        document: dict[str, Any]

        def apply(self, policy: Policy) -> None:
            policy.documents.append(self.document)

    def __init__(self, policy: str, document: dict[str, Any]) -> None:
        self.policy = policy
        self.documents: list[dict[str, Any]] = [document]

    @classmethod
    def publish_first(cls, stamp: Stamp, document: dict[str, Any]) -> Policy:
        parsed = PolicyVersion.from_document(document)
        if parsed.version != 1:
            raise RuleViolation(
                f"policy {parsed.policy} has no version yet; publish version 1 first."
            )
        return cls._create(
            cls.Published,
            id=policy_id(parsed.policy),
            policy=parsed.policy,
            document=document,
            **stamp.fields(),
        )

    def publish(self, stamp: Stamp, document: dict[str, Any]) -> None:
        parsed = PolicyVersion.from_document(document)
        self.check_next_version(parsed)
        self.trigger_event(self.NewVersionPublished, document=document, **stamp.fields())

    def check_next_version(self, parsed: PolicyVersion) -> None:
        latest = self.latest()
        if parsed.version != latest.version + 1:
            raise RuleViolation(
                f"policy {self.policy} is at version {latest.version}; a new version must be "
                f"{latest.version + 1}, and a published version is never changed."
            )
        if parsed.effective < latest.effective:
            raise RuleViolation(
                f"version {parsed.version} of policy {self.policy} would take effect before "
                f"version {latest.version} ({latest.effective.isoformat()}); give a later date."
            )

    @property
    def latest_version(self) -> int:
        return len(self.documents)

    def latest(self) -> PolicyVersion:
        return self.version_of(self.latest_version)

    def version_of(self, version: int) -> PolicyVersion:
        if not 1 <= version <= len(self.documents):
            raise RuleViolation(
                f"policy {self.policy} has no version {version}; "
                f"it has versions 1 to {len(self.documents)}."
            )
        return PolicyVersion.from_document(self.documents[version - 1])
