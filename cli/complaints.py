"""`oneruler complaint list` and `complaint show`: the hotline's register, with what is
overdue and due soon, and one complaint's whole record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli import groups
from cli.credentials import authenticate
from cli.labels import entered, word
from cli.options import (
    Refused,
    db_option,
    json_option,
    lang_option,
    ledger_at,
    print_json,
    token_file_option,
    translate_errors,
)
from cli.render import fields, language, speaking, table
from domain.roles import SEES_CALLERS
from domain.values import LEDGER_TZ
from ledger.reads import Reads

LANG_HELP = "Language of the labels."


@groups.complaint.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only complaints not yet resolved.")
@click.option("--overdue", "only_overdue", is_flag=True, help="Only complaints past a deadline.")
@click.option(
    "--due-soon",
    "only_due_soon",
    is_flag=True,
    help="Only complaints with a deadline in the next day.",
)
@click.option("--assignee", metavar="STAFF", help="Only complaints assigned to STAFF.")
@click.option("--household", metavar="HH", help="Only complaints about household HH.")
@json_option
@lang_option("en", LANG_HELP)
@db_option
@translate_errors
def list_complaints(
    only_open: bool,
    only_overdue: bool,
    only_due_soon: bool,
    assignee: str | None,
    household: str | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """Every complaint, with its deadlines (acknowledge, resolve), what is overdue now
    and what is due within a day, and who it is assigned to."""
    with ledger_at(db, must_exist=True) as ledger:
        reads = Reads(ledger)
        now = reads.now().astimezone(LEDGER_TZ)
        document = reads.complaint_list(
            now,
            open=only_open,
            overdue=only_overdue,
            due_soon=only_due_soon,
            assignee=assignee,
            household=household,
        )
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        table(
            [
                "complaint",
                "filed_at",
                "about",
                "status",
                "assignee",
                "finding",
                "resolve_by",
                "overdue",
                "due_soon",
                "summary",
            ],
            [
                [
                    e["complaint"],
                    e["filed_at"],
                    " ".join(f"{k}={v}" for k, v in e["about"].items()),
                    e["status"],
                    e["assignee"],
                    e["finding"],
                    e["resolve_by"],
                    ", ".join(e["overdue"]) or None,
                    ", ".join(e["due_soon"]) or None,
                    e["summary"],
                ]
                for e in document["complaints"]
            ],
        )


@groups.complaint.command("show")
@click.argument("complaint_code", metavar="C")
@click.option(
    "--contact",
    is_flag=True,
    help="Show the caller's name and telephone in full (you log in: admin, hotline or "
    "supervisor staff only) [default: masked].",
)
@token_file_option
@json_option
@lang_option("en", LANG_HELP)
@db_option
@translate_errors
def show_complaint(
    complaint_code: str,
    contact: bool,
    token_file: Path | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """Complaint C's whole record: what it is about, who called, its deadlines to
    acknowledge and to resolve, who it is assigned to, its acknowledgement, notes,
    findings and reopenings, each with who and when."""
    with ledger_at(db, must_exist=True) as ledger:
        role = None
        if contact:
            session = authenticate(ledger, None, token_file)
            if session.role not in SEES_CALLERS:
                raise Refused(
                    f"{session.staff} is {session.role} staff and may not see a caller's "
                    "contact; only admin, hotline or supervisor staff may (leave out --contact "
                    "to see it masked)."
                )
            role = session.role
        document = Reads(ledger).complaint(complaint_code, role=role)
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        show_record(document)


def show_record(d: dict[str, Any]) -> None:
    caller = d["caller"]
    fields(
        {
            "complaint": d["complaint"],
            "channel": d["channel"],
            "about": " ".join(f"{k}={v}" for k, v in d["about"].items()),
            "summary": d["summary"],
            "caller": caller["name"] if caller else None,
            "phone": caller["phone"] if caller else None,
            "status": d["status"],
            "assignee": d["assignee"],
            "filed_at": d["filed_at"],
            "acknowledge_by": d["acknowledge_by"],
            "acknowledged_at": d["acknowledged_at"],
            "resolve_by": d["resolve_by"],
            "resolved_at": d["resolved_at"],
            "finding": d["finding"],
            "overdue": ", ".join(d["overdue"]) or None,
            "due_soon": ", ".join(d["due_soon"]) or None,
        }
    )
    click.echo()
    table(
        ["occurred_at", "actor", "event", "details"],
        [
            [
                e["occurred_at"],
                entered(e["actor"], e["entered_by"], language()),
                e["event"],
                _details(e),
            ]
            for e in d["record"]
        ],
    )


_DETAILS = ("summary", "note", "text", "assignee", "finding", "outcome", "reason")


def _details(entry: dict[str, Any]) -> str:
    # A finding is one of the ledger's words (属实 in Chinese); the rest is free text.
    return "; ".join(
        str(word(entry[k], language()) if k == "finding" else entry[k])
        for k in _DETAILS
        if entry.get(k) is not None
    )
