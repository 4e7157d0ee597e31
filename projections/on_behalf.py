"""The approvals and money acts entered on someone else's behalf (specs/identity.md),
for `report consistency`: approving or refusing a deviation, voiding an agreement, resolving a
complaint and confirming a payout whose enterer is not their actor (the built-in
admin's bulk entry of a programme's paper records, say). Kept as each such event is
recorded; the household or complaint it concerns is looked up by its aggregate when
the report is read."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from domain.base import Recorded
from domain.complaint import Complaint
from domain.household import Household
from domain.values import format_yuan
from projections.model import Cursor, ReadModel, micros

# The kinds of act, by the event that records each, and the ingest cmd they are.
ACTS: dict[type[Recorded], str] = {
    Household.DeviationApproved: "approve_deviation",
    Household.DeviationRefused: "refuse_deviation",
    Household.AgreementVoided: "void_agreement",
    Complaint.Resolved: "resolve_complaint",
    Household.PayoutConfirmed: "confirm_payout",
}

_INSERT = (
    "INSERT INTO rm_on_behalf (position, aggregate, act, what, actor, entered_by, "
    "occurred_at, occurred, recorded_at, command) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class OnBehalf(ReadModel):
    """rm_on_behalf: one row per such act, by its position in the log."""

    rides_folds = True  # rows keyed by position

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_on_behalf ("
        "position BIGINT PRIMARY KEY, aggregate BLOB NOT NULL, act TEXT NOT NULL, "
        "what TEXT NOT NULL, actor TEXT NOT NULL, entered_by TEXT NOT NULL, "
        "occurred_at BIGINT NOT NULL, occurred TEXT NOT NULL, recorded_at TEXT NOT NULL, "
        "command TEXT NOT NULL)",
    )

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[Any, ...]] = []

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self._rows = []

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _payout(self, e: Household.PayoutConfirmed, position: int) -> None:
        self._keep(e, position, f"payout {e.payout}")

    @handle.register
    def _void(self, e: Household.AgreementVoided, position: int) -> None:
        self._keep(e, position, f"agreement {e.agreement}")

    @handle.register
    def _deviation(self, e: Household.DeviationApproved, position: int) -> None:
        self._keep(e, position, f"deviation to {format_yuan(e.amount)}")

    @handle.register
    def _refused(self, e: Household.DeviationRefused, position: int) -> None:
        self._keep(e, position, f"deviation to {format_yuan(e.amount)} refused")

    @handle.register
    def _resolved(self, e: Complaint.Resolved, position: int) -> None:
        self._keep(e, position, f"finding {e.finding}")

    def _keep(self, e: Recorded, position: int, what: str) -> None:
        if e.entered_by == e.actor:
            return
        self._rows.append(
            (
                position,
                e.originator_id.bytes,
                ACTS[type(e)],
                what,
                e.actor,
                e.entered_by,
                micros(e.occurred_at),
                e.occurred_at.isoformat(),
                e.recorded_at.isoformat(),
                e.command,
            )
        )

    def flush(self) -> None:
        if self._rows:
            self.c.executemany(_INSERT, self._rows)
        self._rows = []


def entered_for_others(c: Cursor, as_of: int) -> list[dict[str, Any]]:
    """Every such act done by as_of (business time, microseconds), in business-time
    order (stored order at a tie): what was done, to which household or complaint, by
    whom, and who entered it."""
    c.execute(
        "SELECT o.act, h.household, k.complaint, o.what, o.actor, o.entered_by, "
        "o.occurred, o.recorded_at, o.command FROM rm_on_behalf o "
        "LEFT JOIN rm_households h ON h.aggregate = o.aggregate "
        "LEFT JOIN rm_complaints k ON k.aggregate = o.aggregate "
        "WHERE o.occurred_at <= ? ORDER BY o.occurred_at, o.position",
        (as_of,),
    )
    keys = (
        "act", "household", "complaint", "what", "actor", "entered_by", "occurred_at",
        "recorded_at", "command",
    )  # fmt: skip
    return [dict(zip(keys, row, strict=True)) for row in c.fetchall()]
