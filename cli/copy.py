"""`oneruler copy --from URL --to URL`: a whole ledger moved into an empty store (SQLite
to PostgreSQL and back), and the proof that the copy holds the same log."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from cli.options import json_option, print_json, translate_errors
from ledger.copy import Progress, copy_ledger


@contextmanager
def _progress(show: bool) -> Iterator[Progress | None]:
    """A bar on standard error, made once the number of events to copy is known."""
    if not show:
        yield None
        return
    with ExitStack() as stack:
        bars: list[Any] = []

        def advance(done: int, total: int) -> None:
            if not bars:
                bars.append(
                    stack.enter_context(
                        click.progressbar(length=total, label="copying", file=sys.stderr)
                    )
                )
            bar = bars[0]
            bar.update(done - bar.pos)

        yield advance


@click.command("copy")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="URL",
    help="The ledger to copy: sqlite:///PATH (or a bare path) or postgresql://...",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="An empty store to copy it into: a new SQLite file, or a PostgreSQL database "
    "or schema (postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Finish a copy into --to that stopped (killed, or failed) where it stopped.",
)
@json_option
@translate_errors
def copy_command(source: str, target: str, resume: bool, as_json: bool) -> None:
    """Copy a whole ledger into an empty store and prove the copy.

    Every event keeps its notification id (so every leaf of the log is the same),
    with the applied command ids and every signed checkpoint. The target's log is
    then recomputed from its rows and must have the source's root at the source's
    size; both are printed. The households' scanned documents go with them, each
    hashed before anything is written (a document that does not hold its SHA-256's
    bytes refuses the copy) and again in the target. Last, the target's read models
    are built. The source is read from one snapshot and may go on being written
    meanwhile.

    Until the copy is proved the target is marked unfinished, and every command
    refuses it; copy --resume finishes it from where it stopped."""
    with _progress(sys.stderr.isatty() and not as_json) as progress:
        report = copy_ledger(source, target, progress=progress, resume=resume)
    if as_json:
        print_json(report.as_json())
    else:
        for line in report.lines():
            click.echo(line)
