"""Every payout requested, with its household, amount, who requested it and when, and,
once paid, who confirmed it, when and the bank's reference: finance's worklist and
paid list (which payouts a confirmation would now pass is the domain's to say)."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from domain.household import Household
from domain.payout import PayoutIndex
from projections.model import EPOCH, Cursor, ReadModel

_COLUMNS = (
    "payout",
    "household",
    "amount",
    "requested_by",
    "requested_at",
    "confirmed_by",
    "confirmed_at",
    "bank_reference",
)
# A payout's request and its index are recorded together, but may reach the model in
# two pages: each sets its own columns.
_UPSERT = (
    f"INSERT INTO rm_payouts VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (payout) DO UPDATE SET "
    + ", ".join(f"{c} = COALESCE(excluded.{c}, rm_payouts.{c})" for c in _COLUMNS[1:])
)


class Payouts(ReadModel):
    """rm_payouts: one row a payout."""

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_payouts ("
        "payout TEXT PRIMARY KEY, household TEXT, amount TEXT, requested_by TEXT, "
        "requested_at TEXT, confirmed_by TEXT, confirmed_at TEXT, bank_reference TEXT)",
        "CREATE INDEX IF NOT EXISTS rm_payouts_confirmed ON rm_payouts (confirmed_at)",
        "CREATE INDEX IF NOT EXISTS rm_payouts_household ON rm_payouts (household)",
    )

    def __init__(self) -> None:
        super().__init__()
        self.changed: dict[str, dict[str, Any]] = {}

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self.changed = {}

    def end(self) -> None:
        self.changed = {}

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _requested(self, e: Household.PayoutRequested, position: int) -> None:
        self.changed.setdefault(e.payout, {}).update(
            amount=str(e.amount), requested_by=e.actor, requested_at=e.occurred_at.isoformat()
        )

    @handle.register
    def _indexed(self, e: PayoutIndex.Indexed, position: int) -> None:
        self.changed.setdefault(e.payout, {})["household"] = e.household

    @handle.register
    def _confirmed(self, e: Household.PayoutConfirmed, position: int) -> None:
        self.changed.setdefault(e.payout, {}).update(
            confirmed_by=e.actor,
            confirmed_at=e.occurred_at.isoformat(),
            bank_reference=e.bank_reference,
        )

    def flush(self) -> None:
        if self.changed:
            self.c.executemany(
                _UPSERT,
                [
                    (payout, *(values.get(c) for c in _COLUMNS[1:]))
                    for payout, values in sorted(self.changed.items())
                ],
            )


def _entries(c: Cursor, where: str, parameters: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    c.execute(f"SELECT {', '.join(_COLUMNS)} FROM rm_payouts WHERE {where}", parameters)
    return [dict(zip(_COLUMNS, row, strict=True)) for row in c.fetchall()]


def _when(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else EPOCH


def _of(household: str | None) -> tuple[str, tuple[Any, ...]]:
    return (" AND household = ?", (household,)) if household is not None else ("", ())


def unpaid(c: Cursor, household: str | None = None) -> list[dict[str, Any]]:
    """The payouts requested and not confirmed (of one household), oldest request first."""
    where, parameters = _of(household)
    found = _entries(c, "confirmed_at IS NULL" + where, parameters)
    return sorted(found, key=lambda p: (_when(p["requested_at"]), p["payout"]))


def paid(c: Cursor, household: str | None = None) -> list[dict[str, Any]]:
    """The payouts confirmed (of one household), in the order they were paid."""
    where, parameters = _of(household)
    found = _entries(c, "confirmed_at IS NOT NULL" + where, parameters)
    return sorted(found, key=lambda p: (_when(p["confirmed_at"]), p["payout"]))


def one(c: Cursor, payout: str) -> dict[str, Any] | None:
    found = _entries(c, "payout = ?", (payout,))
    return found[0] if found else None
