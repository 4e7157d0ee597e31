"""The `oneruler` command: an audit ledger for housing-renewal compensation."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from cli import groups

# The commands outside the groups of cli/groups.py, each imported when asked for.
COMMANDS = {
    "ingest": "cli.ingest:ingest_command",
    "login": "cli.identity:login",
    "logout": "cli.identity:logout",
    "demo": "cli.demo:demo",
    "copy": "cli.copy:copy_command",
    "bench": "cli.bench:bench",
    "report": "cli.reports:report",
    "projections": "cli.maintenance:projections",
    "dispute": "cli.ruler:dispute",
    "key": "cli.integrity:key",
    "checkpoint": "cli.integrity:checkpoint",
    "verify": "cli.integrity:verify",
    "prove": "cli.integrity:prove",
    "prove-consistency": "cli.integrity:prove_consistency",
    "audit-verify": "cli.audit:audit_verify",
    "check-consistency": "cli.audit:check_consistency",
    "receipt": "cli.integrity:receipt",
    "witness": "cli.witness:witness",
    "serve": "cli.serve:serve",
}


class Oneruler(groups.LazyGroup):
    """The root command. A failure of what a command runs on (a full disk, a read-only
    file or mount, a lost connection to the server), wherever it is raised, is one
    sentence naming the cause and the remedy, exit 2: it is not a bug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            from cli.options import raise_environment  # only when something failed

            raise_environment(e)
            raise


@click.group(cls=Oneruler, lazy=COMMANDS)
@click.version_option(package_name="oneruler")
def cli() -> None:
    """One ruler for everyone: an event-sourced audit ledger for transparent
    compensation in housing-renewal programmes."""


for command_group in groups.ALL:
    cli.add_command(command_group)


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
