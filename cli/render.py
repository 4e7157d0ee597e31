"""Presentation for the terminal: aligned tables and key-value blocks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from cli.labels import heading, word
from domain.values import LEDGER_TZ

# The language of the tables and key-value blocks a command prints (`--lang`).
_language = ["en"]


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Print the tables and blocks of the block in lang: headings, field names and the
    words of cli/labels.py."""
    _language.append(lang)
    try:
        yield
    finally:
        _language.pop()


def language() -> str:
    """The language the tables and blocks are printed in now (`speaking`)."""
    return _language[-1]


def width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * (size - width(text))


def cell(value: Any) -> str:
    value = word(value, _language[-1])
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def recorded(value: str | None) -> str | None:
    """A recorded time as every table shows it: the ledger's zone, whole seconds
    (JSON keeps the full moment)."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(LEDGER_TZ).isoformat(timespec="seconds")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    headers = [heading(h, _language[-1]) for h in headers]
    texts = [[cell(v) for v in row] for row in rows]
    sizes = [max([width(h)] + [width(r[i]) for r in texts]) for i, h in enumerate(headers)]
    click.echo("  ".join(pad(h, sizes[i]) for i, h in enumerate(headers)).rstrip())
    click.echo("  ".join("-" * s for s in sizes))
    for row in texts:
        click.echo("  ".join(pad(v, sizes[i]) for i, v in enumerate(row)).rstrip())


def fields(document: dict[str, Any]) -> None:
    names = {key: heading(key, _language[-1]) for key in document}
    size = max(width(name) for name in names.values())
    for key, value in document.items():
        click.echo(f"{pad(names[key], size)}  {cell(value)}")


# What starts a formula, or may, in a spreadsheet (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: Any) -> Any:
    """A cell for a CSV file or a workbook. Text that starts like a formula gets a
    single quote in front (OWASP's rule), so that a posted list never runs what a name
    or a village held; a number, a negative amount such as -21740.00 included, is left
    as it is, since a spreadsheet reads it as that number and never as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(values: Sequence[Any]) -> list[Any]:
    return [spreadsheet_cell(value) for value in values]


def as_text_cells(cells: Any) -> None:
    """Workbook cells holding text are typed as text: never read as a formula."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"
