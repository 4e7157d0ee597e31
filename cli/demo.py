"""`oneruler demo`: a realistic programme built from nothing, and its last bulletin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.integrity import write_key_pair
from cli.labels import LANGUAGES
from cli.options import Refused, ledger_at, translate_errors
from cli.reports import print_report
from ledger.application import Ledger
from ledger.checkpoint import StoredCheckpoint, generate_key, parse_signer
from ledger.ingest import ingest
from ledger.reads import Reads
from simulation.programme import Programme, last_day


@click.command("demo")
@click.option(
    "--households",
    default=1431,
    show_default=True,
    type=click.IntRange(1, 2_000_000),
    help="How many households.",
)
@click.option(
    "--groups",
    default=12,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many work groups.",
)
@click.option(
    "--dir",
    "directory",
    default="oneruler-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to put the ledger file.",
)
@click.option(
    "--seed", default=2018, show_default=True, help="The random seed (same seed, same programme)."
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of the bulletin's labels.",
)
@translate_errors
def demo(households: int, groups: int, directory: Path, seed: int, lang: str) -> None:
    """Build a renewal programme from nothing (a roster, a survey week, valuations, a
    signing campaign, reviews, a deviation, complaints, files, payouts) in a fresh
    SQLite ledger, and print the last day's bulletin."""
    path = directory / "xingcheng.db"
    for existing in (path, directory / f"{KEY_STEM}.key"):
        if existing.exists():
            raise Refused(f"{existing} already exists; give another --dir or remove it.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.BadParameter(
            f"cannot create {directory} ({e.strerror}).", param_hint="--dir"
        ) from None
    lines = [json.dumps(c, ensure_ascii=False) for c in Programme(households, groups, seed)]
    with ledger_at(str(path)) as ledger:
        if sys.stderr.isatty():
            with click.progressbar(
                length=len(lines), label="building the programme", file=sys.stderr
            ) as bar:
                report = ingest(ledger, lines, progress=bar.update)
        else:
            report = ingest(ledger, lines)
        if report.rejected:
            first = report.rejections[0]
            raise Refused(f"the demo programme was refused at line {first.line}: {first.reason}")
        checkpoint = sign_checkpoint(ledger, directory)
        click.echo(f"built {households} households in {path}: {report.summary()}")
        click.echo()
        print_report(Reads(ledger), last_day(), lang)
        click.echo()
        click.echo(
            f"checkpoint: size {checkpoint.size}, root {checkpoint.root.hex()} "
            f"(signed with {directory / KEY_STEM}.key; auditors check it with "
            f"{directory / KEY_STEM}.pub)"
        )


# The office's key is named as its log's origin (docs/integrity.md); its files by the
# name's last part.
KEY_NAME = "ledger.example-county.gov.cn/xingcheng-2018"
KEY_STEM = KEY_NAME.rpartition("/")[2]


def sign_checkpoint(ledger: Ledger, directory: Path) -> StoredCheckpoint:
    """The office's key pair, made for the demo, and a signed checkpoint of the log."""
    signer_text, verifier_text = generate_key(KEY_NAME)
    write_key_pair(directory, KEY_STEM, signer_text, verifier_text)
    return ledger.sign_checkpoint([parse_signer(signer_text)])
