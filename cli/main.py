"""The `oneruler` command: an audit ledger for housing-renewal compensation."""

from __future__ import annotations

import click

from cli import groups, reads, writes  # noqa: F401  (the modules attach their commands)
from cli.ingest import ingest_command


@click.group()
@click.version_option(package_name="oneruler")
def cli() -> None:
    """One ruler for everyone: an event-sourced audit ledger for transparent
    compensation in housing-renewal programmes."""


for command_group in groups.ALL:
    cli.add_command(command_group)
cli.add_command(ingest_command)


def main() -> None:
    cli(prog_name="oneruler")
