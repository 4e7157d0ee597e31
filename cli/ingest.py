"""`oneruler ingest FILE`: the JSON Lines commands of specs/ingest.md."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

from cli.credentials import authenticate
from cli.options import (
    Refused,
    db_option,
    fail,
    json_option,
    ledger_at,
    print_json,
    token_file_option,
    translate_errors,
)
from domain.errors import DomainError
from ledger.ingest import DEFAULT_BATCH, IngestReport, ingest


class Reading:
    """The lines of a file, counting the bytes read so that progress can be shown."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.read = 0
        self.shown = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.read += len(line)
            yield line

    def size(self) -> int | None:
        try:
            return os.fstat(self.stream.fileno()).st_size or None
        except (OSError, ValueError, AttributeError):
            return None


@click.command("ingest")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Commands per transaction.",
)
@json_option
@token_file_option
@db_option
@translate_errors
def ingest_command(
    file: BinaryIO, batch_size: int, as_json: bool, token_file: Path | None, db: str | None
) -> None:
    """Apply the JSON Lines commands in FILE (- for standard input), entered by the
    staff member logged in (ONERULER_TOKEN or --token-file; on a terminal without
    one, the password is asked for). Each line's actor must be them; the built-in
    admin may enter lines for other staff (loading a programme, or a night's work
    typed up by the office).

    Each line is applied whole or not at all; a line whose id was already applied
    is skipped, and one whose id was applied to another command is rejected; a bad
    line is rejected with its number and a reason and the rest go on. Exits 1 if
    any line was rejected.

    The read models are up to date when it ends. Past 10,000 commands a second
    process keeps them while this one stores events (on two cores, about 1.4
    times as fast); if it fails, this one catches them up and says so on
    standard error."""
    reading = Reading(file)
    size = reading.size() if not as_json and sys.stderr.isatty() else None
    report = IngestReport()
    stopped = False
    try:
        with ledger_at(db, must_exist=True) as ledger:
            session = authenticate(ledger, None, token_file)
            try:
                if size is None:
                    ingest(ledger, reading, session, batch_size=batch_size, report=report)
                else:
                    with click.progressbar(length=size, label="ingesting", file=sys.stderr) as bar:

                        def advance(_: int) -> None:
                            bar.update(reading.read - reading.shown)
                            reading.shown = reading.read

                        ingest(
                            ledger,
                            reading,
                            session,
                            batch_size=batch_size,
                            progress=advance,
                            report=report,
                        )
            except (Exception, KeyboardInterrupt):
                # Stopped early: --json still prints its one document; then why it
                # stopped, translated as any failure is (and saying what was applied).
                stopped = True
                if as_json:
                    _show(report, as_json)
                raise
    except DomainError as e:
        if not stopped:
            raise
        error = fail(e)
        raise type(error)(report.stopped(error.message)) from None
    except click.ClickException as error:
        if stopped:
            # click declares message Final, yet formats the error from it when it prints;
            # rewording it in place keeps the error's class, context and exit code.
            error.message = report.stopped(error.message)  # type: ignore[misc]
        raise
    _show(report, as_json)
    if report.rejected:
        raise SystemExit(Refused.exit_code)


def _show(report: IngestReport, as_json: bool) -> None:
    """The report: its one JSON document, or each rejection and the summary."""
    for note in report.notes:
        click.echo(note, err=True)
    if as_json:
        print_json(report.as_json())
    else:
        for rejection in report.rejections:
            click.echo(
                f"line {rejection.line} ({rejection.id or 'no id'}): {rejection.reason}", err=True
            )
        click.echo(report.summary())
