"""Finding a household by what a caller or a clerk has at hand: its code, its head's
name or the head's ID number. One row per household, with an index on each."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from domain.household import Household
from domain.values import id_number_as_typed
from projections import households as households_rm
from projections.household_rows import Row
from projections.model import Cursor, ReadModel, micros

# A household's status, the furthest stage it reached (specs/cli.md, household show).
STATUSES = ("registered", "surveyed", "valued", "signed", "paid")
# At most this many households are listed by a search (specs/web.md).
MOST = 100
# A search by part of a code or name, with a status to match, looks at most at this many.
SCANNED = 5_000
# Candidates' households are read this many at a time.
_PAGE = 100


def _key(text: str) -> str:
    """A query or a name as compared: compatibility form, no spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


class HouseholdSearch(ReadModel):
    """rm_household_search: each household's code, group, village, head and ID number,
    the code and head also as compared (`_key`)."""

    rides_folds = True  # a row a household, from its registration
    tables = (
        "CREATE TABLE IF NOT EXISTS rm_household_search ("
        "household TEXT PRIMARY KEY, grp TEXT NOT NULL, village TEXT NOT NULL, "
        "head TEXT NOT NULL, code_key TEXT NOT NULL, head_key TEXT NOT NULL, id_number TEXT)",
        "CREATE INDEX IF NOT EXISTS rm_household_search_code ON rm_household_search (code_key)",
        "CREATE INDEX IF NOT EXISTS rm_household_search_head ON rm_household_search (head_key)",
        "CREATE INDEX IF NOT EXISTS rm_household_search_id ON rm_household_search (id_number)",
        "CREATE INDEX IF NOT EXISTS rm_household_search_grp ON rm_household_search (grp)",
        # The beginnings of codes and names are looked up in byte order (PostgreSQL:
        # COLLATE "C"), whatever the database's own collation, in which a prefix's
        # strings need not be neighbours.
        "CREATE INDEX IF NOT EXISTS rm_household_search_code_bytes "
        "ON rm_household_search (code_key COLLATE BINARY, household)",
        "CREATE INDEX IF NOT EXISTS rm_household_search_head_bytes "
        "ON rm_household_search (head_key COLLATE BINARY, household)",
    )

    def __init__(self) -> None:
        super().__init__()
        self.changed: list[tuple[Any, ...]] = []

    def begin(self, c: Cursor) -> None:
        super().begin(c)
        self.changed = []

    def end(self) -> None:
        self.changed = []

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (one handler per event class below)."""

    @handle.register
    def _registered(self, e: Household.Registered, position: int) -> None:
        self.changed.append(
            (e.household, e.group, e.village, e.head, _key(e.household), _key(e.head), e.id_number)
        )

    def flush(self) -> None:
        if self.changed:
            self.c.executemany(
                "INSERT INTO rm_household_search VALUES (?, ?, ?, ?, ?, ?, ?)", self.changed
            )


_COLUMNS = "SELECT household, grp, village, head FROM rm_household_search"
Candidate = tuple[str, str, str, str]  # household, group, village, head


def _in(group: str | None) -> tuple[str, tuple[str, ...]]:
    """The condition on the group, and its parameter (none: every group)."""
    return (" AND grp = ?", (group,)) if group is not None else ("", ())


def _matching(c: Cursor, q: str, group: str | None, cap: int) -> tuple[list[Candidate], bool]:
    """The households matching q, in code order: exactly by code, head's name or ID
    number; if none does, those whose code or head's name begins with q; if none does,
    those whose code or name holds q anywhere. The first two are an index's look-ups;
    the last is a scan, of at most `cap` matches. And whether they are those beginning
    with q."""
    key = _key(q)
    grouped, extra = _in(group)
    c.execute(
        f"{_COLUMNS} WHERE (code_key = ? OR head_key = ? OR id_number = ?){grouped} "
        "ORDER BY household",
        (key, key, id_number_as_typed(q), *extra),
    )
    exact: list[Candidate] = c.fetchall()
    if exact or not key:
        return exact, False
    # Every string that begins with key sorts, byte by byte, from key up to key
    # followed by the largest character.
    bounds = (key, key + "\U0010ffff")
    found: dict[str, Candidate] = {}
    for column in ("code_key", "head_key"):
        c.execute(
            f"{_COLUMNS} WHERE {column} COLLATE BINARY >= ? AND {column} COLLATE BINARY < ?"
            f"{grouped} ORDER BY {column} COLLATE BINARY, household LIMIT {int(cap)}",
            (*bounds, *extra),
        )
        found.update((row[0], row) for row in c.fetchall())
    if found:
        return [found[household] for household in sorted(found)][:cap], True
    return _holding(c, key, group, cap), False


def _holding(c: Cursor, key: str, group: str | None, cap: int) -> list[Candidate]:
    """Those whose code or head's name holds key anywhere (a scan), in code order."""
    grouped, extra = _in(group)
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    c.execute(
        f"{_COLUMNS} WHERE (code_key LIKE ? ESCAPE '\\' OR head_key LIKE ? ESCAPE '\\')"
        f"{grouped} ORDER BY household LIMIT {int(cap)}",
        (pattern, pattern, *extra),
    )
    return list(c.fetchall())


def _in_group(c: Cursor, group: str, cap: int) -> list[Candidate]:
    c.execute(f"{_COLUMNS} WHERE grp = ? ORDER BY household LIMIT {int(cap)}", (group,))
    return list(c.fetchall())


def _households(c: Cursor, codes: list[str]) -> dict[str, Row]:
    """The rows of several households, by code (those that have one; codes not empty)."""
    marks = ", ".join("?" * len(codes))
    c.execute(f"{households_rm.SELECT} WHERE household IN ({marks})", tuple(codes))
    return {row.household: row for row in map(households_rm.row_of, c.fetchall())}


def search(
    c: Cursor,
    q: str,
    group: str | None,
    status: str | None,
    as_of: datetime,
    limit: int = MOST,
) -> list[dict[str, Any]]:
    """Households matching q (or, q empty, every household of the group), in code
    order, with their status as of a business time (the fold `household show` reads);
    at most `limit`, and never more than MOST."""
    limit = max(0, min(limit, MOST))
    # With a status to match, more candidates than are listed are looked at.
    cap = limit if status is None else SCANNED
    candidates: list[Candidate] = []
    by_beginning = False
    if q.strip():
        candidates, by_beginning = _matching(c, q, group, cap)
    elif group is not None:
        candidates = _in_group(c, group, cap)
    found = _at_stage(c, candidates, status, micros(as_of), limit)
    if not found and status is not None and by_beginning:
        # Those beginning with q are none at that stage: those holding it may be.
        found = _at_stage(c, _holding(c, _key(q), group, cap), status, micros(as_of), limit)
    return found


def _at_stage(
    c: Cursor,
    candidates: list[Candidate],
    status: str | None,
    at: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The candidates registered at `at` (and at that stage, if status), with their
    stage; at most limit."""
    found: list[dict[str, Any]] = []
    rows: dict[str, Row] = {}
    for i, (household, grp, village, head) in enumerate(candidates):
        if len(found) >= limit:
            break
        if i % _PAGE == 0:  # the next page of candidates, in one query
            page = [candidate[0] for candidate in candidates[i : i + _PAGE]]
            rows = _households(c, page)
        row = rows.get(household)
        if row is None or not row.timeline or row.timeline[0].at > at:
            continue  # not yet registered then
        stage = households_rm.fold(row.timeline, at).status
        if status is not None and stage != status:
            continue
        found.append(
            {
                "household": household,
                "group": grp,
                "village": village,
                "head": head,
                "status": stage,
            }
        )
    return found
