"""The payee roster against the ID numbers (`report consistency`): one number on
several households, and numbers that fail the GB 11643 check digit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from domain.errors import InvalidInput
from domain.values import parse_id_number


class Registered(Protocol):
    """A household as registered (projections.consistency.Record)."""

    household: str
    group: str
    village: str
    head: str
    id_number: str | None


def _where(record: Registered) -> dict[str, Any]:
    return {"household": record.household, "group": record.group, "village": record.village}


def roster_checks(records: Sequence[Registered]) -> dict[str, list[dict[str, Any]]]:
    """The payee roster against the ID numbers: one number on several households (a
    person may own two houses: listed, not refused), and numbers that fail the check
    digit (registered before numbers were checked)."""
    by_number: dict[str, list[Registered]] = {}
    invalid = []
    for record in records:
        number = record.id_number
        if number is None:
            continue
        by_number.setdefault(number, []).append(record)
        try:
            parse_id_number(number)
        except InvalidInput:
            invalid.append({**_where(record), "id_number": number, "head": record.head})
    shared = [
        {
            "id_number": number,
            "households": [
                {**_where(r), "head": r.head} for r in sorted(found, key=lambda r: r.household)
            ],
        }
        for number, found in sorted(by_number.items())
        if len(found) > 1
    ]
    return {"shared_id_numbers": shared, "invalid_id_numbers": invalid}
