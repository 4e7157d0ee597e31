"""The programme's set-up: staff, work groups and the published policy versions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.errors import InvalidInput, PermissionDenied, RuleViolation
from domain.ids import group_id, policy_id, staff_id
from domain.policy import PolicyVersion
from domain.roles import Actor


@dataclass(frozen=True, slots=True)
class Standing:
    """A staff member's role and group, and whether suspended (and why), from a
    business time on."""

    since: datetime
    role: str
    group: str | None
    suspended: str | None = None


class Staff(Aggregate):
    """A staff member over time: enrolled with a role (and a group), then perhaps
    suspended, reinstated, given another role or transferred to another group. An
    act is judged by the standing in force at its business time."""

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

    class Suspended(Event):
        TOPIC = "oneruler:Staff.Suspended"
        reason: str

        def apply(self, staff: Staff) -> None:
            staff.change(self.occurred_at, suspended=self.reason)

    class Reinstated(Event):
        TOPIC = "oneruler:Staff.Reinstated"
        reason: str

        def apply(self, staff: Staff) -> None:
            staff.change(self.occurred_at, suspended=None)

    class RoleChanged(Event):
        TOPIC = "oneruler:Staff.RoleChanged"
        role: str
        reason: str

        def apply(self, staff: Staff) -> None:
            staff.change(self.occurred_at, role=self.role)

    class Transferred(Event):
        TOPIC = "oneruler:Staff.Transferred"
        group: str
        reason: str

        def apply(self, staff: Staff) -> None:
            staff.change(self.occurred_at, group=self.group)

    def __init__(
        self, staff: str, name: str, role: str, group: str | None, occurred_at: datetime
    ) -> None:
        self.staff = staff
        self.name = name
        self.enrolled_at = occurred_at
        # In business-time order: a change is never dated before the one it follows.
        self.standings: list[Standing] = [Standing(occurred_at, role, group)]

    def change(self, at: datetime, **changed: Any) -> None:
        self.standings.append(replace(self.standings[-1], since=at, **changed))

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

    # --- standing ------------------------------------------------------------------

    @property
    def current(self) -> Standing:
        return self.standings[-1]

    @property
    def role(self) -> str:
        return self.current.role

    @property
    def group(self) -> str | None:
        return self.current.group

    def standing_at(self, at: datetime) -> Standing:
        """The standing in force at a business time (from enrolment on)."""
        for standing in reversed(self.standings):
            if standing.since <= at:
                return standing
        return self.standings[0]

    def as_actor(self, at: datetime) -> Actor:
        """The staff member as the rules see them at a business time; nobody acts
        before they were enrolled, nor while suspended."""
        if at < self.enrolled_at:
            raise RuleViolation(
                f"{self.staff} was enrolled on {self.enrolled_at.isoformat()}, after "
                f"{at.isoformat()}; check the time, or the actor."
            )
        standing = self.standing_at(at)
        if standing.suspended is not None:
            raise PermissionDenied(
                f"{self.staff} was suspended on {standing.since.isoformat()} "
                f"({standing.suspended}) and may not act at {at.isoformat()}; they act "
                "again once reinstated."
            )
        return Actor(staff=self.staff, role=standing.role, group=standing.group)

    def check_may_enter(self) -> None:
        """Whether the staff member may enter commands now: not while suspended."""
        if self.current.suspended is not None:
            raise PermissionDenied(
                f"{self.staff} is suspended (since {self.current.since.isoformat()}: "
                f"{self.current.suspended}) and may not enter commands; they may once "
                "reinstated."
            )

    # --- changes over time ------------------------------------------------------------

    def suspend(self, stamp: Stamp, reason: str) -> None:
        self.check_change_at(stamp.at)
        if self.current.suspended is not None:
            raise RuleViolation(
                f"{self.staff} is already suspended (since {self.current.since.isoformat()})."
            )
        self.trigger_event(self.Suspended, reason=reason, **stamp.fields())

    def reinstate(self, stamp: Stamp, reason: str) -> None:
        self.check_change_at(stamp.at)
        if self.current.suspended is None:
            raise RuleViolation(
                f"{self.staff} is not suspended; only a suspended staff member is reinstated."
            )
        self.trigger_event(self.Reinstated, reason=reason, **stamp.fields())

    def change_role(self, stamp: Stamp, role: str, reason: str) -> None:
        self.check_change_at(stamp.at)
        if role == self.role:
            raise RuleViolation(f"{self.staff} is already {role} staff.")
        if role == "clerk" and self.group is None:
            raise RuleViolation(
                f"{self.staff} has no group, and a clerk needs one: transfer them to a group first."
            )
        self.trigger_event(self.RoleChanged, role=role, reason=reason, **stamp.fields())

    def transfer(self, stamp: Stamp, group: str, reason: str) -> None:
        self.check_change_at(stamp.at)
        if group == self.group:
            raise RuleViolation(f"{self.staff} is already in group {group}.")
        self.trigger_event(self.Transferred, group=group, reason=reason, **stamp.fields())

    def check_change_at(self, at: datetime) -> None:
        """A change of standing may not be dated before the last one: the rules then
        judge every act by the standing in force at its time."""
        if at < self.current.since:
            raise RuleViolation(
                f"{at.isoformat()} is before {self.staff}'s last change of standing "
                f"({self.current.since.isoformat()}); check the time."
            )


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
