"""A household's timeline: one named entry per event of the household and of the
complaints about it, kept in business-time order, and the one fold of it that
`household show`, the bulletin's counts, the dispute and the consistency report
all read (no aggregate is replayed).

Entries are named tuples whose first two fields are the business time (whole
microseconds since the epoch) and the position of the event in the ledger (its
notification id); no two entries of a timeline share both, so a timeline sorts as
plain tuples. Each is stored as a msgpack array of two: its tag (one letter, TAGS)
and the array of its fields in order. Changing an entry's fields changes the stored form: bump the
read models' format (ledger/read_models.py NAME) so that ledgers rebuild them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import msgpack

from domain.policy import Item
from domain.values import LEDGER_TZ, ZERO
from projections.model import EPOCH

_LOCAL_EPOCH = EPOCH.astimezone(LEDGER_TZ)


def moment(at: int) -> datetime:
    """An entry's time (microseconds since the epoch) in the ledger's zone."""
    return _LOCAL_EPOCH + timedelta(microseconds=at)


# --- the entries --------------------------------------------------------------------


class Registered(NamedTuple):
    at: int
    position: int

    def apply(self, fold: Fold) -> None:
        pass


class Surveyed(NamedTuple):
    at: int
    position: int
    areas: dict[str, str]  # structure: m², as text
    land: str
    residents: int
    reason: str | None  # a correcting survey's
    actor: str
    recorded: int  # when the ledger recorded it, microseconds since the epoch

    def apply(self, fold: Fold) -> None:
        fold.surveyed = True
        fold.steps.append(self)


class Valued(NamedTuple):
    at: int
    position: int
    valuation: str
    policy: str
    version: int
    items: Sequence[Sequence[Any]]  # [item, quantity | None, value | None], as text
    reviews: str | None
    actor: str
    recorded: int

    def apply(self, fold: Fold) -> None:
        fold.valuation = self
        fold.steps.append(self)

    def parsed_items(self) -> tuple[Item, ...]:
        return tuple(
            Item(
                name,
                Decimal(quantity) if quantity is not None else None,
                Decimal(value) if value is not None else None,
            )
            for name, quantity, value in self.items
        )


class Signed(NamedTuple):
    at: int
    position: int
    agreement: str
    amount: str
    entitlement: str
    policy: str
    version: int
    deviation: dict[str, str] | None  # {"reason", "approved_by"}
    method: str
    actor: str
    recorded: int

    def apply(self, fold: Fold) -> None:
        fold.agreement = self
        fold.agreed = Decimal(self.amount)
        fold.steps.append(self)


class DeviationApproved(NamedTuple):
    at: int
    position: int
    amount: str
    actor: str  # the supervisor

    def apply(self, fold: Fold) -> None:
        pass


class Voided(NamedTuple):
    at: int
    position: int
    agreement: str
    reason: str
    actor: str
    recorded: int

    def apply(self, fold: Fold) -> None:
        fold.agreement = None
        fold.agreed = None
        fold.steps.append(self)


class DocumentAttached(NamedTuple):
    at: int
    position: int
    kind: str

    def apply(self, fold: Fold) -> None:
        fold.documents.add(self.kind)


class ComplaintAttached(NamedTuple):
    """The household's own note that a complaint is about it."""

    at: int
    position: int

    def apply(self, fold: Fold) -> None:
        pass


class PayoutRequested(NamedTuple):
    at: int
    position: int
    payout: str
    amount: str

    def apply(self, fold: Fold) -> None:
        fold.requested[self.payout] = Decimal(self.amount)


class PayoutConfirmed(NamedTuple):
    at: int
    position: int
    payout: str

    def apply(self, fold: Fold) -> None:
        fold.confirmed[self.payout] = fold.requested.get(self.payout, ZERO)


class Vacated(NamedTuple):
    at: int
    position: int

    def apply(self, fold: Fold) -> None:
        fold.vacated = True


class ComplaintFiled(NamedTuple):
    at: int
    position: int
    complaint: str

    def apply(self, fold: Fold) -> None:
        fold.open_complaints.add(self.complaint)


class ComplaintNoted(NamedTuple):
    """A complaint about the household acknowledged, or added to."""

    at: int
    position: int
    complaint: str

    def apply(self, fold: Fold) -> None:
        pass


class ComplaintResolved(NamedTuple):
    at: int
    position: int
    complaint: str

    def apply(self, fold: Fold) -> None:
        fold.open_complaints.discard(self.complaint)


class ComplaintReopened(NamedTuple):
    at: int
    position: int
    complaint: str

    def apply(self, fold: Fold) -> None:
        fold.open_complaints.add(self.complaint)


Entry = (
    Registered
    | Surveyed
    | Valued
    | Signed
    | DeviationApproved
    | Voided
    | DocumentAttached
    | ComplaintAttached
    | PayoutRequested
    | PayoutConfirmed
    | Vacated
    | ComplaintFiled
    | ComplaintNoted
    | ComplaintResolved
    | ComplaintReopened
)
Step = Surveyed | Valued | Signed | Voided

# The stored tag of each kind of entry: part of the stored form.
TAGS: dict[type, str] = {
    Registered: "R",
    Surveyed: "S",
    Valued: "V",
    Signed: "A",
    DeviationApproved: "P",
    Voided: "X",
    DocumentAttached: "D",
    ComplaintAttached: "L",
    PayoutRequested: "Q",
    PayoutConfirmed: "C",
    Vacated: "M",
    ComplaintFiled: "F",
    ComplaintNoted: "N",
    ComplaintResolved: "K",
    ComplaintReopened: "O",
}
_KINDS: dict[str, Any] = {tag: kind for kind, tag in TAGS.items()}


def stored(entry: Entry) -> tuple[str, Entry]:
    """An entry's stored form: its tag, and its fields."""
    return (TAGS[type(entry)], entry)


def pack(timeline: Iterable[Entry]) -> bytes:
    packed: bytes = msgpack.packb([stored(entry) for entry in timeline])
    return packed


def unpack(packed: bytes) -> list[Entry]:
    """A timeline from its stored form."""
    kinds = _KINDS
    return [kinds[tag]._make(fields) for tag, fields in msgpack.unpackb(packed)]


# --- the fold -----------------------------------------------------------------------


@dataclass(slots=True)
class Fold:
    """A household as of a moment, folded from its timeline."""

    surveyed: bool = False
    valuation: Valued | None = None  # the current valuation
    agreement: Signed | None = None  # the agreement in force
    agreed: Decimal | None = None  # its amount
    documents: set[str] = field(default_factory=set)
    requested: dict[str, Decimal] = field(default_factory=dict)
    confirmed: dict[str, Decimal] = field(default_factory=dict)
    vacated: bool = False
    open_complaints: set[str] = field(default_factory=set)
    events: int = 0  # entries folded
    # Surveys, valuations, agreements and voids, as they took effect.
    steps: list[Step] = field(default_factory=list)

    def apply(self, entry: Entry) -> None:
        self.events += 1
        entry.apply(self)

    @property
    def paid(self) -> Decimal:
        return sum(self.confirmed.values(), ZERO)

    @property
    def paid_in_full(self) -> bool:
        return self.agreed is not None and bool(self.confirmed) and self.paid >= self.agreed

    @property
    def status(self) -> str:
        if self.agreement is not None:
            return "paid" if self.paid_in_full else "signed"
        if self.valuation is not None:
            return "valued"
        return "surveyed" if self.surveyed else "registered"


def fold(timeline: Iterable[Entry], as_of: int | None = None) -> Fold:
    """The fold of a timeline's entries up to as_of (microseconds; None: all)."""
    state = Fold()
    for entry in timeline:
        if as_of is not None and entry.at > as_of:
            break
        state.apply(entry)
    return state


def registered_at(timeline: Sequence[Entry]) -> int | None:
    """When the household was registered (business time), if it is in the timeline."""
    for entry in timeline:
        if type(entry) is Registered:
            return entry.at
    return None
