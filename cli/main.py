"""The `oneruler` command: an audit ledger for housing-renewal compensation."""

from __future__ import annotations

import os
import sys

import click

from cli import bulletin, complaints, groups, reads, writes  # noqa: F401  (they attach their commands)
from cli.bench import bench
from cli.copy import copy_command
from cli.demo import demo
from cli.ingest import ingest_command
from cli.integrity import COMMANDS as integrity_commands
from cli.maintenance import projections
from cli.reports import report
from cli.ruler import dispute  # (and it attaches report consistency and disclosure)


@click.group()
@click.version_option(package_name="oneruler")
def cli() -> None:
    """One ruler for everyone: an event-sourced audit ledger for transparent
    compensation in housing-renewal programmes."""


for command_group in groups.ALL:
    cli.add_command(command_group)
cli.add_command(ingest_command)
cli.add_command(demo)
cli.add_command(copy_command)
cli.add_command(bench)
cli.add_command(report)
cli.add_command(projections)
cli.add_command(dispute)
for integrity_command in integrity_commands:
    cli.add_command(integrity_command)


def main() -> None:
    try:
        cli(prog_name="oneruler")
    except Exception as e:  # a bug: still one sentence, and the details on request
        if os.environ.get("ONERULER_DEBUG"):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        click.echo(
            f"Error: oneruler failed unexpectedly ({type(e).__name__}: {message}); "
            "a command is applied whole or not at all, so re-run it; set ONERULER_DEBUG=1 "
            "for the details to report.",
            err=True,
        )
        sys.exit(1)
