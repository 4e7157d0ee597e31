"""The programme's set-up: staff, work groups and the published policy versions."""

from __future__ import annotations

from datetime import datetime
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

    def __init__(
        self, staff: str, name: str, role: str, group: str | None, occurred_at: datetime
    ) -> None:
        self.staff = staff
        self.name = name
        self.role = role
        self.group = group
        self.enrolled_at = occurred_at

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

    def as_actor(self, at: datetime) -> Actor:
        """The staff member as the rules see them at a business time; nobody acts
        before they were enrolled."""
        if at < self.enrolled_at:
            raise RuleViolation(
                f"{self.staff} was enrolled on {self.enrolled_at.isoformat()}, after "
                f"{at.isoformat()}; check the time, or the actor."
            )
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

    def __init__(self, group: str, name: str, leader: str | None, occurred_at: datetime) -> None:
        self.group = group
        self.name = name
        self.leader = leader
        self.created_at = occurred_at

    def check_exists_by(self, at: datetime) -> None:
        if at < self.created_at:
            raise RuleViolation(
                f"group {self.group} was created on {self.created_at.isoformat()}, after "
                f"{at.isoformat()}; check the time."
            )

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
            policy.published_at.append(self.occurred_at)

    def __init__(self, policy: str, document: dict[str, Any], occurred_at: datetime) -> None:
        self.policy = policy
        self.documents: list[dict[str, Any]] = [document]
        self.published_at: list[datetime] = [occurred_at]

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

    def check_published_by(self, version: int, at: datetime) -> None:
        """A plan applies only once it is published (DOMAIN.md, the law's hooks)."""
        self._check_version(version)
        published = self.published_at[version - 1]
        if at < published:
            raise RuleViolation(
                f"policy {self.policy} version {version} was published on "
                f"{published.isoformat()}, after {at.isoformat()}; a policy applies only "
                "once published."
            )

    @property
    def latest_version(self) -> int:
        return len(self.documents)

    def latest(self) -> PolicyVersion:
        return self.version_of(self.latest_version)

    def version_of(self, version: int) -> PolicyVersion:
        self._check_version(version)
        return PolicyVersion.from_document(self.documents[version - 1], stored=True)

    def _check_version(self, version: int) -> None:
        if not 1 <= version <= len(self.documents):
            raise RuleViolation(
                f"policy {self.policy} has no version {version}; "
                f"it has versions 1 to {len(self.documents)}."
            )
