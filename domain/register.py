"""The programme's register: the villages declared (households are registered only in
one of them) and the policies published (whose rates name the structure types a survey
may measure). One aggregate for the whole programme, so a typo is refused with the
nearest names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.errors import AlreadyExists, NotFound, RuleViolation
from domain.ids import register_id


def nearest(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The names most like name (a typo's likely meaning), best first; the first few
    of them all when none is alike."""
    known = sorted(set(names))
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.4)
    return close or known[:n]


def nearest_said(name: str, names: Iterable[str]) -> str:
    """ ", the nearest being A, B" or "" when there are none."""
    found = nearest(name, names)
    return f" (the nearest: {', '.join(found)})" if found else ""


class Register(Aggregate):
    TOPIC = "oneruler:Register"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Opened(Event, Aggregate.Created):
        TOPIC = "oneruler:Register.Opened"

    Created = Opened

    class VillageAdded(Event):
        TOPIC = "oneruler:Register.VillageAdded"
        village: str

        def apply(self, register: Register) -> None:
            register.villages[self.village] = self.occurred_at

    class PolicyListed(Event):
        TOPIC = "oneruler:Register.PolicyListed"
        policy: str

        def apply(self, register: Register) -> None:
            if self.policy not in register.policies:
                register.policies.append(self.policy)

    def __init__(self, occurred_at: datetime) -> None:
        self.opened_at = occurred_at
        self.villages: dict[str, datetime] = {}  # village: declared at
        self.policies: list[str] = []

    @classmethod
    def open(cls, stamp: Stamp) -> Register:
        return cls._create(cls.Opened, id=register_id(), **stamp.fields())

    def add_village(self, stamp: Stamp, village: str) -> None:
        if village in self.villages:
            raise AlreadyExists(f"village {village} is already declared.")
        self.trigger_event(self.VillageAdded, village=village, **stamp.fields())

    def list_policy(self, stamp: Stamp, policy: str) -> None:
        """Note a published policy (once), whose rates say what a survey may measure."""
        if policy not in self.policies:
            self.trigger_event(self.PolicyListed, policy=policy, **stamp.fields())

    def check_village(self, village: str, at: datetime) -> None:
        declared = self.villages.get(village)
        if declared is None:
            raise NotFound(
                f"village {village} is not declared{nearest_said(village, self.villages)}; "
                f"check the name, or declare it first (oneruler village add --village {village})."
            )
        if at < declared:
            raise RuleViolation(
                f"village {village} was declared on {declared.isoformat()}, after "
                f"{at.isoformat()}; check the time."
            )


def no_village_declared(village: str) -> NotFound:
    return NotFound(
        f"village {village} is not declared, and no village is yet; declare it first "
        f"(oneruler village add --village {village})."
    )
