"""What every event of the ledger records besides its own facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate


class Recorded(Aggregate.Event):
    """Who did it (actor), who entered it into the ledger (entered_by: the
    authenticated staff member who submitted the command, the actor themselves
    unless the built-in admin entered someone else's work), when it happened in the
    world (occurred_at, business time), and the id of the command that did it. When
    the ledger learned of it (recorded_at) is the library's own `timestamp`."""

    actor: str
    occurred_at: datetime
    command: str
    entered_by: str

    # 2: entered_by. Events stored before it are read as entered by their actor; their
    # stored bytes, and so the leaves and roots of the log, stay as they were.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # Before credentials, whoever typed a command named its actor: the record
        # knows no other enterer.
        state["entered_by"] = state["actor"]

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp


class Stamp:
    """The provenance of one command, given to every event it records."""

    __slots__ = ("actor", "at", "command", "entered_by", "recorded_at")

    def __init__(
        self,
        actor: str,
        at: datetime,
        command: str,
        recorded_at: datetime,
        entered_by: str | None = None,
    ) -> None:
        self.actor = actor
        self.at = at
        self.command = command
        self.recorded_at = recorded_at
        self.entered_by = actor if entered_by is None else entered_by

    @property
    def on_behalf(self) -> bool:
        """Entered by someone other than the actor (the built-in admin's bulk entry)."""
        return self.entered_by != self.actor

    def fields(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "occurred_at": self.at,
            "command": self.command,
            "entered_by": self.entered_by,
            "timestamp": self.recorded_at,
        }
