"""Group progress by business day, the daily bulletin's read model: per group,
metric and day the net count of households that reached (or left) a stage, and
the same at each moment, so that any as-of is a sum over stored counts."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack

from domain.values import LEDGER_TZ
from projections import complaints as complaint_rm
from projections import household_rows, programme
from projections import households as household_rm
from projections.complaints import Complaints
from projections.household_rows import Row
from projections.households import Households
from projections.model import Cursor, ReadModel, micros
from projections.programme import Programme

HOUSEHOLD_METRICS = ("households", "surveyed", "valued", "signed", "files_complete", "paid")
METRICS = (*HOUSEHOLD_METRICS, "open_complaints")
TOTAL = "*"  # the group of the town's own count of open complaints

_TABLES = (
    # Net change per group, metric and business day (days counted in the ledger's zone).
    "CREATE TABLE IF NOT EXISTS rm_progress_daily ("
    "grp TEXT NOT NULL, metric TEXT NOT NULL, day BIGINT NOT NULL, total BIGINT NOT NULL, "
    "PRIMARY KEY (day, grp, metric)) WITHOUT ROWID",
    # The same per hour, so that an as-of inside a busy day sums at most 24 hours
    # and the moments of one hour, not every moment of the day.
    "CREATE TABLE IF NOT EXISTS rm_progress_hourly ("
    "grp TEXT NOT NULL, metric TEXT NOT NULL, hour BIGINT NOT NULL, total BIGINT NOT NULL, "
    "PRIMARY KEY (hour, grp, metric)) WITHOUT ROWID",
    # The same per moment, to answer an as-of inside an hour.
    "CREATE TABLE IF NOT EXISTS rm_progress_moment ("
    "at BIGINT NOT NULL, grp TEXT NOT NULL, metric TEXT NOT NULL, total BIGINT NOT NULL, "
    "PRIMARY KEY (at, grp, metric)) WITHOUT ROWID",
    # What each household or complaint contributes now, so that a late event can
    # take back its old contribution before adding the new one.
    "CREATE TABLE IF NOT EXISTS rm_progress_sources ("
    "source TEXT PRIMARY KEY, contributions BLOB NOT NULL) WITHOUT ROWID",
)
# Sources' contributions kept between pages (see Progress).
CACHE = 20_000

_DAY = 86_400_000_000
_HOUR = 3_600_000_000
_OFFSET = int(LEDGER_TZ.utcoffset(None).total_seconds()) * 1_000_000
_OFFSET_HOURS = _OFFSET // _HOUR
assert _OFFSET_HOURS * _HOUR == _OFFSET, "a business day must be 24 whole hours"

Contribution = tuple[int, str, str, int]  # at, group, metric, delta


class Progress(ReadModel):
    """The bulletin's counts: what the households and complaints that a batch changed
    contribute now, in place of what they contributed before."""

    tables = _TABLES
    after = (Households, Complaints, Programme)

    def __init__(self, households: Households, complaints: Complaints, programme: Programme):
        super().__init__()
        self.households = households
        self.complaints = complaints
        self.programme = programme
        # Contributions as last written, so that a source touched page after page is
        # not read back each time; bounded, and dropped with a failed page.
        self._contributions: _LRU = _LRU(CACHE)
        self._bulk: BulkLoad | None = None
        # While rebuilding: complaints' contributions, written at the end (a complaint
        # read in stored order may change again in a later batch).
        self._later: dict[str, list[Contribution]] = {}

    def forget(self) -> None:
        self._contributions.clear()

    def start_rebuild(self) -> None:
        super().start_rebuild()
        self._bulk = BulkLoad(self.c)
        self._later = {}

    def finish_rebuild(self) -> None:
        super().finish_rebuild()
        assert self._bulk is not None
        self._bulk.add(self.c, self._later)
        self._bulk.finish(self.c)
        self._bulk, self._later = None, {}

    def compared(self, table: str) -> str:
        if table == "rm_progress_sources":
            return super().compared(table)
        # Following adds and takes back counts, and may leave a net count of zero
        # where a rebuild writes no row: a count of zero is no count.
        return f"SELECT * FROM {table} WHERE total != 0"

    def flush(self) -> None:
        policy = self.programme.policy
        households = {
            "h:" + row.household: household_contributions(row, policy)
            for row in self.households.changed.values()
        }
        complaints = {
            "c:" + row.complaint: complaint_contributions(row)
            for row in self.complaints.changed.values()
        }
        if self._bulk is None:
            if households or complaints:
                replace(self.c, {**households, **complaints}, self._contributions)
            return
        # A household's row is rebuilt whole (folded aggregate by aggregate): its
        # contributions are final, and loaded at once.
        if households:
            self._bulk.add(self.c, households)
        self._later.update(complaints)


class _LRU(OrderedDict[str, list[Contribution]]):
    """A dict that forgets its least recently written entries beyond a size."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: str, value: list[Contribution]) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


def day_of(at: int) -> int:
    """The business day (in the ledger's zone) of a moment, as days since 1970-01-01."""
    return (at + _OFFSET) // _DAY


def start_of_day(day: int) -> int:
    return day * _DAY - _OFFSET


def hour_of(at: int) -> int:
    """The hour of a moment, as hours since 1970-01-01 00:00 UTC. The ledger's zone is
    a whole number of hours from UTC, so a business day is 24 whole hours."""
    return at // _HOUR


def _packed(contributions: list[Contribution]) -> bytes:
    """A source's contributions as rm_progress_sources stores them (followed and
    rebuilt alike)."""
    packed: bytes = msgpack.packb([list(x) for x in contributions])
    return packed


def _old(
    c: Cursor, source: str, cache: MutableMapping[str, list[Contribution]]
) -> list[Contribution]:
    known = cache.get(source)
    if known is not None:
        return known
    c.execute("SELECT contributions FROM rm_progress_sources WHERE source = ?", (source,))
    r = c.fetchone()
    return [tuple(x) for x in msgpack.unpackb(r[0])] if r else []


def complaint_contributions(complaint: complaint_rm.Row) -> list[Contribution]:
    """What a complaint adds to the bulletin's counts: its groups' and the town's."""
    new: list[Contribution] = []
    for at, delta in complaint_rm.transitions(complaint):
        new.extend((at, group, "open_complaints", delta) for group in complaint.groups)
        new.append((at, TOTAL, "open_complaints", delta))
    return new


# --- when a household's metrics switch ---------------------------------------------


def metrics_of(state: household_rm.Fold, required: tuple[str, ...] | None) -> tuple[bool, ...]:
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
    state: household_rm.Fold
    metrics: tuple[bool, ...]
    count: int  # how many entries of the timeline were folded
    last: tuple[int, int]  # (at, position) of the last of them
    changes: list[Transition]


def transitions(row: Row, policies: household_rm.PolicyLookup) -> list[Transition]:
    """When each of the household's bulletin metrics switched on or off:
    (at, metric, +1 or -1), in business-time order. Entries appended after the
    last fold continue it; a late entry that lands earlier folds from the start."""
    timeline = row.timeline
    folded = row.folded
    if folded is None or tuple(timeline[folded.count - 1][:2]) != folded.last:
        folded = Folded(household_rm.Fold(), (False,) * len(HOUSEHOLD_METRICS), 0, (0, 0), [])
    state, before, changes = folded.state, folded.metrics, list(folded.changes)
    # The required documents change only with the valuation: looked up once for each.
    valuation = state.valuation
    required = household_rm.required_documents(state, policies, None)
    for entry in timeline[folded.count :]:
        state.apply(entry)
        if state.valuation is not valuation:
            valuation = state.valuation
            required = household_rm.required_documents(state, policies, None)
        after = metrics_of(state, required)
        if after != before:
            for metric, was, now in zip(HOUSEHOLD_METRICS, before, after, strict=True):
                if was != now:
                    changes.append((entry.at, metric, 1 if now else -1))
            before = after
    last = timeline[-1]
    row.folded = Folded(state, before, len(timeline), (last.at, last.position), changes)
    return changes


def household_contributions(row: Row, policies: household_rm.PolicyLookup) -> list[Contribution]:
    """What a household's row adds to the bulletin's counts."""
    return [(at, row.group, metric, delta) for at, metric, delta in transitions(row, policies)]


def replace(
    c: Cursor,
    changed: Mapping[str, list[Contribution]],
    cache: MutableMapping[str, list[Contribution]] | None = None,
) -> None:
    """Replace the contributions of some sources ("h:" and a household's code, "c:" and a
    complaint's id) with new ones: take back each one's old contributions (from
    cache, or else as stored), add its new ones, and write the net change at once."""
    known: MutableMapping[str, list[Contribution]] = cache if cache is not None else {}
    net: Counter[tuple[int, str, str]] = Counter()
    for source, new in changed.items():
        for at, group, metric, delta in _old(c, source, known):
            net[(at, group, metric)] -= delta
        for at, group, metric, delta in new:
            net[(at, group, metric)] += delta
    daily: Counter[tuple[int, str, str]] = Counter()
    hourly: Counter[tuple[int, str, str]] = Counter()
    moments = []
    # Each table's rows in the order of its primary key: a page's changes are spread
    # over the whole calendar, and in key order each B-tree page is visited once (a
    # rebuild at a million households spent a fifth of its time on these writes).
    for (at, group, metric), delta in sorted(net.items()):
        if delta:
            moments.append((at, group, metric, delta, delta))
            daily[(day_of(at), group, metric)] += delta
            hourly[(hour_of(at), group, metric)] += delta
    c.executemany(
        "INSERT INTO rm_progress_moment VALUES (?, ?, ?, ?) "
        "ON CONFLICT (at, grp, metric) DO UPDATE SET total = rm_progress_moment.total + ?",
        moments,
    )
    c.executemany(
        "INSERT INTO rm_progress_daily VALUES (?, ?, ?, ?) "
        "ON CONFLICT (day, grp, metric) DO UPDATE SET total = rm_progress_daily.total + ?",
        [(g, m, d, delta, delta) for (d, g, m), delta in sorted(daily.items()) if delta],
    )
    c.executemany(
        "INSERT INTO rm_progress_hourly VALUES (?, ?, ?, ?) "
        "ON CONFLICT (hour, grp, metric) DO UPDATE SET total = rm_progress_hourly.total + ?",
        [(g, m, h, delta, delta) for (h, g, m), delta in sorted(hourly.items()) if delta],
    )
    c.executemany(
        "INSERT INTO rm_progress_sources VALUES (?, ?) "
        "ON CONFLICT (source) DO UPDATE SET contributions = excluded.contributions",
        [(source, _packed(new)) for source, new in sorted(changed.items())],
    )
    known.update(changed)


class BulkLoad:
    """Households' contributions during a rebuild into emptied tables: appended as they
    come to temporary tables with no key to keep in order, then summed into the
    bulletin's tables in key order once, at the end (finish). Written as they come,
    each page's contributions landed all over the moments' B-tree (a page of households
    spans the whole calendar): at a million households that was a quarter of the
    rebuild. Old contributions are never taken back: there are none."""

    def __init__(self, c: Cursor) -> None:
        c.execute(
            "CREATE TEMPORARY TABLE rebuild_moments "
            "(at BIGINT NOT NULL, grp TEXT NOT NULL, metric TEXT NOT NULL, delta BIGINT NOT NULL)"
        )
        c.execute(
            "CREATE TEMPORARY TABLE rebuild_sources (source TEXT NOT NULL, contributions BLOB)"
        )

    def add(self, c: Cursor, changed: Mapping[str, list[Contribution]]) -> None:
        """The contributions of sources not written before."""
        c.executemany(
            "INSERT INTO rebuild_moments VALUES (?, ?, ?, ?)",
            [contribution for new in changed.values() for contribution in new],
        )
        c.executemany(
            "INSERT INTO rebuild_sources VALUES (?, ?)",
            [(source, _packed(new)) for source, new in changed.items()],
        )

    def finish(self, c: Cursor) -> None:
        """Sum what was added into the bulletin's tables (as replace() would have)."""
        # Each table from the one before, smaller each time: the moments from what was
        # added, the hours from the moments, the days from the hours (a business day
        # is 24 whole hours). Business times are after 1970, so integer division is
        # hour_of and day_of.
        for table, key, source, bucket in (
            ("rm_progress_moment", "at", "rebuild_moments", "at"),
            ("rm_progress_hourly", "hour", "rm_progress_moment", f"at / {_HOUR}"),
            ("rm_progress_daily", "day", "rm_progress_hourly", f"(hour + {_OFFSET_HOURS}) / 24"),
        ):
            delta = "delta" if source == "rebuild_moments" else "total"
            c.execute(
                f"INSERT INTO {table} (grp, metric, {key}, total) "
                f"SELECT grp, metric, {key}, SUM(delta) FROM "
                f"(SELECT grp, metric, {bucket} AS {key}, {delta} AS delta FROM {source}) AS m "
                f"GROUP BY {key}, grp, metric HAVING SUM(delta) != 0 ORDER BY {key}, grp, metric"
            )
        c.execute(
            "INSERT INTO rm_progress_sources (source, contributions) "
            "SELECT source, contributions FROM rebuild_sources ORDER BY source"
        )
        c.execute("DROP TABLE rebuild_moments")
        c.execute("DROP TABLE rebuild_sources")


def counts(c: Cursor, as_of: datetime) -> dict[tuple[str, str], int]:
    """Every group's metrics as of a moment: whole days before its day from the daily
    table, whole hours of its day before its hour from the hourly table, and the
    moments of its hour up to as_of."""
    moment = micros(as_of)
    day, hour = day_of(moment), hour_of(moment)
    totals: Counter[tuple[str, str]] = Counter()
    for statement, bounds in (
        ("SELECT grp, metric, SUM(total) FROM rm_progress_daily WHERE day < ?", (day,)),
        *_within_day(day, hour, moment),
    ):
        c.execute(statement + " GROUP BY grp, metric", bounds)
        for group, metric, total in c.fetchall():
            totals[(group, metric)] += int(total)  # PostgreSQL sums bigints as numeric
    return dict(totals)


def _within_day(day: int, hour: int, moment: int) -> tuple[tuple[str, tuple[int, int]], ...]:
    """The whole hours of the day before the moment's hour, the moments of its hour."""
    return (
        (
            "SELECT grp, metric, SUM(total) FROM rm_progress_hourly WHERE hour >= ? AND hour < ?",
            (hour_of(start_of_day(day)), hour),
        ),
        (
            "SELECT grp, metric, SUM(total) FROM rm_progress_moment WHERE at >= ? AND at <= ?",
            (hour * _HOUR, moment),
        ),
    )


def counts_at(c: Cursor, moments: Sequence[datetime]) -> list[dict[tuple[str, str], int]]:
    """counts() as of each of several moments (the chart's: every day's end), the
    daily table read once: each moment's whole days before its day are a running sum
    of it. For one moment, counts() lets the database sum."""
    if not moments:
        return []
    wanted = [(micros(m), day_of(micros(m))) for m in moments]
    c.execute(
        "SELECT day, grp, metric, SUM(total) FROM rm_progress_daily WHERE day < ? "
        "GROUP BY day, grp, metric ORDER BY day",
        (max(day for _, day in wanted),),
    )
    by_day = c.fetchall()
    found: list[dict[tuple[str, str], int]] = [{} for _ in wanted]
    running: Counter[tuple[str, str]] = Counter()
    taken = 0
    for i in sorted(range(len(wanted)), key=lambda i: wanted[i][1]):
        moment, day = wanted[i]
        while taken < len(by_day) and by_day[taken][0] < day:
            _, group, metric, total = by_day[taken]
            running[(group, metric)] += int(total)  # PostgreSQL sums bigints as numeric
            taken += 1
        totals = Counter(running)
        for statement, bounds in _within_day(day, hour_of(moment), moment):
            c.execute(statement + " GROUP BY grp, metric", bounds)
            for group, metric, total in c.fetchall():
                totals[(group, metric)] += int(total)
        found[i] = dict(totals)
    return found


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _figures(get: Callable[[str], int]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for metric in METRICS:
        figures[metric] = get(metric)
        if metric == "signed":
            figures["signing_rate"] = rate(figures["signed"], figures["households"])
    return figures


def report(c: Cursor, as_of: datetime) -> dict[str, Any]:
    """The `report groups --json` document of specs/cli.md."""
    return _report(counts(c, as_of), c, as_of)


def reports(c: Cursor, moments: Sequence[datetime]) -> list[dict[str, Any]]:
    """report() as of each of several moments (the bulletin's chart: every day's end)."""
    return [_report(totals, c, m) for totals, m in zip(counts_at(c, moments), moments, strict=True)]


def _report(totals: Mapping[tuple[str, str], int], c: Cursor, as_of: datetime) -> dict[str, Any]:
    groups = programme.groups(c, created_by=micros(as_of))
    known = {group for group, _ in groups}
    rows = []
    for group, _name in groups:
        row: dict[str, Any] = {"group": group}
        row.update(_figures(lambda metric, g=group: totals.get((g, metric), 0)))  # type: ignore[misc]
        rows.append(row)

    def town(metric: str) -> int:
        if metric == "open_complaints":
            return totals.get((TOTAL, metric), 0)
        return sum(totals.get((group, metric), 0) for group in known)

    return {
        "as_of": as_of.astimezone(LEDGER_TZ).isoformat(),
        "groups": rows,
        "total": _figures(town),
    }


def report_known(
    c: Cursor, as_of: datetime, limit: int, policies: household_rm.PolicyLookup
) -> dict[str, Any]:
    """The bulletin as of a business time from what the ledger had recorded up to
    position limit (`--known-at`): every household's and complaint's timeline folded
    again without the entries recorded later (slower than the stored counts, which
    hold everything recorded)."""
    moment = micros(as_of)
    totals: Counter[tuple[str, str]] = Counter()
    c.execute(household_rm.SELECT_ALL)
    for r in c.fetchall():
        row = household_rm.row_of(r)
        row.timeline = household_rows.known(row.timeline, limit)
        if not row.timeline:
            continue
        for at, group, metric, delta in household_contributions(row, policies):
            if at <= moment:
                totals[(group, metric)] += delta
    for complaint in complaint_rm.every(c):
        complaint.timeline = [entry for entry in complaint.timeline if entry[1] <= limit]
        for at, group, metric, delta in complaint_contributions(complaint):
            if at <= moment:
                totals[(group, metric)] += delta
    return _report(dict(totals), c, as_of)


def ranked(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups ranked for the bulletin: signing rate, then files complete, then id."""
    return sorted(
        rows,
        key=lambda r: (-r["signing_rate"], -r["files_complete"], r["group"]),
    )


def days_between(first: datetime, last: datetime) -> list[datetime]:
    """The end of every business day from first to last, in the ledger's zone."""
    start = first.astimezone(LEDGER_TZ).date()
    end = last.astimezone(LEDGER_TZ).date()
    out = []
    while start <= end:
        out.append(datetime.combine(start, datetime.max.time(), tzinfo=LEDGER_TZ))
        start += timedelta(days=1)
    return out


def first_day(c: Cursor) -> datetime | None:
    c.execute("SELECT MIN(at) FROM rm_progress_moment")
    r = c.fetchone()
    if r is None or r[0] is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=r[0])


def last_day(c: Cursor) -> datetime | None:
    """The business time of the latest change to any group's figures (None: none yet)."""
    c.execute("SELECT MAX(at) FROM rm_progress_moment")
    r = c.fetchone()
    if r is None or r[0] is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=r[0])
