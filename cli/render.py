"""Presentation for the terminal: aligned tables and key-value blocks."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import click


def width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * (size - width(text))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    texts = [[cell(v) for v in row] for row in rows]
    sizes = [max([width(h)] + [width(r[i]) for r in texts]) for i, h in enumerate(headers)]
    click.echo("  ".join(pad(h, sizes[i]) for i, h in enumerate(headers)).rstrip())
    click.echo("  ".join("-" * s for s in sizes))
    for row in texts:
        click.echo("  ".join(pad(v, sizes[i]) for i, v in enumerate(row)).rstrip())


def fields(document: dict[str, Any]) -> None:
    size = max(width(k) for k in document)
    for key, value in document.items():
        click.echo(f"{pad(key, size)}  {cell(value)}")


def as_text_cells(cells: Any) -> None:
    """Spreadsheet cells whose text starts like a formula stay text: a posted list must
    never run what a household's name or a village field happened to hold."""
    for cell in cells:
        if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
            cell.data_type = "s"
