"""What every event of the ledger records besides its own facts."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate


class Recorded(Aggregate.Event):
    """Who did it (actor), when it happened in the world (occurred_at, business
    time), and the id of the command that did it. When the ledger learned of it
    (recorded_at) is the library's own `timestamp`."""

    actor: str
    occurred_at: datetime
    command: str

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp


class Stamp:
    """The provenance of one command, given to every event it records."""

    __slots__ = ("actor", "at", "command", "recorded_at")

    def __init__(self, actor: str, at: datetime, command: str, recorded_at: datetime) -> None:
        self.actor = actor
        self.at = at
        self.command = command
        self.recorded_at = recorded_at

    def fields(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "occurred_at": self.at,
            "command": self.command,
            "timestamp": self.recorded_at,
        }
