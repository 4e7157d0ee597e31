"""What the ledger had recorded by a moment (`--known-at`): the position of the last
event it had recorded by then. The ledger records in order, each event stamped with
the ledger's clock when it is recorded, so the events recorded by a moment are those
up to a position; it is found by a binary search over the stored events' times."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import domain.account  # noqa: F401  (its events' topics: every stored event is decoded)
from ledger.application import Ledger

# Events looked at from a position to find one the ledger recorded (the log's own
# map heads, between them, carry no recorded time).
_LOOK = 16


def known_position(ledger: Ledger, at: datetime) -> int:
    """The position (notification id) of the last event recorded by at; 0: none."""
    recorder = ledger.recorder
    low, high = 0, recorder.max_notification_id() or 0
    # Invariant: every event up to low was recorded by at; none after high was.
    while low < high:
        middle = (low + high + 1) // 2
        found = _first_recorded(ledger, middle, high)
        if found is None:
            high = middle - 1
            continue
        position, recorded = found
        if recorded <= at:
            low = position
        else:
            high = middle - 1
    return low


def _first_recorded(ledger: Ledger, start: int, stop: int) -> tuple[int, datetime] | None:
    """The first event from start (up to stop) with a recorded time, and that time."""
    while start <= stop:
        notifications = ledger.recorder.select_notifications(start, _LOOK, stop=stop)
        if not notifications:
            return None
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            recorded = getattr(event, "timestamp", None)
            if isinstance(recorded, datetime):
                return notification.id, recorded
        start = notifications[-1].id + 1
    return None


def created_at_position(ledger: Ledger, aggregate: UUID) -> int | None:
    """The position of an aggregate's first event (None: the ledger has none)."""
    recorder = ledger.ledger_recorder
    d = recorder.log.dialect
    with recorder.log_transaction(commit=False) as c:
        c.execute(
            d.sql(
                f"SELECT {d.notification_id} FROM {d.events_table} "
                "WHERE originator_id = ? AND originator_version = 1"
            ),
            [d.originator_param(aggregate)],
        )
        row = c.fetchone()
    return None if row is None else int(row[0])
