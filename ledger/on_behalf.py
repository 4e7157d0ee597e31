"""The approvals and money acts entered on someone else's behalf (specs/identity.md),
for `report consistency`: approving a deviation, voiding an agreement, resolving a
complaint and confirming a payout whose enterer is not their actor (the built-in
admin's bulk entry). Read from the stored events of those four kinds, not from a read
model: until the read side keeps them (the events carry who entered them, so it can),
this reads every event of those kinds once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.base import Recorded
from domain.complaint import Complaint
from domain.household import Household
from domain.values import format_yuan
from ledger.application import Ledger

# The kinds of act, by the topic of the event each records, and the ingest cmd they are.
ACTS = {
    Household.DeviationApproved.TOPIC: "approve_deviation",
    Household.DeviationRefused.TOPIC: "refuse_deviation",
    Household.AgreementVoided.TOPIC: "void_agreement",
    Complaint.Resolved.TOPIC: "resolve_complaint",
    Household.PayoutConfirmed.TOPIC: "confirm_payout",
}
_PAGE = 2000
_CHUNK = 400


def entered_for_others(ledger: Ledger, as_of: datetime) -> list[dict[str, Any]]:
    """Every such act done by as_of (business time), in business-time order: what was
    done, to which household or complaint, by whom, and who entered it."""
    acts = [
        event
        for event in _events_of(ledger, tuple(ACTS))
        if event.entered_by != event.actor and event.occurred_at <= as_of
    ]
    codes = _codes(ledger, {event.originator_id for event in acts})
    listed = []
    for event in sorted(acts, key=lambda e: e.occurred_at):  # stable: stored order at a tie
        code = codes.get(event.originator_id)
        is_complaint = isinstance(event, Complaint.Resolved)
        listed.append(
            {
                "act": ACTS[type(event).TOPIC],  # type: ignore[attr-defined]
                "household": None if is_complaint else code,
                "complaint": code if is_complaint else None,
                "what": _what(event),
                "actor": event.actor,
                "entered_by": event.entered_by,
                "occurred_at": event.occurred_at.isoformat(),
                "recorded_at": event.recorded_at.isoformat(),
                "command": event.command,
            }
        )
    return listed


def _what(event: Recorded) -> str:
    if isinstance(event, Household.PayoutConfirmed):
        return f"payout {event.payout}"
    if isinstance(event, Household.AgreementVoided):
        return f"agreement {event.agreement}"
    if isinstance(event, Household.DeviationApproved):
        return f"deviation to {format_yuan(event.amount)}"
    if isinstance(event, Household.DeviationRefused):
        return f"deviation to {format_yuan(event.amount)} refused"
    assert isinstance(event, Complaint.Resolved)
    return f"finding {event.finding}"


def _events_of(ledger: Ledger, topics: Sequence[str]) -> Iterator[Recorded]:
    """The stored events of some topics, in stored order, a page at a time."""
    recorder = ledger.ledger_recorder
    d = recorder.log.dialect
    statement = d.sql(
        f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
        f"FROM {d.events_table} WHERE topic IN ({', '.join('?' * len(topics))}) "
        f"AND {d.notification_id} > ? ORDER BY {d.notification_id} LIMIT ?"
    )
    after = 0
    while True:
        with recorder.log_transaction(commit=False) as c:
            c.execute(statement, [*topics, after, _PAGE])
            rows = c.fetchall()
        if not rows:
            return
        for _, originator, version, topic, state in rows:
            stored = StoredEvent(
                UUID(bytes=d.originator_bytes(originator)), version, topic, bytes(state)
            )
            yield cast(Recorded, ledger.mapper.to_domain_event(stored))
        after = rows[-1][0]


def _codes(ledger: Ledger, ids: Iterable[UUID]) -> dict[UUID, str]:
    """The household or complaint code of each aggregate, from its first event (its
    registration, or its filing), read by key."""
    recorder = ledger.ledger_recorder
    d = recorder.log.dialect
    wanted = sorted(ids)
    codes: dict[UUID, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        with recorder.log_transaction(commit=False) as c:
            c.execute(
                d.sql(
                    f"SELECT originator_id, originator_version, topic, state FROM "
                    f"{d.events_table} WHERE originator_version = 1 AND originator_id IN "
                    f"({', '.join('?' * len(chunk))})"
                ),
                [d.originator_param(i) for i in chunk],
            )
            rows = c.fetchall()
        for originator, version, topic, state in rows:
            aggregate = UUID(bytes=d.originator_bytes(originator))
            first: Any = ledger.mapper.to_domain_event(
                StoredEvent(aggregate, version, topic, bytes(state))
            )
            is_household = topic == Household.Registered.TOPIC
            codes[aggregate] = first.household if is_household else first.complaint
    return codes
