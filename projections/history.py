"""A household's history: its events and those of the complaints about it, in
business-time order, as data for people and for JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.base import Recorded
from domain.policy import PolicyVersion

PolicyLookup = Callable[[str, int], PolicyVersion]

_STANDARD = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "occurred_at",
        "command",
        "entered_by",
    }
)


def event_type(event: Recorded) -> str:
    """The stored name of an event, such as Household.AgreementSigned."""
    return str(type(event).TOPIC).partition(":")[2]  # type: ignore[attr-defined]


def plain(value: Any) -> Any:
    """An event's field as JSON-ready data (yuan and quantities as strings)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def event_data(event: Recorded) -> dict[str, Any]:
    return {k: plain(v) for k, v in vars(event).items() if k not in _STANDARD}


def in_business_order(events: Iterable[Recorded], as_of: datetime | None) -> list[Recorded]:
    """Events up to as_of, ordered by when they happened; events that happened at
    the same moment keep the order in which the ledger recorded them."""
    kept = [e for e in events if as_of is None or e.occurred_at <= as_of]
    return sorted(kept, key=lambda e: e.occurred_at)  # sorted() is stable


def history(
    household: Sequence[Recorded], attached: Sequence[Recorded], as_of: datetime | None
) -> list[dict[str, Any]]:
    """Every event of the household and of its complaints, in business-time order."""
    rows = []
    for event in in_business_order([*household, *attached], as_of):
        rows.append(
            {
                "type": event_type(event),
                "version": event.originator_version,
                "occurred_at": event.occurred_at.isoformat(),
                "recorded_at": event.recorded_at.isoformat(),
                "actor": event.actor,
                "entered_by": event.entered_by,
                "command": event.command,
                "data": event_data(event),
            }
        )
    return rows
