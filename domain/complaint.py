"""A report to the oversight hotline: filed, acknowledged, investigated, resolved
with a finding, and perhaps reopened. Never deleted, never edited."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.errors import InvalidInput, PermissionDenied, RuleViolation
from domain.ids import complaint_id

CHANNELS = ("hotline", "visit", "letter", "online")
FINDINGS = ("substantiated", "unsubstantiated", "partial")
SUBJECTS = ("household", "group", "staff", "policy")

# Crockford's base 32: no I, L, O or U, so an id read out over the telephone is not
# misheard.
_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def contact_digest(salt: bytes, name: str | None, phone: str | None) -> str:
    """The salted digest of a caller's contact that a filing records: it shows that the
    contact kept beside the events is the one given at filing, yet, without the salt
    (kept with the contact, never in an event), cannot be searched for by trying every
    telephone number."""
    body = json.dumps([name, phone], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(salt + body.encode("utf-8")).hexdigest()


_PHONE = re.compile(r"\+?[0-9][0-9 -]{2,22}[0-9]")


def parse_phone(value: object, field: str) -> str:
    """A telephone number: digits, perhaps a leading +, spaces and dashes between."""
    if not isinstance(value, str) or not _PHONE.fullmatch(value.strip()):
        raise InvalidInput(
            f"{field} must be a telephone number of digits (a leading +, spaces and dashes "
            "allowed), such as 13812345678."
        )
    return value.strip()


def assigned_complaint_code(command_id: str) -> str:
    """The id the ledger gives a complaint filed without one: C-XXXX-XXXX, 40 bits of
    the SHA-256 of the filing command's id. Command ids are unique forever, so the same
    filing sent again names the same complaint, and two filings name two complaints
    unless their digests collide (about one chance in 5,000 for 20,000 complaints in one
    ledger): the store then refuses the second filing, as it refuses any complaint id
    used twice, and nothing is merged or lost."""
    n = int.from_bytes(hashlib.sha256(command_id.encode("utf-8")).digest()[:5], "big")
    digits = "".join(_DIGITS[(n >> shift) & 31] for shift in range(35, -1, -5))
    return f"C-{digits[:4]}-{digits[4:]}"


class Complaint(Aggregate):
    TOPIC = "oneruler:Complaint"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Filed(Event, Aggregate.Created):
        TOPIC = "oneruler:Complaint.Filed"
        complaint: str
        channel: str
        about: dict[str, str]
        summary: str
        # The caller's name and telephone are not in the event (which auditors receive
        # in bundles): only this salted digest of them, which ties the contact kept
        # beside the events (docs/security.md) to the filing. None: no caller given.
        caller: str | None

        # 3: caller. A filing stored before it had no caller.
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["caller"] = None

    Created = Filed

    class Assigned(Event):
        """Given to a supervisor to investigate."""

        TOPIC = "oneruler:Complaint.Assigned"
        assignee: str

        def apply(self, complaint: Complaint) -> None:
            complaint.assignee = self.assignee

    class Acknowledged(Event):
        TOPIC = "oneruler:Complaint.Acknowledged"
        note: str | None

        def apply(self, complaint: Complaint) -> None:
            complaint.acknowledged_at = self.occurred_at
            complaint.last_change_at = self.occurred_at

    class NoteAdded(Event):
        TOPIC = "oneruler:Complaint.NoteAdded"
        text: str

    class Resolved(Event):
        TOPIC = "oneruler:Complaint.Resolved"
        finding: str
        outcome: str

        def apply(self, complaint: Complaint) -> None:
            complaint.resolved_at = self.occurred_at
            complaint.finding = self.finding
            complaint.last_change_at = self.occurred_at
            complaint.openings.append((self.occurred_at, False))

    class Reopened(Event):
        TOPIC = "oneruler:Complaint.Reopened"
        reason: str

        def apply(self, complaint: Complaint) -> None:
            complaint.resolved_at = None
            complaint.finding = None
            complaint.last_change_at = self.occurred_at
            complaint.openings.append((self.occurred_at, True))

    def __init__(
        self,
        complaint: str,
        channel: str,
        about: dict[str, str],
        summary: str,
        caller: str | None,
        occurred_at: datetime,
    ) -> None:
        self.code = complaint
        self.assignee: str | None = None
        self.about = about
        self.filed_at = occurred_at
        self.last_change_at = occurred_at
        self.acknowledged_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.finding: str | None = None
        # When it opened (True) and closed (False), in business-time order.
        self.openings: list[tuple[datetime, bool]] = [(occurred_at, True)]

    @classmethod
    def file(
        cls,
        stamp: Stamp,
        complaint: str,
        channel: str,
        about: dict[str, str],
        summary: str,
        caller: str | None = None,
    ) -> Complaint:
        """caller: the salted digest of the caller's contact, if one was given."""
        return cls._create(
            cls.Filed,
            id=complaint_id(complaint),
            complaint=complaint,
            channel=channel,
            about=about,
            summary=summary,
            caller=caller,
            **stamp.fields(),
        )

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def is_open_at(self, at: datetime) -> bool:
        """Whether the complaint was open at a business time (not yet filed: no)."""
        state = False
        for when, opened in self.openings:
            if when <= at:
                state = opened
        return state

    def acknowledge(self, stamp: Stamp, note: str | None = None) -> None:
        self.check_not_about(stamp, "acknowledge")
        self.check_open("acknowledge")
        if self.acknowledged_at is not None:
            raise RuleViolation(f"complaint {self.code} was already acknowledged.")
        self.check_not_before_last_change(stamp.at)
        self.trigger_event(self.Acknowledged, note=note, **stamp.fields())

    def add_note(self, stamp: Stamp, text: str) -> None:
        self.check_not_about(stamp, "add to")
        self.check_not_before(stamp.at)
        self.trigger_event(self.NoteAdded, text=text, **stamp.fields())

    def assign(self, stamp: Stamp, assignee: str) -> None:
        """Give the complaint to a supervisor (the use case checks that the assignee is
        one at the time): never to the staff member it is about, nor by them."""
        self.check_not_about(stamp, "assign")
        subject = self.about.get("staff")
        if subject == assignee:
            raise PermissionDenied(
                f"complaint {self.code} is about {assignee}, who may not investigate it: "
                "nobody handles a complaint about themselves; assign another supervisor."
            )
        self.check_open("assign")
        if self.assignee == assignee:
            raise RuleViolation(f"complaint {self.code} is already assigned to {assignee}.")
        self.check_not_before(stamp.at)
        self.trigger_event(self.Assigned, assignee=assignee, **stamp.fields())

    def resolve(self, stamp: Stamp, finding: str, outcome: str) -> None:
        self.check_not_about(stamp, "resolve")
        self.check_open("resolve")
        self.check_not_before_last_change(stamp.at)
        self.trigger_event(self.Resolved, finding=finding, outcome=outcome, **stamp.fields())

    def reopen(self, stamp: Stamp, reason: str) -> None:
        if self.is_open:
            raise RuleViolation(
                f"complaint {self.code} is open; only a resolved complaint can be reopened."
            )
        self.check_not_before_last_change(stamp.at)
        self.trigger_event(self.Reopened, reason=reason, **stamp.fields())

    def check_not_about(self, stamp: Stamp, to_do: str) -> None:
        """Nobody acknowledges, adds to or resolves a complaint about themselves, as
        its actor or as whoever entered it."""
        subject = self.about.get("staff")
        if subject is not None and subject in (stamp.actor, stamp.entered_by):
            raise PermissionDenied(
                f"complaint {self.code} is about {subject}, who may not {to_do} it: nobody "
                "handles a complaint about themselves; someone else must."
            )

    def check_open(self, to_do: str) -> None:
        if not self.is_open:
            raise RuleViolation(
                f"complaint {self.code} is resolved; reopen it before you {to_do} it."
            )

    def check_not_before_last_change(self, at: datetime) -> None:
        """A change of status may not be dated before the last one: business time
        runs forward along a complaint's course."""
        if self.last_change_at == self.filed_at:
            self.check_not_before(at)
        elif at < self.last_change_at:
            raise RuleViolation(
                f"{at.isoformat()} is before the last change of complaint {self.code} "
                f"({self.last_change_at.isoformat()}); check the time."
            )

    def check_not_before(self, at: datetime) -> None:
        if at < self.filed_at:
            raise RuleViolation(
                f"{at.isoformat()} is before complaint {self.code} was filed "
                f"({self.filed_at.isoformat()}); check the time."
            )
