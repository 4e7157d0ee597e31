"""`oneruler bench`: the ledger's speed and memory on a generated programme."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from cli.options import Refused, print_json, translate_errors
from cli.render import table
from simulation import bench as measure


def rows(figures: dict[str, Any]) -> list[list[str]]:
    def rate(phase: str, key: str) -> str:
        return f"{figures[phase][key]:,.0f}/s" if phase in figures else "-"

    def mb(phase: str) -> str:
        if phase not in figures:
            return "-"
        own = f"{figures[phase]['peak_rss_mb']:,.0f} MB"
        other = figures[phase].get("worker_peak_rss_mb", 0)
        return f"{own} + {other:,.0f} MB" if other else own

    latency = figures["latency"]
    out = [
        [
            "ingest (commands)",
            rate("ingest", "commands_per_second"),
            f"{figures['ingest']['commands']:,} commands, {figures['ingest']['seconds']:.1f} s",
            mb("ingest"),
        ],
        [
            "ingest (events)",
            rate("ingest", "events_per_second"),
            f"{figures['ingest']['events']:,} events",
            f"{figures['ingest'].get('follower_peak_rss_mb', 0):,.0f} MB (read models)",
        ],
    ]
    if "raw" in figures:
        out.append(
            [
                "raw sqlite3 baseline",
                rate("raw", "rows_per_second"),
                f"ingest is {figures['ingest_vs_raw']:.0%} of it",
                mb("raw"),
            ]
        )
    out += [
        [
            "projections rebuild",
            rate("rebuild", "events_per_second"),
            _rebuild_note(figures["rebuild"]),
            mb("rebuild"),
        ],
        [
            "verify",
            rate("verify", "events_per_second"),
            f"{figures['verify']['seconds']:.2f} s",
            mb("verify"),
        ],
        [
            "household show",
            f"{latency['household_show']['median_ms']:.2f} ms",
            f"p99 {latency['household_show']['p99_ms']:.2f} ms",
            mb("latency"),
        ],
        [
            "report groups --as-of",
            f"{latency['report_groups']['median_ms']:.2f} ms",
            f"p99 {latency['report_groups']['p99_ms']:.2f} ms",
            "",
        ],
        [
            "household show (process)",
            f"{figures['startup']['household_show_process']['median_ms']:.0f} ms",
            f"p99 {figures['startup']['household_show_process']['p99_ms']:.0f} ms",
            mb("startup"),
        ],
    ]
    if "audit" in figures:
        out[-3:-3] = _audit_rows(figures["audit"])
    if "reads_during_ingest" in figures:  # runs from before it have none
        during = figures["reads_during_ingest"]
        out.append(
            [
                "household show during ingest",
                f"{during['household_show']['median_ms']:.2f} ms",
                f"p99 {during['household_show']['p99_ms']:.2f} ms, {during['reads']:,} reads",
                f"{figures['reads_during_ingest']['peak_rss_mb']:,.0f} MB",
            ]
        )
    return out


def _audit_rows(audit: dict[str, Any]) -> list[list[str]]:
    """The audit phase's rows (runs from before it have none)."""
    return [
        [
            "checkpoint (map head)",
            f"{audit['checkpoint_seconds']:.2f} s",
            f"log of {audit['log_size']:,}; verify with it {audit['verify_seconds']:.2f} s",
            f"{audit['peak_rss_mb']:,.0f} MB",
        ],
        [
            "audit bundle",
            f"{audit['bundle_bytes']['median'] / 1024:.1f} KiB",
            f"max {audit['bundle_bytes']['max'] / 1024:.1f} KiB; prove "
            f"{audit['prove']['median_ms']:.1f} ms",
            "",
        ],
        [
            "audit-verify",
            f"{audit['audit_verify']['median_ms']:.1f} ms",
            f"p99 {audit['audit_verify']['p99_ms']:.1f} ms",
            "",
        ],
    ]


def _rebuild_note(rebuild: dict[str, Any]) -> str:
    seconds = f"{rebuild['seconds']:.1f} s"
    share = rebuild.get("worker_share", 0.0)
    return f"{seconds}, {share:.0%} folded by a second process" if share else seconds


@click.command("bench")
@click.option(
    "--households",
    default=100_000,
    show_default=True,
    type=click.IntRange(10, 2_000_000),
    help="How many households to generate.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep the programme and the ledger [default: a temporary folder].",
)
@click.option(
    "--db",
    metavar="URL",
    help="Measure this store (it must be empty) instead of a "
    "fresh SQLite file in --dir, e.g. postgresql://... .",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@translate_errors
def bench(households: int, directory: Path | None, db: str | None, as_json: bool) -> None:
    """Generate a programme of N households and measure, phase by phase: ingest
    through the full path (rules, idempotency, events, read models, the log) against
    plain sqlite3 inserting rows of the same sizes; the read models' rebuild;
    verify; household show and report groups latency; the whole-process wait for
    household show; household show latency while another process ingests the
    programme; and each phase's peak memory."""

    def announce(phase: str) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"bench: {phase} ...", err=True)

    with tempfile.TemporaryDirectory(prefix="oneruler-bench-") as scratch:
        where = directory or Path(scratch)
        if db is None and (where / "bench.db").exists():
            raise Refused(f"{where / 'bench.db'} already exists; give another --dir or remove it.")
        try:
            figures = measure.run(households, where, db, on_phase=announce)
        except RuntimeError as e:
            raise Refused(f"{e}; the bench stopped.") from None
    if as_json:
        print_json(figures)
        return
    click.echo(f"{households:,} households on {figures['store']}")
    table(["phase", "rate", "detail", "peak memory"], rows(figures))
