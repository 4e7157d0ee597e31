"""The auditor's commands, which need no ledger: checking an audit bundle (with the
office's key, the log's origin, the auditor's kept checkpoint and receipts), and
checking that one signed checkpoint extends another (docs/integrity.md)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import click

from cli.integrity import (
    _read,
    _sentence,
    _verifier,
    pubkey_option,
    quorum_option,
    witness_keys,
    witness_keys_option,
)
from cli.options import BadInput, Refused, json_option, print_json, read_json
from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Verifier,
    parse_checkpoint_unverified,
    verify_checkpoint,
)
from ledger.log import audit
from ledger.log.notes import NoteError, Receipt, parse_receipt


def _json_file(stream: TextIO, what: str, hint: str) -> Any:
    return read_json(_read(stream, what), stream.name, hint)


def _note_file(stream: TextIO) -> tuple[str, Checkpoint]:
    note = _read(stream, "a signed checkpoint")
    try:
        return note, parse_checkpoint_unverified(note)
    except CheckpointError as e:
        raise BadInput(f"{stream.name} is not a signed checkpoint: {_sentence(e)}") from None


def _receipts(streams: Sequence[TextIO]) -> list[Receipt]:
    found = []
    for stream in streams:
        try:
            found.append(parse_receipt(_read(stream, "a receipt")))
        except NoteError as e:
            raise BadInput(f"{stream.name}: {e}") from None
    return found


def _evidence(notes: Sequence[str], as_json: bool, problem: str) -> None:
    """On a failure that two signed notes show: print both (they are the evidence)."""
    if as_json:
        print_json({"ok": False, "problem": problem, "evidence": list(notes)})
        return
    if notes:
        click.echo("The two signed notes, which together are the evidence:\n")
        click.echo("\n".join(notes), nl=False)


# --- the auditor's state: the latest checkpoint seen of each log ------------------------


class State:
    """A folder of the latest checkpoint the auditor has seen of each log, one file per
    origin, replaced only by a later checkpoint that was shown to extend it."""

    def __init__(self, directory: Path, origin: str) -> None:
        self.path = directory / (quote(origin, safe="") + ".checkpoint")
        self.directory = directory

    def known(self) -> tuple[Checkpoint, str] | None:
        try:
            note = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"cannot read {self.path} ({e}); check --state.") from None
        try:
            return parse_checkpoint_unverified(note), note
        except CheckpointError as e:
            raise BadInput(
                f"{self.path} is not a signed checkpoint ({_sentence(e)}); remove it or give "
                "another --state."
            ) from None

    def keep(self, checkpoint: Checkpoint, note: str) -> None:
        known = self.known()
        if known is not None and known[0].size >= checkpoint.size:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Replaced whole or not at all: a crash leaves the old checkpoint or the new.
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(note)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as e:
            raise BadInput(f"cannot write {self.path} ({e.strerror}); check --state.") from None


@click.command("audit-verify")
@click.argument("bundle_file", metavar="FILE", type=click.File("r", encoding="utf-8"))
@pubkey_option(
    "The office's public key (STEM.pub); the bundle's key must be this one, or one it "
    "named in a key transition the bundle carries."
)
@click.option("--origin", help="The log's origin: the bundle's checkpoint must be of this log.")
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder keeping the latest checkpoint seen of each log: the bundle's must extend "
    "it (a consistency proof), and then replaces it. Needs --origin.",
)
@click.option(
    "--receipt",
    "receipt_files",
    multiple=True,
    type=click.File("r", encoding="utf-8"),
    help="A receipt the office gave (oneruler receipt): the bundle must hold its event. "
    "Give it again for several.",
)
@click.option(
    "--late-window",
    type=click.FloatRange(min=0),
    default=audit.DEFAULT_LATE_WINDOW.days,
    show_default=True,
    metavar="DAYS",
    help="How long after the checkpoint before it an event may say it happened: an event "
    "recorded later than this after its business time fails the bundle as entered late.",
)
@witness_keys_option(
    "A witness's public key (NAME.pub): the bundle's checkpoint must be cosigned by the "
    "quorum of the witnesses given, whose times then bound when each event was recorded. "
    "Repeat for each witness."
)
@quorum_option
@json_option
def audit_verify(
    bundle_file: TextIO,
    pubkey: TextIO | None,
    origin: str | None,
    state_dir: Path | None,
    receipt_files: tuple[TextIO, ...],
    late_window: float,
    witness_files: tuple[TextIO, ...],
    quorum: int | None,
    as_json: bool,
) -> None:
    """Check an audit bundle with nothing but FILE (and what you hold: the office's
    key, its log's origin, your receipts, the checkpoint you saw last): no ledger, no
    database. The signature, every event's inclusion in the checkpoint, that each
    record runs from version 1 up to the latest version the log's map holds, that the
    household's complaints and payouts are all there, that what the bundle shows is
    what its leaves say, that no event was entered long after it happened, and with
    --witness that the witnesses cosigned the checkpoint; then print the events as
    the leaves say them."""
    if state_dir is not None and origin is None:
        raise BadInput("--state keeps a checkpoint per log; give the log with --origin ORIGIN.")
    document = _json_file(bundle_file, "an audit bundle", "give the file oneruler prove wrote.")
    verifier = _verifier(pubkey) if pubkey is not None else None
    receipts = _receipts(receipt_files)
    witnesses, needed = witness_keys(witness_files, quorum)
    state = State(state_dir, origin) if state_dir is not None and origin is not None else None
    known = state.known() if state is not None else None
    try:
        report = audit.audit_verify(
            document,
            verifier,
            origin=origin,
            known=known,
            receipts=receipts,
            late_window=timedelta(days=late_window),
            witnesses=witnesses,
            quorum=needed,
        )
    except audit.BundleRejected as e:
        _evidence(e.evidence, as_json, str(e))
        if as_json and not e.evidence:
            print_json({"ok": False, "problem": str(e)})
        raise Refused(str(e)) from None
    if state is not None:
        state.keep(report.checkpoint, report.note)
    if as_json:
        print_json(report.as_json())
        return
    summary = report.summary()
    if verifier is None:
        summary = summary.removesuffix(".") + (
            " (the bundle's own key: give --pubkey with the office's STEM.pub to know "
            "it is theirs)."
        )
    click.echo(summary)
    for event in report.events:
        click.echo(_event_line(event))
    for note in report.notes:
        click.echo(f"note: {note}")


_SHOWN_FIRST = ("type", "version", "occurred_at", "recorded_at", "actor", "command")


def _event_line(shown: dict[str, Any]) -> str:
    """One event as its leaf says it: where, what, when, who, then its own fields."""
    event = shown["event"]
    rest = {k: v for k, v in event.items() if k not in _SHOWN_FIRST}
    fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in rest.items())
    return (
        f"  leaf {shown['index']}  {shown['record']} v{event['version']}  {event['type']}  "
        f"{event.get('occurred_at', '-')}  {event.get('actor', '')}  {fields}".rstrip()
    )


@click.command("check-consistency")
@click.argument("old_file", metavar="OLD", type=click.File("r", encoding="utf-8"))
@click.argument("new_file", metavar="NEW", type=click.File("r", encoding="utf-8"))
@click.argument("proof_file", metavar="PROOF", type=click.File("r", encoding="utf-8"))
@click.option(
    "--pubkey",
    "pubkeys",
    multiple=True,
    type=click.File("r", encoding="utf-8"),
    help="A public key (STEM.pub) that may have signed the notes; give it again for "
    "several (a log's old and new key).",
)
@json_option
def check_consistency(
    old_file: TextIO,
    new_file: TextIO,
    proof_file: TextIO,
    pubkeys: tuple[TextIO, ...],
    as_json: bool,
) -> None:
    """Check offline that the signed checkpoint NEW extends the signed checkpoint OLD,
    with PROOF, the consistency proof (prove-consistency --json). On a failure both
    notes are printed: together they show that the log forked or was rewritten."""
    old_note, old = _note_file(old_file)
    new_note, new = _note_file(new_file)
    keys = [_verifier(stream) for stream in pubkeys]
    for note, stream in ((old_note, old_file), (new_note, new_file)):
        _check_signed(note, keys, stream.name)
    document = _json_file(
        proof_file, "a consistency proof", "give what oneruler prove-consistency --json printed."
    )
    proof = _proof_hashes(document, proof_file.name, old, new)
    notes: tuple[str, ...] = (old_note, new_note)
    problem = None
    if old.origin != new.origin:
        problem = f"the two checkpoints are of different logs ({old.origin} and {new.origin})."
        notes = ()
    elif old.size > new.size:
        problem = (
            f"OLD is the larger checkpoint (size {old.size} against {new.size}); give the older "
            "one first."
        )
        notes = ()
    elif not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
        problem = (
            f"the log {new.origin} at size {new.size} does not extend its checkpoint at size "
            f"{old.size}: the proof fails, so the log forked or its history was rewritten; the "
            "two signed notes below are the evidence."
        )
    if problem is not None:
        _evidence(notes, as_json, problem)
        if as_json and not notes:
            print_json({"ok": False, "problem": problem})
        raise Refused(problem)
    signed = "signed by the keys given" if keys else "signatures not checked: give --pubkey"
    if as_json:
        print_json(
            {
                "ok": True,
                "origin": new.origin,
                "old_size": old.size,
                "new_size": new.size,
                "signatures_checked": bool(keys),
            }
        )
        return
    click.echo(
        f"OK: the log {new.origin} at size {new.size} extends its checkpoint at size "
        f"{old.size} ({signed})."
    )


def _check_signed(note: str, keys: Sequence[Verifier], name: str) -> None:
    if not keys:
        return
    for key in keys:
        try:
            verify_checkpoint(note, key)
        except CheckpointError:
            continue
        return
    raise Refused(f"{name} is not signed by any key given with --pubkey.")


def _proof_hashes(document: Any, name: str, old: Checkpoint, new: Checkpoint) -> list[bytes]:
    if not (
        isinstance(document, dict)
        and isinstance(document.get("proof"), list)
        and all(isinstance(h, str) for h in document["proof"])
    ):
        raise BadInput(
            f"{name} holds no 'proof' list; give what oneruler prove-consistency --json printed."
        )
    if (document.get("old_size"), document.get("new_size")) != (old.size, new.size):
        raise BadInput(
            f"{name} proves sizes {document.get('old_size')} to {document.get('new_size')}, but "
            f"the checkpoints are of sizes {old.size} and {new.size}; give the proof between them."
        )
    try:
        return [bytes.fromhex(h) for h in document["proof"]]
    except ValueError:
        raise BadInput(f"{name}'s proof hashes are not hexadecimal.") from None
