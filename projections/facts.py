"""A stored event as the read models consume it: its position, topic, aggregate,
version and decoded state, without constructing the domain event object (the
projections rebuild at the speed of decoding)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Fact(NamedTuple):
    position: int  # the notification id
    topic: str
    aggregate: UUID
    version: int
    state: dict[str, Any]

    @property
    def at(self) -> datetime:
        occurred: datetime = self.state["occurred_at"]
        return occurred


def micros(moment: datetime) -> int:
    """A business time as whole microseconds since the epoch: sortable and exact."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
