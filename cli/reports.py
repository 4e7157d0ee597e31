"""`oneruler report groups`: the daily bulletin's table, as of any moment, for the
terminal, for programs (--json, --csv) and for the office's spreadsheets (--xlsx)."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from cli.groups import LazyGroup
from cli.labels import COLUMNS, label, percent
from cli.options import (
    check_one_format,
    db_option,
    json_option,
    lang_option,
    print_json,
    reads_at,
    translate_errors,
    xlsx_option,
)
from cli.reads import as_of_option, known, known_at_option, moment
from cli.render import as_text_cells, spreadsheet_row, table
from ledger.reads import Reads
from projections import progress


@click.group(
    name="report",
    cls=LazyGroup,
    lazy={
        "bulletin": "cli.bulletin:bulletin_command",
        "consistency": "cli.ruler:consistency_report",
        "disclosure": "cli.ruler:disclosure",
        "late-entries": "cli.checks:late_entries",
    },
)
def report() -> None:
    """Reports: the daily bulletin's table."""


def rows_for_people(document: dict[str, Any], names: dict[str, str], lang: str) -> list[list[Any]]:
    rows = []
    for row in [*document["groups"], {**document["total"], "group": None}]:
        cells: list[Any] = []
        for column in COLUMNS:
            value = row.get(column)
            if column == "group":
                value = (
                    label("total", lang)
                    if value is None
                    else (names.get(value, value) if lang == "zh" else value)
                )
            elif column == "signing_rate":
                value = percent(value)
            cells.append(value)
        rows.append(cells)
    return rows


@report.command("groups")
@as_of_option
@known_at_option
@json_option
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print CSV (one row per group, then the total)."
)
@xlsx_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def groups(
    as_of: str | None,
    known_at: str | None,
    as_json: bool,
    as_csv: bool,
    xlsx: Path | None,
    lang: str,
    db: str | None,
) -> None:
    """Per group and for the town: households, surveyed, valued, signed, signing
    rate, files complete, paid in full and open complaints, as of a business time."""
    check_one_format(as_json, as_csv, xlsx)
    with reads_at(db) as reads:
        document = reads.group_report(moment(as_of, reads), known(known_at))
        names = reads.group_names()
    if as_json:
        print_json(document)
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(
            ["as_of", *COLUMNS]
            if lang == "en"
            else [label("as_of", lang), *(label(c, lang) for c in COLUMNS)]
        )
        for row in [*document["groups"], {**document["total"], "group": "total"}]:
            writer.writerow(spreadsheet_row([document["as_of"], *(row[c] for c in COLUMNS)]))
        return
    if xlsx is not None:
        write_xlsx(xlsx, document, names, lang)
        click.echo(f"wrote {xlsx}")
        return
    show_table(document, names, lang)


def show_table(document: dict[str, Any], names: dict[str, str], lang: str) -> None:
    click.echo(f"{label('as_of', lang)} {document['as_of']}")
    table([label(c, lang) for c in COLUMNS], rows_for_people(document, names, lang))


def print_report(reads: Reads, as_of: datetime, lang: str) -> None:
    """The bulletin table and the ranking, for the terminal."""
    document = reads.group_report(as_of)
    names = reads.group_names()
    show_table(document, names, lang)
    ranking = progress.ranked(document["groups"])
    click.echo()
    click.echo(
        f"{label('rank', lang)}: "
        + "  ".join(
            f"{i}. {names.get(r['group'], r['group']) if lang == 'zh' else r['group']} "
            f"{percent(r['signing_rate'])}"
            for i, r in enumerate(ranking, 1)
        )
    )


def write_xlsx(path: Path, document: dict[str, Any], names: dict[str, str], lang: str) -> None:
    from openpyxl import Workbook  # imported here: slow to import, used by this option only
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "bulletin" if lang == "en" else "日通报"
    sheet.append([label("as_of", lang), document["as_of"]])
    sheet.append([label(c, lang) for c in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in [*document["groups"], {**document["total"], "group": label("total", lang)}]:
        values = [row[c] for c in COLUMNS]
        if lang == "zh":
            values[0] = names.get(values[0], values[0])
        sheet.append(spreadsheet_row(values))
        as_text_cells(sheet[sheet.max_row])
        sheet.cell(
            row=sheet.max_row, column=COLUMNS.index("signing_rate") + 1
        ).number_format = "0.00%"
    try:
        book.save(path)
    except OSError as e:
        raise click.BadParameter(
            f"cannot write {path} ({e.strerror}).", param_hint="--xlsx"
        ) from None
