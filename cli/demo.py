"""`oneruler demo`: a realistic programme built from nothing, and its last bulletin."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cli.integrity import write_key_pair
from cli.labels import LANGUAGES
from cli.options import Refused, ledger_at, translate_errors
from cli.reports import print_report
from ledger.application import Ledger
from ledger.checkpoint import StoredCheckpoint, generate_key, parse_signer
from ledger.identity import Identity
from ledger.ingest import ingest
from ledger.reads import Reads
from ledger.session import Session
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
    SQLite ledger, and print the last day's bulletin.

    Every staff member, and the built-in admin, gets a password of its own, written
    to passwords.txt beside the ledger (mode 0600), to log in with (oneruler login
    STAFF). The admin logs in and enters the programme, as an office loading its
    spreadsheets would."""
    path = directory / "xingcheng.db"
    passwords_file = directory / PASSWORDS
    for existing in (path, directory / f"{KEY_STEM}.key", passwords_file):
        if existing.exists():
            raise Refused(f"{existing} already exists; give another --dir or remove it.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.BadParameter(
            f"cannot create {directory} ({e.strerror}).", param_hint="--dir"
        ) from None
    commands = list(Programme(households, groups, seed))
    lines = [json.dumps(c, ensure_ascii=False) for c in commands]
    with ledger_at(str(path)) as ledger:
        identity = Identity(ledger)
        passwords = {"admin": new_password()}
        # The demo holds the database, so it sets the built-in admin's password; then
        # the admin logs in and enters the programme for its staff.
        identity.set_password("admin", passwords["admin"], by=None)
        token, _ = identity.login("admin", passwords["admin"])
        admin = identity.authenticate(token)
        with _bar(len(lines), "building the programme") as advance:
            report = ingest(ledger, lines, admin, progress=advance)
        if report.rejected:
            first = report.rejections[0]
            raise Refused(f"the demo programme was refused at line {first.line}: {first.reason}")
        roles = {c["staff"]: c["role"] for c in commands if c["cmd"] == "enroll_staff"}
        set_passwords(identity, admin, roles, passwords)
        write_passwords(passwords_file, passwords, {"admin": "admin", **roles})
        checkpoint = sign_checkpoint(ledger, directory)
        click.echo(f"built {households} households in {path}: {report.summary()}")
        click.echo()
        print_report(Reads(ledger), last_day(), lang)
        click.echo()
        click.echo(
            f"passwords of the admin and the {len(roles)} staff: {passwords_file} (mode 0600); "
            f"log in with oneruler login STAFF --db {path}"
        )
        click.echo(
            f"checkpoint: size {checkpoint.size}, root {checkpoint.root.hex()} "
            f"(signed with {directory / KEY_STEM}.key; auditors check it with "
            f"{directory / KEY_STEM}.pub)"
        )


# The office's key is named as its log's origin (docs/integrity.md); its files by the
# name's last part.
KEY_NAME = "ledger.example-county.gov.cn/xingcheng-2018"
KEY_STEM = KEY_NAME.rpartition("/")[2]
PASSWORDS = "passwords.txt"


@contextmanager
def _bar(length: int, label: str) -> Iterator[Any]:
    """A progress bar on a terminal's standard error, else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def new_password() -> str:
    """16 random characters (96 bits): never one of the commonest, nor a staff id."""
    return secrets.token_urlsafe(12)


def set_passwords(
    identity: Identity, admin: Session, roles: dict[str, str], passwords: dict[str, str]
) -> None:
    """A password for each staff member, set by the admin: each an Argon2id hash (about
    a tenth of a second) and an event."""
    with _bar(len(roles), "setting the staff's passwords") as advance:
        for staff in roles:
            passwords[staff] = new_password()
            identity.set_password(staff, passwords[staff], admin)
            if advance is not None:
                advance(1)


def write_passwords(file: Path, passwords: dict[str, str], roles: dict[str, str]) -> None:
    """The demo's passwords, readable by their owner alone: created with mode 0600,
    never through a file or link that appeared meanwhile."""
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# The demo ledger's passwords (oneruler login STAFF); keep them private.\n")
        handle.write("# staff\trole\tpassword\n")
        for staff, password in passwords.items():
            handle.write(f"{staff}\t{roles[staff]}\t{password}\n")


def sign_checkpoint(ledger: Ledger, directory: Path) -> StoredCheckpoint:
    """The office's key pair, made for the demo, and a signed checkpoint of the log."""
    signer_text, verifier_text = generate_key(KEY_NAME)
    write_key_pair(directory, KEY_STEM, signer_text, verifier_text)
    return ledger.sign_checkpoint([parse_signer(signer_text)])
