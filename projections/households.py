"""Each household's timeline as a read model: one named entry for each event of the
household and of the complaints about it, kept in business-time order; and the one
fold of a timeline that `household show`, the bulletin's counts, the dispute and the
consistency report all read (no aggregate is replayed).

Entries are named tuples whose first two fields are the business time (whole
microseconds since the epoch) and the position of the event in the ledger (its
notification id); no two entries of a timeline share both, so a timeline sorts as
plain tuples. Each is stored as a msgpack array of two: its tag (one letter, TAGS)
and the array of its fields in order. Changing an entry's fields changes the stored
form: bump the read models' format (ledger/read_models.py NAME) so that ledgers
rebuild them.

A new kind of household event shown by `household show` is all here: its entry (with
how it changes the fold), its tag, its handler, and its column in show()."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, NamedTuple
from uuid import UUID

import msgpack

from domain.complaint import Complaint
from domain.household import Household
from domain.policy import Item, PolicyVersion, entitlement
from domain.values import ZERO, format_yuan
from projections.household_rows import Row, RowCache
from projections.model import Cursor, ReadModel, micros

H = Household
C = Complaint

PolicyLookup = Callable[[str, int], PolicyVersion | None]

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
    quantity_deviation: dict[str, str] | None  # {"reason", "approved_by"}
    dropped_reason: str | None

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


class DeviationApproved(NamedTuple):  # or refused
    at: int
    position: int
    amount: str
    actor: str  # the supervisor
    approval: str  # its id
    refused: bool

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
    chose_early: str | None  # why it moved out before being paid in full, if it chose to

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


# --- the read model ---------------------------------------------------------------


# Rows and complaint subjects kept between pages (see Households).
CACHE = 20_000


class Households(ReadModel):
    """rm_households: a row per household with its timeline. Complaints are found by
    their aggregate in rm_household_complaints (a complaint's later events name only
    the complaint's aggregate)."""

    tables = (
        "CREATE TABLE IF NOT EXISTS rm_households ("
        "aggregate BLOB PRIMARY KEY, household TEXT NOT NULL UNIQUE, grp TEXT NOT NULL, "
        "village TEXT NOT NULL, head TEXT NOT NULL, id_number TEXT, timeline BLOB NOT NULL)",
        # Peers are looked up by village (dispute, consistency).
        "CREATE INDEX IF NOT EXISTS rm_households_village ON rm_households (village)",
        "CREATE TABLE IF NOT EXISTS rm_household_complaints ("
        "aggregate BLOB PRIMARY KEY, complaint TEXT NOT NULL, household TEXT NOT NULL)",
    )
    folds = Household.Event

    def __init__(self) -> None:
        super().__init__()
        # The rows this batch changed, by aggregate; after the flush, what the models
        # after this one consume.
        self.changed: dict[bytes, Row] = {}
        self._codes: dict[str, bytes] = {}  # households registered in this batch
        self._subjects: dict[bytes, tuple[str, str]] = {}  # complaints filed in this batch
        # Rows and subjects as last written, so that a household touched page after
        # page is not read back each time; bounded, and dropped with a failed page.
        self._rows = RowCache(CACHE, unpack)
        self._known_subjects: OrderedDict[bytes, tuple[str, str] | None] = OrderedDict()
        # While rebuilding: the entries of complaints about households not folded yet.
        self._waiting: dict[str, list[Entry]] = {}
        # The aggregate id (the object) and row of the last event taken in: a rebuild
        # gives an aggregate's events one after another, with one id object.
        self._last: tuple[UUID, Row] | None = None

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self.changed = {}
        self._codes = {}
        self._subjects = {}
        self._last = None

    def end(self) -> None:
        self.changed = {}
        self._codes = {}
        self._last = None

    def forget(self) -> None:
        self._rows.clear()
        self._known_subjects.clear()

    def start_rebuild(self) -> None:
        super().start_rebuild()
        self._waiting = {}

    def finish_rebuild(self) -> None:
        super().finish_rebuild()
        self._waiting = {}

    # --- the household's own events ------------------------------------------------

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _registered(self, e: H.Registered, position: int) -> None:
        aggregate = e.originator_id.bytes
        waiting = self._waiting.pop(e.household, []) if self.rebuilding else []
        row = Row(aggregate, e.household, e.group, e.village, e.head, e.id_number, waiting)
        row.timeline.append(Registered(micros(e.occurred_at), position))
        self.changed[aggregate] = row
        self._codes[e.household] = aggregate
        self._last = (e.originator_id, row)

    @handle.register
    def _surveyed(self, e: H.Surveyed, position: int) -> None:
        areas = {structure: str(area) for structure, area in e.building_area_m2.items()}
        at, land, recorded = micros(e.occurred_at), str(e.land_area_m2), micros(e.timestamp)
        self._add(e, Surveyed(at, position, areas, land, e.residents, e.reason, e.actor, recorded))

    @handle.register
    def _valued(self, e: H.Valued, position: int) -> None:
        items = [[i["item"], _text(i.get("quantity")), _text(i.get("value"))] for i in e.items]
        at, recorded = micros(e.occurred_at), micros(e.timestamp)
        entry = Valued(
            at,
            position,
            e.valuation,
            e.policy,
            e.policy_version,
            items,
            e.reviews,
            e.actor,
            recorded,
            e.quantity_deviation,
            e.dropped_reason,
        )
        self._add(e, entry)

    @handle.register
    def _signed(self, e: H.AgreementSigned, position: int) -> None:
        at, recorded = micros(e.occurred_at), micros(e.timestamp)
        amount, owed, version = str(e.amount), str(e.entitlement), e.policy_version
        entry = Signed(
            at,
            position,
            e.agreement,
            amount,
            owed,
            e.policy,
            version,
            e.deviation,
            e.method,
            e.actor,
            recorded,
        )
        self._add(e, entry)

    @handle.register
    def _decided(self, e: H.DeviationApproved | H.DeviationRefused, position: int) -> None:
        at, amount, refused = micros(e.occurred_at), str(e.amount), type(e) is H.DeviationRefused
        self._add(e, DeviationApproved(at, position, amount, e.actor, e.approval, refused))

    @handle.register
    def _voided(self, e: H.AgreementVoided, position: int) -> None:
        at, recorded = micros(e.occurred_at), micros(e.timestamp)
        self._add(e, Voided(at, position, e.agreement, e.reason, e.actor, recorded))

    @handle.register
    def _document(self, e: H.DocumentAttached, position: int) -> None:
        self._add(e, DocumentAttached(micros(e.occurred_at), position, e.kind))

    @handle.register
    def _complaint_attached(self, e: H.ComplaintAttached, position: int) -> None:
        self._add(e, ComplaintAttached(micros(e.occurred_at), position))

    @handle.register
    def _requested(self, e: H.PayoutRequested, position: int) -> None:
        self._add(e, PayoutRequested(micros(e.occurred_at), position, e.payout, str(e.amount)))

    @handle.register
    def _confirmed(self, e: H.PayoutConfirmed, position: int) -> None:
        self._add(e, PayoutConfirmed(micros(e.occurred_at), position, e.payout))

    @handle.register
    def _vacated(self, e: H.Vacated, position: int) -> None:
        self._add(e, Vacated(micros(e.occurred_at), position, e.chose_early))

    def _add(self, e: H.Event, entry: Entry) -> None:
        last = self._last
        if last is not None and last[0] is e.originator_id:
            last[1].timeline.append(entry)
            return
        row = self._row(e.originator_id.bytes)
        assert row is not None, f"{type(e).__name__} before its household's registration"
        self._last = (e.originator_id, row)
        row.timeline.append(entry)

    # --- the events of complaints about a household ---------------------------------

    @handle.register
    def _filed(self, e: C.Filed, position: int) -> None:
        household = e.about.get("household")
        if household is None:  # a complaint about a group, staff or policy only
            return
        self._subjects[e.originator_id.bytes] = (e.complaint, household)
        self._attach(household, ComplaintFiled(micros(e.occurred_at), position, e.complaint))

    @handle.register
    def _noted(self, e: C.Acknowledged | C.NoteAdded | C.Assigned, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            self._attach(subject[1], ComplaintNoted(micros(e.occurred_at), position, subject[0]))

    @handle.register
    def _resolved(self, e: C.Resolved, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            entry = ComplaintResolved(micros(e.occurred_at), position, subject[0])
            self._attach(subject[1], entry)

    @handle.register
    def _reopened(self, e: C.Reopened, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            entry = ComplaintReopened(micros(e.occurred_at), position, subject[0])
            self._attach(subject[1], entry)

    def _subject(self, complaint: bytes) -> tuple[str, str] | None:
        """(complaint, household) of a complaint about a household, else None."""
        found = self._subjects.get(complaint)
        if found is not None:
            return found
        if complaint in self._known_subjects:
            return self._known_subjects[complaint]
        self.c.execute(
            "SELECT complaint, household FROM rm_household_complaints WHERE aggregate = ?",
            (complaint,),
        )
        r = self.c.fetchone()
        subject = (r[0], r[1]) if r else None
        _keep(self._known_subjects, complaint, subject)
        return subject

    def _attach(self, household: str, entry: Entry) -> None:
        if self.rebuilding:  # households are folded after every complaint was read
            self._waiting.setdefault(household, []).append(entry)
            return
        aggregate = self._codes.get(household) or self._aggregate_of(household)
        row = self._row(aggregate)
        assert row is not None
        row.timeline.append(entry)

    # --- rows --------------------------------------------------------------------------

    def _row(self, aggregate: bytes) -> Row | None:
        row = self.changed.get(aggregate) or self._rows.get(aggregate)
        if row is None:
            row = _load(self.c, aggregate)
        if row is not None:
            self.changed[aggregate] = row
        return row

    def _aggregate_of(self, household: str) -> bytes:
        self.c.execute("SELECT aggregate FROM rm_households WHERE household = ?", (household,))
        r = self.c.fetchone()
        assert r is not None, f"a complaint about {household} before its registration"
        aggregate: bytes = r[0]
        return aggregate

    def group_of(self, household: str) -> str | None:
        """A household's group (one registered in this batch, or before)."""
        aggregate = self._codes.get(household)
        if aggregate is not None:
            return self.changed[aggregate].group
        self.c.execute("SELECT grp FROM rm_households WHERE household = ?", (household,))
        r = self.c.fetchone()
        return r[0] if r else None

    def flush(self) -> None:
        rows = self.changed
        for row in rows.values():
            row.timeline.sort()
        write(self.c, rows.values())
        if not self.rebuilding:
            self._rows.update(rows)
        if self._subjects:
            self.c.executemany(
                "INSERT INTO rm_household_complaints VALUES (?, ?, ?)",
                [(key, *subject) for key, subject in self._subjects.items()],
            )
            for key, subject in self._subjects.items():
                _keep(self._known_subjects, key, subject)
            self._subjects = {}


def _keep(cache: OrderedDict[bytes, Any], key: bytes, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > CACHE:
        cache.popitem(last=False)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


SELECT = "SELECT aggregate, household, grp, village, head, id_number, timeline FROM rm_households"


SELECT_ALL = SELECT + " ORDER BY household"


def row_of(r: Sequence[Any]) -> Row:
    """A row as selected (SELECT, SELECT_ALL)."""
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], unpack(r[6]))


def _load(c: Cursor, aggregate: bytes) -> Row | None:
    c.execute(f"{SELECT} WHERE aggregate = ?", (aggregate,))
    r = c.fetchone()
    return None if r is None else row_of(r)


def load_by_code(c: Cursor, household: str) -> Row | None:
    c.execute(f"{SELECT} WHERE household = ?", (household,))
    r = c.fetchone()
    return None if r is None else row_of(r)


def write(c: Cursor, rows: Iterable[Row]) -> None:
    packer = msgpack.Packer()
    c.executemany(
        "INSERT INTO rm_households VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (aggregate) DO UPDATE SET timeline = excluded.timeline",
        [
            (
                r.aggregate,
                r.household,
                r.group,
                r.village,
                r.head,
                r.id_number,
                r.pack(packer, TAGS),
            )
            for r in rows
        ],
    )


# --- what the household shows --------------------------------------------------------


def required_documents(
    state: Fold, policies: PolicyLookup, fallback: PolicyVersion | None
) -> tuple[str, ...] | None:
    if state.valuation is not None:
        policy = policies(state.valuation.policy, state.valuation.version)
        return policy.required_documents if policy else None
    return fallback.required_documents if fallback else None


def show(
    row: Row, policies: PolicyLookup, as_of: datetime, fallback: PolicyVersion | None
) -> dict[str, Any] | None:
    """The `household show --json` document of specs/cli.md (None: not yet registered)."""
    at = micros(as_of)
    if not row.timeline or row.timeline[0].at > at:
        return None
    state = fold(row.timeline, at)
    owed: Decimal | None = None
    if state.agreement is not None:
        owed = Decimal(state.agreement.entitlement)
    elif state.valuation is not None:
        policy = policies(state.valuation.policy, state.valuation.version)
        assert policy is not None, "a valuation names a published policy version"
        owed = entitlement(state.valuation.parsed_items(), policy, as_of).total
    required = required_documents(state, policies, fallback)
    missing = [kind for kind in (required or ()) if kind not in state.documents]
    return {
        "household": row.household,
        "group": row.group,
        "village": row.village,
        "status": state.status,
        "entitlement": format_yuan(owed) if owed is not None else None,
        "agreed": format_yuan(state.agreed) if state.agreed is not None else None,
        "paid": format_yuan(state.paid),
        "file_complete": required is not None and not missing,
        "missing_documents": missing,
        "vacated": state.vacated,
        "open_complaints": len(state.open_complaints),
        "events": state.events,
    }
