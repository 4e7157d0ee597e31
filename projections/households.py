"""Each household's timeline as a read model: the facts of its own events and of
the complaints about it, kept in business-time order, from which its state as of
any moment is folded without replaying aggregates."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgpack

from domain.complaint import Complaint
from domain.household import Household
from domain.policy import Item, PolicyVersion, entitlement
from domain.values import ZERO, format_yuan
from projections.facts import Fact, micros

TABLES = (
    "CREATE TABLE IF NOT EXISTS rm_households ("
    "aggregate BLOB PRIMARY KEY, household TEXT NOT NULL UNIQUE, grp TEXT NOT NULL, "
    "village TEXT NOT NULL, head TEXT NOT NULL, id_number TEXT, timeline BLOB NOT NULL)",
    # Peers are looked up by village (dispute, consistency).
    "CREATE INDEX IF NOT EXISTS rm_households_village ON rm_households (village)",
)
CLEAR = ("DELETE FROM rm_households",)

H = Household
TOPICS = {
    H.Registered.TOPIC: "R",
    H.Surveyed.TOPIC: "S",
    H.Valued.TOPIC: "V",
    H.AgreementSigned.TOPIC: "A",
    H.AgreementVoided.TOPIC: "X",
    H.DocumentAttached.TOPIC: "D",
    H.PayoutRequested.TOPIC: "Q",
    H.PayoutConfirmed.TOPIC: "C",
    H.Vacated.TOPIC: "M",
    H.ComplaintAttached.TOPIC: "L",
    H.DeviationApproved.TOPIC: "P",
}
COMPLAINT_TOPICS = {
    Complaint.Filed.TOPIC: "F",
    Complaint.Resolved.TOPIC: "K",
    Complaint.Reopened.TOPIC: "O",
    Complaint.Acknowledged.TOPIC: "N",
    Complaint.NoteAdded.TOPIC: "N",
}

# A timeline entry: [at (microseconds), position, kind, *payload]
Entry = list[Any]


def _entry(fact: Fact, kind: str, complaint: str | None) -> Entry:
    """The compact form of one fact in a household's timeline (see ENTRY_FORMS)."""
    s = fact.state
    at, pos = micros(fact.at), fact.position
    if kind == "S":
        areas = {k: str(v) for k, v in s["building_area_m2"].items()}
        return [at, pos, kind, areas, str(s["land_area_m2"]), s["residents"]]
    if kind == "V":
        items = [[i["item"], _s(i.get("quantity")), _s(i.get("value"))] for i in s["items"]]
        return [
            at,
            pos,
            kind,
            s["valuation"],
            s["policy"],
            s["policy_version"],
            items,
            s["reviews"],
            fact.state["actor"],
        ]
    if kind == "A":
        return [
            at,
            pos,
            kind,
            s["agreement"],
            str(s["amount"]),
            str(s["entitlement"]),
            s["policy"],
            s["policy_version"],
            s["deviation"],
            s["method"],
        ]
    if kind == "X":
        return [at, pos, kind, s["agreement"], s["reason"]]
    if kind == "D":
        return [at, pos, kind, s["kind"]]
    if kind == "Q":
        return [at, pos, kind, s["payout"], str(s["amount"])]
    if kind == "C":
        return [at, pos, kind, s["payout"]]
    if kind in "FKON":
        return [at, pos, kind, complaint]
    return [at, pos, kind]


# What follows [at, position, kind] in each kind of entry.
ENTRY_FORMS = {
    "R": "registered",
    "S": "surveyed: {structure: area}, land area, residents",
    "V": "valued: valuation, policy, version, [[item, quantity|None, value|None]], reviews, actor",
    "A": "signed: agreement, amount, entitlement, policy, version, deviation|None, method",
    "X": "voided: agreement, reason",
    "D": "document attached: kind",
    "Q": "payout requested: payout, amount",
    "C": "payout confirmed: payout",
    "M": "vacated",
    "L": "complaint attached (the household's own note)",
    "P": "deviation approved by a supervisor",
    "F": "complaint filed: complaint",
    "K": "resolved: complaint",
    "O": "reopened: complaint",
    "N": "complaint acknowledged or added to: complaint",
}


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass
class Row:
    aggregate: bytes
    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    timeline: list[Entry]
    # The fold as far as the timeline went when the row was last written (in memory
    # only), so that entries appended later continue it instead of starting over.
    folded: Folded | None = field(default=None, compare=False, repr=False)
    # The timeline's entries as packed when the row was last written (in memory only,
    # concatenated without the array's header), so that writing it again packs only
    # the entries appended since.
    packed: bytes = field(default=b"", compare=False, repr=False)
    packed_count: int = field(default=0, compare=False, repr=False)
    packed_last: Entry | None = field(default=None, compare=False, repr=False)

    def pack(self, packer: msgpack.Packer) -> bytes:
        """The timeline as msgpack: the same bytes as msgpack.packb(self.timeline)."""
        timeline, done = self.timeline, self.packed_count
        # Entries are only ever added: the first `done` are those packed before unless
        # one was sorted in among them, which moves a new entry to their last place.
        if done and (done > len(timeline) or timeline[done - 1] is not self.packed_last):
            self.packed, done = b"", 0
        self.packed += b"".join(packer.pack(entry) for entry in timeline[done:])
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
        header = self._packer.pack_array_header(kept.count)
        timeline: list[Entry] = msgpack.unpackb(header + kept.packed)
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


def _load(c: Any, aggregate: bytes) -> Row | None:
    c.execute(
        "SELECT household, grp, village, head, id_number, timeline FROM rm_households "
        "WHERE aggregate = ?",
        (aggregate,),
    )
    r = c.fetchone()
    if r is None:
        return None
    return Row(aggregate, r[0], r[1], r[2], r[3], r[4], msgpack.unpackb(r[5]))


def load_by_code(c: Any, household: str) -> Row | None:
    c.execute("SELECT aggregate FROM rm_households WHERE household = ?", (household,))
    r = c.fetchone()
    return _load(c, r[0]) if r else None


def process(
    c: Any,
    facts: Sequence[Fact],
    complaint_households: Callable[[bytes], tuple[str, str] | None],
    cache: RowCache | None = None,
) -> dict[bytes, Row]:
    """Fold a page of facts into the timelines; return the rows that changed.
    complaint_households maps a complaint aggregate to (complaint, household);
    cache holds rows as last written (the caller drops it if the page fails)."""
    rows: dict[bytes, Row] = {}

    def row_of(aggregate: bytes) -> Row | None:
        row = rows.get(aggregate) or (cache.get(aggregate) if cache is not None else None)
        if row is None:
            row = _load(c, aggregate)
        if row is not None:
            rows[aggregate] = row
        return row

    codes: dict[str, bytes] = {}
    for fact in facts:
        kind = TOPICS.get(fact.topic)
        if kind is not None:
            aggregate = fact.aggregate.bytes
            if kind == "R":
                s = fact.state
                row = Row(
                    aggregate,
                    s["household"],
                    s["group"],
                    s["village"],
                    s["head"],
                    s["id_number"],
                    [],
                )
                rows[aggregate] = row
                codes[row.household] = aggregate
            else:
                found = row_of(aggregate)
                assert found is not None, f"{fact.topic} before its household's registration"
                row = found
            row.timeline.append(_entry(fact, kind, None))
            continue
        complaint_kind = COMPLAINT_TOPICS.get(fact.topic)
        if complaint_kind is None:
            continue
        about = complaint_households(fact.aggregate.bytes)
        if about is None:  # a complaint about a group, staff or policy only
            continue
        complaint, household = about
        aggregate = codes.get(household) or _aggregate_of(c, household)
        found = row_of(aggregate)
        assert found is not None
        found.timeline.append(_entry(fact, complaint_kind, complaint))
    for row in rows.values():
        row.timeline.sort(key=_order)
    write(c, rows.values())
    if cache is not None:
        cache.update(rows)
    return rows


def _order(entry: Entry) -> tuple[int, int]:
    return entry[0], entry[1]


def complaint_entry(fact: Fact, complaint: str) -> Entry | None:
    """The entry a complaint's event adds to the timeline of the household it is about."""
    kind = COMPLAINT_TOPICS.get(fact.topic)
    return None if kind is None else _entry(fact, kind, complaint)


def row_of_events(facts: Sequence[Fact], complaint_entries: Sequence[Entry]) -> Row:
    """A household's row from all its own events (in version order, so registration
    first) and the entries of the complaints about it: what process() builds from
    the same facts page by page."""
    s = facts[0].state
    assert TOPICS[facts[0].topic] == "R", "a household's first event is its registration"
    timeline = [_entry(fact, TOPICS[fact.topic], None) for fact in facts]
    timeline.extend(complaint_entries)
    timeline.sort(key=_order)
    return Row(
        facts[0].aggregate.bytes,
        s["household"],
        s["group"],
        s["village"],
        s["head"],
        s["id_number"],
        timeline,
    )


def write(c: Any, rows: Iterable[Row]) -> None:
    packer = msgpack.Packer()
    write_packed(
        c,
        [
            (r.aggregate, r.household, r.group, r.village, r.head, r.id_number, r.pack(packer))
            for r in rows
        ],
    )


def write_packed(c: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write rows given as (aggregate, household, group, village, head, id_number,
    the timeline packed)."""
    c.executemany(
        "INSERT INTO rm_households VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (aggregate) DO UPDATE SET timeline = excluded.timeline",
        rows,
    )


def _aggregate_of(c: Any, household: str) -> bytes:
    c.execute("SELECT aggregate FROM rm_households WHERE household = ?", (household,))
    r = c.fetchone()
    assert r is not None, f"a complaint about {household} before its registration"
    aggregate: bytes = r[0]
    return aggregate


# --- folding a timeline -----------------------------------------------------

STATUSES = ("registered", "surveyed", "valued", "signed", "paid")


@dataclass
class State:
    surveyed: bool = False
    valuation: tuple[str, str, int, tuple[Item, ...]] | None = None  # id, policy, version, items
    agreement: tuple[str, Decimal, Decimal] | None = None  # number, amount, entitlement
    documents: set[str] = field(default_factory=set)
    requested: dict[str, Decimal] = field(default_factory=dict)
    confirmed: dict[str, Decimal] = field(default_factory=dict)
    vacated: bool = False
    open_complaints: set[str] = field(default_factory=set)
    events: int = 0

    @property
    def paid(self) -> Decimal:
        return sum(self.confirmed.values(), ZERO)

    @property
    def paid_in_full(self) -> bool:
        return (
            self.agreement is not None and bool(self.confirmed) and self.paid >= self.agreement[1]
        )

    @property
    def status(self) -> str:
        if self.agreement is not None:
            return "paid" if self.paid_in_full else "signed"
        if self.valuation is not None:
            return "valued"
        return "surveyed" if self.surveyed else "registered"

    def apply(self, entry: Entry) -> None:
        kind = entry[2]
        self.events += 1
        if kind == "S":
            self.surveyed = True
        elif kind == "V":
            items = tuple(
                Item(
                    name,
                    Decimal(q) if q is not None else None,
                    Decimal(v) if v is not None else None,
                )
                for name, q, v in entry[6]
            )
            self.valuation = (entry[3], entry[4], entry[5], items)
        elif kind == "A":
            self.agreement = (entry[3], Decimal(entry[4]), Decimal(entry[5]))
        elif kind == "X":
            self.agreement = None
        elif kind == "D":
            self.documents.add(entry[3])
        elif kind == "Q":
            self.requested[entry[3]] = Decimal(entry[4])
        elif kind == "C":
            self.confirmed[entry[3]] = self.requested.get(entry[3], ZERO)
        elif kind == "M":
            self.vacated = True
        elif kind in "FO":
            self.open_complaints.add(entry[3])
        elif kind == "K":
            self.open_complaints.discard(entry[3])


def fold(timeline: Iterable[Entry], as_of: int | None = None) -> State:
    state = State()
    for entry in timeline:
        if as_of is not None and entry[0] > as_of:
            break
        state.apply(entry)
    return state


PolicyLookup = Callable[[str, int], PolicyVersion | None]


def required_documents(
    state: State, policies: PolicyLookup, fallback: PolicyVersion | None
) -> tuple[str, ...] | None:
    if state.valuation is not None:
        policy = policies(state.valuation[1], state.valuation[2])
        return policy.required_documents if policy else None
    return fallback.required_documents if fallback else None


def show(
    row: Row, policies: PolicyLookup, as_of: datetime, fallback: PolicyVersion | None
) -> dict[str, Any] | None:
    """The `household show --json` document of specs/cli.md (None: not yet registered)."""
    moment = micros(as_of)
    if not row.timeline or row.timeline[0][0] > moment:
        return None
    state = fold(row.timeline, moment)
    owed: Decimal | None = None
    if state.agreement is not None:
        owed = state.agreement[2]
    elif state.valuation is not None:
        policy = policies(state.valuation[1], state.valuation[2])
        assert policy is not None, "a valuation names a published policy version"
        owed = entitlement(state.valuation[3], policy, as_of).total
    required = required_documents(state, policies, fallback)
    missing = [kind for kind in (required or ()) if kind not in state.documents]
    return {
        "household": row.household,
        "group": row.group,
        "village": row.village,
        "status": state.status,
        "entitlement": format_yuan(owed) if owed is not None else None,
        "agreed": format_yuan(state.agreement[1]) if state.agreement is not None else None,
        "paid": format_yuan(state.paid),
        "file_complete": required is not None and not missing,
        "missing_documents": missing,
        "vacated": state.vacated,
        "open_complaints": len(state.open_complaints),
        "events": state.events,
    }


# --- the bulletin's metrics -------------------------------------------------

METRICS = ("households", "surveyed", "valued", "signed", "files_complete", "paid")


def metrics_of(state: State, required: tuple[str, ...] | None) -> tuple[bool, ...]:
    return (
        True,
        state.surveyed,
        state.valuation is not None,
        state.agreement is not None,
        required is not None and all(kind in state.documents for kind in required),
        state.paid_in_full,
    )


Transition = tuple[int, str, int]  # at, metric, +1 or -1


@dataclass
class Folded:
    state: State
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
        folded = Folded(State(), (False,) * len(METRICS), 0, (0, 0), [])
    state, before, changes = folded.state, folded.metrics, list(folded.changes)
    for entry in timeline[folded.count :]:
        state.apply(entry)
        after = metrics_of(state, required_documents(state, policies, None))
        if after != before:
            for metric, was, now in zip(METRICS, before, after, strict=True):
                if was != now:
                    changes.append((entry[0], metric, 1 if now else -1))
            before = after
    last = timeline[-1]
    row.folded = Folded(state, before, len(timeline), (last[0], last[1]), changes)
    return changes
