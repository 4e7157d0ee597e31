"""`oneruler complaint list`: the hotline's register, with what is overdue."""

from __future__ import annotations

import click

from cli import groups
from cli.options import db_option, json_option, print_json, reads_at, translate_errors
from cli.render import table
from domain.values import LEDGER_TZ


@groups.complaint.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only complaints not yet resolved.")
@click.option("--overdue", "only_overdue", is_flag=True, help="Only complaints past a deadline.")
@json_option
@db_option
@translate_errors
def list_complaints(only_open: bool, only_overdue: bool, as_json: bool, db: str | None) -> None:
    """Every complaint, with its deadlines (acknowledge, resolve) and what is overdue now."""
    with reads_at(db) as reads:
        now = reads.now().astimezone(LEDGER_TZ)
        entries = reads.complaints(now)
    if only_open:
        entries = [e for e in entries if e["status"] == "open"]
    if only_overdue:
        entries = [e for e in entries if e["overdue"]]
    if as_json:
        print_json({"as_of": now.isoformat(), "complaints": entries})
        return
    table(
        ["complaint", "filed_at", "about", "status", "finding", "resolve_by", "overdue", "summary"],
        [
            [
                e["complaint"],
                e["filed_at"],
                " ".join(f"{k}={v}" for k, v in e["about"].items()),
                e["status"],
                e["finding"],
                e["resolve_by"],
                ", ".join(e["overdue"]) or "-",
                e["summary"],
            ]
            for e in entries
        ],
    )
