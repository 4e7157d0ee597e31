"""`oneruler projections rebuild`: the read models built again from the first event."""

from __future__ import annotations

import sys

import click

from cli.options import db_option, ledger_at, translate_errors
from ledger.reads import Reads


@click.group(name="projections")
def projections() -> None:
    """The read models (household state, group progress, complaint register)."""


@projections.command("rebuild")
@db_option
@translate_errors
def rebuild(db: str | None) -> None:
    """Empty every read model and rebuild it from the ledger's events, in one
    transaction: interrupted, it leaves the read models as they were. Meanwhile
    other commands read the read models as they were; on SQLite those that write
    are refused as busy until it ends. From 200,000 events a second process folds
    households too, from the other end."""
    with ledger_at(db, must_exist=True) as ledger:
        if sys.stderr.isatty():
            total = Reads(ledger).events_stored()
            with click.progressbar(length=total, label="rebuilding", file=sys.stderr) as bar:
                done, notes = ledger.rebuild_read_models(bar.update)
        else:
            done, notes = ledger.rebuild_read_models()
        for note in notes:
            click.echo(note, err=True)
    click.echo(f"rebuilt the read models from {done} events")
