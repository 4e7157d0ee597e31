"""Each household's timeline as a read model: the entries of its own events and of
the complaints about it (projections/timeline.py), kept in business-time order, from
which its state as of any moment is folded without replaying aggregates."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import msgpack

from domain.complaint import Complaint
from domain.household import Household
from domain.policy import PolicyVersion, entitlement
from domain.values import format_yuan
from projections import timeline as t
from projections.model import Cursor, ReadModel, micros

H = Household
C = Complaint

PolicyLookup = Callable[[str, int], PolicyVersion | None]


@dataclass
class Row:
    aggregate: bytes
    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    timeline: list[t.Entry]
    # The fold as far as the timeline went when the row was last written (in memory
    # only), so that entries appended later continue it instead of starting over.
    folded: Folded | None = field(default=None, compare=False, repr=False)
    # The timeline's entries as packed when the row was last written (in memory only,
    # concatenated without the array's header), so that writing it again packs only
    # the entries appended since.
    packed: bytes = field(default=b"", compare=False, repr=False)
    packed_count: int = field(default=0, compare=False, repr=False)
    packed_last: t.Entry | None = field(default=None, compare=False, repr=False)

    def pack(self, packer: msgpack.Packer) -> bytes:
        """The timeline's stored form: the same bytes as timeline.pack(self.timeline)."""
        timeline, done = self.timeline, self.packed_count
        # Entries are only ever added: the first `done` are those packed before unless
        # one was sorted in among them, which moves a new entry to their last place.
        if done and (done > len(timeline) or timeline[done - 1] is not self.packed_last):
            self.packed, done = b"", 0
        tags = t.TAGS
        added = [(tags[type(entry)], entry) for entry in timeline[done:]]  # t.stored
        # Packed as one array, less its header: one call, not one per entry.
        self.packed += packer.pack(added)[len(packer.pack_array_header(len(added))) :]
        self.packed_count = len(timeline)
        self.packed_last = timeline[-1] if timeline else None
        header: bytes = packer.pack_array_header(len(timeline))
        return header + self.packed


@dataclass(slots=True)
class _Kept:
    """A row as kept in memory between pages: its timeline only as packed (a tenth of
    the memory of the entries as objects), with its fold."""

    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    packed: bytes
    count: int
    folded: Folded | None


class RowCache:
    """Rows as last written, the least recently written forgotten beyond a size. A row
    comes back with its timeline unpacked from the bytes it was written as, its fold
    and its packing continued where they left off."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        self._packer = msgpack.Packer()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, aggregate: bytes) -> Row | None:
        kept = self._kept.get(aggregate)
        if kept is None:
            return None
        timeline = t.unpack(self._packer.pack_array_header(kept.count) + kept.packed)
        return Row(
            aggregate,
            kept.household,
            kept.group,
            kept.village,
            kept.head,
            kept.id_number,
            timeline,
            kept.folded,
            kept.packed,
            kept.count,
            timeline[-1] if timeline else None,
        )

    def update(self, rows: Mapping[bytes, Row]) -> None:
        """Keep rows just written (Row.pack brought their packed bytes up to date)."""
        for aggregate, row in rows.items():
            assert row.packed_count == len(row.timeline), "a row is kept once written"
            self._kept[aggregate] = _Kept(
                row.household,
                row.group,
                row.village,
                row.head,
                row.id_number,
                row.packed,
                row.packed_count,
                row.folded,
            )
            self._kept.move_to_end(aggregate)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()


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
        self._rows = RowCache(CACHE)
        self._known_subjects: OrderedDict[bytes, tuple[str, str] | None] = OrderedDict()
        # While rebuilding: the entries of complaints about households not folded yet.
        self._waiting: dict[str, list[t.Entry]] = {}
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
        row.timeline.append(t.Registered(micros(e.occurred_at), position))
        self.changed[aggregate] = row
        self._codes[e.household] = aggregate
        self._last = (e.originator_id, row)

    @handle.register
    def _surveyed(self, e: H.Surveyed, position: int) -> None:
        areas = {structure: str(area) for structure, area in e.building_area_m2.items()}
        self._add(
            e,
            t.Surveyed(
                micros(e.occurred_at),
                position,
                areas,
                str(e.land_area_m2),
                e.residents,
                e.reason,
                e.actor,
                micros(e.timestamp),
            ),
        )

    @handle.register
    def _valued(self, e: H.Valued, position: int) -> None:
        items = [[i["item"], _text(i.get("quantity")), _text(i.get("value"))] for i in e.items]
        self._add(
            e,
            t.Valued(
                micros(e.occurred_at),
                position,
                e.valuation,
                e.policy,
                e.policy_version,
                items,
                e.reviews,
                e.actor,
                micros(e.timestamp),
            ),
        )

    @handle.register
    def _signed(self, e: H.AgreementSigned, position: int) -> None:
        self._add(
            e,
            t.Signed(
                micros(e.occurred_at),
                position,
                e.agreement,
                str(e.amount),
                str(e.entitlement),
                e.policy,
                e.policy_version,
                e.deviation,
                e.method,
                e.actor,
                micros(e.timestamp),
            ),
        )

    @handle.register
    def _approved(self, e: H.DeviationApproved, position: int) -> None:
        self._add(e, t.DeviationApproved(micros(e.occurred_at), position, str(e.amount), e.actor))

    @handle.register
    def _voided(self, e: H.AgreementVoided, position: int) -> None:
        at, recorded = micros(e.occurred_at), micros(e.timestamp)
        self._add(e, t.Voided(at, position, e.agreement, e.reason, e.actor, recorded))

    @handle.register
    def _document(self, e: H.DocumentAttached, position: int) -> None:
        self._add(e, t.DocumentAttached(micros(e.occurred_at), position, e.kind))

    @handle.register
    def _complaint_attached(self, e: H.ComplaintAttached, position: int) -> None:
        self._add(e, t.ComplaintAttached(micros(e.occurred_at), position))

    @handle.register
    def _requested(self, e: H.PayoutRequested, position: int) -> None:
        self._add(e, t.PayoutRequested(micros(e.occurred_at), position, e.payout, str(e.amount)))

    @handle.register
    def _confirmed(self, e: H.PayoutConfirmed, position: int) -> None:
        self._add(e, t.PayoutConfirmed(micros(e.occurred_at), position, e.payout))

    @handle.register
    def _vacated(self, e: H.Vacated, position: int) -> None:
        self._add(e, t.Vacated(micros(e.occurred_at), position))

    def _add(self, e: H.Event, entry: t.Entry) -> None:
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
        self._attach(household, t.ComplaintFiled(micros(e.occurred_at), position, e.complaint))

    @handle.register
    def _noted(self, e: C.Acknowledged | C.NoteAdded, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            self._attach(subject[1], t.ComplaintNoted(micros(e.occurred_at), position, subject[0]))

    @handle.register
    def _resolved(self, e: C.Resolved, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            entry = t.ComplaintResolved(micros(e.occurred_at), position, subject[0])
            self._attach(subject[1], entry)

    @handle.register
    def _reopened(self, e: C.Reopened, position: int) -> None:
        subject = self._subject(e.originator_id.bytes)
        if subject is not None:
            entry = t.ComplaintReopened(micros(e.occurred_at), position, subject[0])
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

    def _attach(self, household: str, entry: t.Entry) -> None:
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


_SELECT = "SELECT aggregate, household, grp, village, head, id_number, timeline FROM rm_households"


def _row_of(r: Sequence[Any]) -> Row:
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], t.unpack(r[6]))


def _load(c: Cursor, aggregate: bytes) -> Row | None:
    c.execute(f"{_SELECT} WHERE aggregate = ?", (aggregate,))
    r = c.fetchone()
    return None if r is None else _row_of(r)


def load_by_code(c: Cursor, household: str) -> Row | None:
    c.execute(f"{_SELECT} WHERE household = ?", (household,))
    r = c.fetchone()
    return None if r is None else _row_of(r)


def write(c: Cursor, rows: Iterable[Row]) -> None:
    packer = msgpack.Packer()
    c.executemany(
        "INSERT INTO rm_households VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (aggregate) DO UPDATE SET timeline = excluded.timeline",
        [
            (r.aggregate, r.household, r.group, r.village, r.head, r.id_number, r.pack(packer))
            for r in rows
        ],
    )


# --- what the household shows --------------------------------------------------------

STATUSES = ("registered", "surveyed", "valued", "signed", "paid")


def required_documents(
    state: t.Fold, policies: PolicyLookup, fallback: PolicyVersion | None
) -> tuple[str, ...] | None:
    if state.valuation is not None:
        policy = policies(state.valuation.policy, state.valuation.version)
        return policy.required_documents if policy else None
    return fallback.required_documents if fallback else None


def show(
    row: Row, policies: PolicyLookup, as_of: datetime, fallback: PolicyVersion | None
) -> dict[str, Any] | None:
    """The `household show --json` document of specs/cli.md (None: not yet registered)."""
    moment = micros(as_of)
    if not row.timeline or row.timeline[0].at > moment:
        return None
    state = t.fold(row.timeline, moment)
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


# --- the bulletin's metrics -------------------------------------------------------------

METRICS = ("households", "surveyed", "valued", "signed", "files_complete", "paid")


def metrics_of(state: t.Fold, required: tuple[str, ...] | None) -> tuple[bool, ...]:
    return (
        True,
        state.surveyed,
        state.valuation is not None,
        state.agreement is not None,
        required is not None and state.documents.issuperset(required),
        state.paid_in_full,
    )


Transition = tuple[int, str, int]  # at, metric, +1 or -1


@dataclass
class Folded:
    state: t.Fold
    metrics: tuple[bool, ...]
    count: int  # how many entries of the timeline were folded
    last: tuple[int, int]  # (at, position) of the last of them
    changes: list[Transition]


def transitions(row: Row, policies: PolicyLookup) -> list[Transition]:
    """When each of the household's bulletin metrics switched on or off:
    (at, metric, +1 or -1), in business-time order. Entries appended after the
    last fold continue it; a late entry that lands earlier folds from the start."""
    timeline = row.timeline
    folded = row.folded
    if folded is None or tuple(timeline[folded.count - 1][:2]) != folded.last:
        folded = Folded(t.Fold(), (False,) * len(METRICS), 0, (0, 0), [])
    state, before, changes = folded.state, folded.metrics, list(folded.changes)
    # The required documents change only with the valuation: looked up once for each.
    valuation = state.valuation
    required = required_documents(state, policies, None)
    for entry in timeline[folded.count :]:
        state.apply(entry)
        if state.valuation is not valuation:
            valuation = state.valuation
            required = required_documents(state, policies, None)
        after = metrics_of(state, required)
        if after != before:
            for metric, was, now in zip(METRICS, before, after, strict=True):
                if was != now:
                    changes.append((entry.at, metric, 1 if now else -1))
            before = after
    last = timeline[-1]
    row.folded = Folded(state, before, len(timeline), (last.at, last.position), changes)
    return changes
