"""The auditor's checks of `report consistency` as terminal tables: one section per
check (docs/ruler.md), each listing the households it found, or none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from cli.options import (
    db_option,
    json_option,
    lang_option,
    print_json,
    reads_at,
    translate_errors,
)
from cli.render import language, recorded, speaking, table
from ledger.event_names import event_name

Row = Callable[[dict[str, Any]], list[Any]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    headers: Sequence[str]
    row: Row


def _joined(values: Sequence[Any] | None) -> str:
    return "; ".join(str(v) for v in values or ()) or "-"


SECTIONS = (
    Section(
        "quantities",
        "quantities: valuations pricing other building areas than the survey's",
        ["household", "valuation", "valued by", "differences", "reason", "approved by"],
        lambda e: [
            e["household"],
            e["valuation"],
            e["valued_by"],
            _joined(e["differences"]),
            e["reason"] or "none on record",
            e["approved_by"],
        ],
    ),
    Section(
        "revaluations",
        "revaluations: second valuations that name no valuation they review",
        ["household", "valuation", "valued at", "by", "replaces"],
        lambda e: [e["household"], e["valuation"], e["valued_at"], e["valued_by"], e["replaces"]],
    ),
    Section(
        "shared_id_numbers",
        "shared ID numbers: one head's ID number on several households",
        ["ID number", "households", "heads"],
        lambda e: [
            e["id_number"],
            ", ".join(h["household"] for h in e["households"]),
            ", ".join(h["head"] for h in e["households"]),
        ],
    ),
    Section(
        "invalid_id_numbers",
        "invalid ID numbers: registered before ID numbers were checked",
        ["household", "group", "head", "ID number"],
        lambda e: [e["household"], e["group"], e["head"], e["id_number"]],
    ),
    Section(
        "unapproved_deviations",
        "unapproved deviations: agreements that name a supervisor but no approval on record",
        ["household", "agreement", "agreed", "entitlement", "named", "approval recorded"],
        lambda e: [
            e["household"],
            e["agreement"],
            e["agreed"],
            e["entitlement"],
            e["approved_by"],
            e["approval_recorded_at"] or "none",
        ],
    ),
    Section(
        "vacated_before_paid",
        "vacated before paid in full (compensation first, then relocation)",
        ["household", "vacated at", "agreed", "paid then", "chose to", "reason"],
        lambda e: [
            e["household"],
            e["vacated_at"],
            e["agreed"],
            e["paid_then"],
            bool(e["chose_to"]),  # yes or no, 是 or 否
            e["reason"],
        ],
    ),
)


def show_sections(document: dict[str, Any], sections: Sequence[Section] = SECTIONS) -> None:
    for section in sections:
        entries = document.get(section.key, [])
        click.echo()
        click.echo(f"{section.title}: {len(entries)}")
        if entries:
            table(section.headers, [section.row(e) for e in entries])


LATE = ["position", "event", "household", "complaint", "occurred", "recorded", "by", "entered by"]


def _late_row(e: dict[str, Any]) -> list[Any]:
    lang = language()
    return [
        e["position"],
        event_name(e["event"], lang) if lang == "zh" else e["event"],
        e["household"],
        e["complaint"],
        e["occurred_at"],
        recorded(e["recorded_at"]),
        e["actor"],
        e["entered_by"],
    ]


@click.command("late-entries")
@click.option(
    "--window-days",
    type=click.IntRange(min=0, max=366),
    metavar="N",
    help="Late: recorded more than N days after its business time [default: the "
    "latest policy's late_entry_days, else 3].",
)
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def late_entries(window_days: int | None, as_json: bool, lang: str, db: str | None) -> None:
    """Events recorded more than the policy's window after they happened, and every
    event that changed a figure of a bulletin already checkpointed (recorded after
    the checkpoint, dated before it), with who did it and who entered it."""
    with reads_at(db) as reads:
        document = reads.late_entries(window_days)
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        show_late_entries(document)


def show_late_entries(document: dict[str, Any]) -> None:
    late, after = document["late"], document["after_checkpoint"]
    click.echo(
        f"recorded more than {document['window_days']} days after they happened: {len(late)}"
    )
    if late:
        table([*LATE, "late by (days)"], [[*_late_row(e), e["late_by_days"]] for e in late])
    click.echo()
    click.echo(f"changed a figure of a bulletin already checkpointed: {len(after)}")
    if after:
        table(
            [*LATE, "checkpoint", "checkpointed at"],
            [[*_late_row(e), e["checkpoint"], recorded(e["checkpointed_at"])] for e in after],
        )
