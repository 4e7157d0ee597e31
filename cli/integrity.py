"""The transparency-log commands: signing keys, checkpoints, verification, and the
proofs an auditor checks without the ledger (docs/integrity.md)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from cli.options import (
    BadInput,
    Refused,
    db_option,
    json_option,
    ledger_at,
    print_json,
    reads_at,
    translate_errors,
)
from cli.render import fields
from ledger.checkpoint import (
    CheckpointError,
    Signer,
    StoredCheckpoint,
    Verifier,
    generate_key,
    parse_checkpoint_unverified,
    parse_signer,
    parse_verifier,
)
from ledger.log.bundle import RECENT

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.cosignature import CosignerVerifier
    from ledger.log.verification import Verification
    from witness.client import WitnessEndpoint


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].lower() + text[1:]


def _read(stream: TextIO, what: str) -> str:
    try:
        return stream.read()
    except UnicodeDecodeError:
        raise BadInput(f"{stream.name} is not UTF-8 text, so it cannot be {what}.") from None


def _signer(stream: TextIO) -> Signer:
    try:
        return parse_signer(_read(stream, "a signer key"))
    except CheckpointError as e:
        raise BadInput(f"{stream.name}: {_sentence(e)}") from None


def _verifier(stream: TextIO) -> Verifier:
    try:
        return parse_verifier(_read(stream, "a public key"))
    except CheckpointError as e:
        raise BadInput(f"{stream.name}: {_sentence(e)}") from None


def pubkey_option(help: str) -> Callable[[Any], Any]:
    return click.option("--pubkey", type=click.File("r", encoding="utf-8"), help=help)


# --- witnesses ------------------------------------------------------------------


def witness_keys_option(help: str) -> Callable[[Any], Any]:
    return click.option(
        "--witness",
        "witness_files",
        multiple=True,
        type=click.File("r", encoding="utf-8"),
        metavar="KEYFILE",
        help=help,
    )


def quorum_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--quorum",
        type=click.IntRange(min=1),
        metavar="T",
        help="How many of the witnesses given must have cosigned [default: all of them].",
    )(f)


def _witness_key(stream: TextIO) -> CosignerVerifier:
    from ledger.cosignature import parse_cosigner_verifier

    try:
        return parse_cosigner_verifier(_read(stream, "a witness's public key"))
    except CheckpointError as e:
        raise BadInput(f"{stream.name}: {_sentence(e)}") from None


def witness_keys(
    streams: Sequence[TextIO], quorum: int | None
) -> tuple[list[CosignerVerifier], int]:
    """The witnesses' public keys given, and how many of them must have cosigned."""
    keys = [_witness_key(stream) for stream in streams]
    return keys, _quorum(keys, quorum)


def _quorum(keys: Sequence[CosignerVerifier], quorum: int | None) -> int:
    distinct = len(set(keys))
    if quorum is not None and not keys:
        raise BadInput("--quorum counts the witnesses given with --witness; give --witness too.")
    if quorum is not None and quorum > distinct:
        raise BadInput(
            f"a quorum of {quorum} cannot be met by {distinct} distinct witness "
            f"key{'s' if distinct != 1 else ''}; give more --witness or a smaller --quorum."
        )
    return distinct if quorum is None else quorum


def _endpoints(options: Sequence[str]) -> list[WitnessEndpoint]:
    from witness.client import WitnessEndpoint, WitnessError

    found = []
    for option in options:
        url, equals, file = option.partition("=")
        if not equals or not url or not file:
            raise BadInput(
                f"--witness {option!r} is not URL=KEYFILE; give the witness's address and its "
                "public key file, such as --witness https://audit.example.gov.cn=audit.pub."
            )
        try:
            with open(file, encoding="utf-8") as stream:
                key = _witness_key(stream)
        except OSError as e:
            raise BadInput(
                f"cannot read {file} ({e.strerror}); give the witness's .pub file."
            ) from None
        try:
            found.append(WitnessEndpoint(url, key))
        except WitnessError as e:
            raise BadInput(str(e)) from None
    return found


def _witnessed(
    ledger: Ledger, stored: StoredCheckpoint, endpoints: Sequence[WitnessEndpoint]
) -> tuple[StoredCheckpoint, int, list[str]]:
    """Ask each witness to cosign the new checkpoint, with the consistency proof from the
    size it last cosigned, and keep the cosignatures it gives on the stored note: the
    checkpoint, the number of distinct witnesses that cosigned, and why the others did not."""
    from domain.errors import DomainError
    from ledger.reads import Reads
    from witness.client import WitnessError, collect

    reads = Reads(ledger)
    held = reads.cosigned_sizes([endpoint.key for endpoint in endpoints])

    def proof_from(old: int) -> list[bytes]:
        try:
            proof = reads.consistency_proof(old, stored.size)["proof"]
        except DomainError as e:
            raise WitnessError(f"no consistency proof from size {old}: {e}") from None
        return [bytes.fromhex(hashed) for hashed in proof]

    collected = collect(endpoints, stored.note, proof_from, old_sizes=lambda e: held.get(e.key, 0))
    if collected.cosignatures:
        stored = ledger.add_cosignatures(stored.id, [c.line for c in collected.cosignatures])
    cosigned = len({c.witness for c in collected.cosignatures})
    return stored, cosigned, collected.failures


# --- keys ---------------------------------------------------------------------


@click.group("key")
def key() -> None:
    """Ed25519 keys that sign the log's checkpoints."""


def write_key_pair(
    directory: Path, name: str, signer_text: str, verifier_text: str
) -> tuple[Path, Path]:
    """Write NAME.key (mode 0600) and NAME.pub in a folder; never overwrite a key."""
    if not directory.is_dir():
        raise BadInput(f"the folder {directory} does not exist; create it or give another --dir.")
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private, public):
        if os.path.lexists(path):  # a link to nowhere too: a key is never written through one
            raise _taken(path)
    made: list[Path] = []
    try:
        # Created with its final mode, so the private key is never readable by others,
        # not even for a moment; O_EXCL refuses a file or link that appeared since.
        for path, text, mode in ((private, signer_text, 0o600), (public, verifier_text, 0o644)):
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                raise _taken(path) from None
            made.append(path)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
    except BaseException:
        for path in made:  # never half a pair
            path.unlink()
        raise
    return private, public


def _taken(path: Path) -> BadInput:
    link = f" (a link to {os.readlink(path)})" if path.is_symlink() else ""
    return BadInput(
        f"{path} already exists{link} and a key is never overwritten; choose another NAME or --dir."
    )


@key.command("generate")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Where to write STEM.key and STEM.pub.",
)
def generate(name: str, directory: Path) -> None:
    """Make a key pair named NAME, which for a log's key is the log's origin (such as
    ledger.example-county.gov.cn/xingcheng-2018): STEM.key, the private signer key
    (mode 0600; it never goes into the ledger), and STEM.pub, the public verifier key
    to hand to auditors, STEM being NAME's last part after '/'."""
    stem = name.rpartition("/")[2]
    if not stem or "\\" in name or stem.startswith("."):
        raise BadInput(
            f"the key name {name!r} ends in its files' name, which cannot be empty, contain "
            "'\\' or start with '.'; choose a name such as "
            "ledger.example-county.gov.cn/xingcheng-2018."
        )
    try:
        signer_text, verifier_text = generate_key(name)
    except CheckpointError as e:
        raise BadInput(_sentence(e)) from None
    private, public = write_key_pair(directory, stem, signer_text, verifier_text)
    click.echo(f"wrote {private} (the private key: keep it secret) and {public} (the public key):")
    click.echo(verifier_text)


# --- checkpoints and verification -----------------------------------------------


def keys_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--key",
        "key_files",
        multiple=True,
        envvar="ONERULER_KEY",
        type=click.File("r", encoding="utf-8"),
        help="A private signer key file, STEM.key, named as the log's origin; give --key "
        "again to sign with several (as while moving to a new key) [env ONERULER_KEY].",
    )(f)


def _signers(key_files: Sequence[TextIO]) -> list[Signer]:
    if not key_files:
        raise BadInput(
            "give the private signer key with --key FILE (or ONERULER_KEY); "
            "make one with oneruler key generate ORIGIN."
        )
    return [_signer(stream) for stream in key_files]


@click.command("checkpoint")
@keys_option
@click.option(
    "--origin",
    help="The log's origin, the checkpoint's first line [default: the key's name; the "
    "first checkpoint fixes it for good, and every key must be named so].",
)
@click.option(
    "--witness",
    "witness_options",
    multiple=True,
    metavar="URL=KEYFILE",
    help="A witness to ask for a cosignature: its address (its add-checkpoint prefix) and "
    "its public key file. Repeat for each witness.",
)
@quorum_option
@db_option
@translate_errors
def checkpoint(
    key_files: tuple[TextIO, ...],
    origin: str | None,
    witness_options: tuple[str, ...],
    quorum: int | None,
    db: str | None,
) -> None:
    """Append the log's map head, sign the log's size and root with every key, and
    keep the checkpoint in the ledger; with --witness, ask each witness to cosign it
    and keep their cosignatures on it. Print the note as kept, exactly, and nothing
    else; a witness that does not cosign is named on standard error, and fewer than
    the quorum exit 1."""
    signers = _signers(key_files)
    endpoints = _endpoints(witness_options)
    needed = _quorum([endpoint.key for endpoint in endpoints], quorum)
    failures: list[str] = []
    cosigned = 0
    with ledger_at(db, must_exist=True) as ledger:
        stored = ledger.sign_checkpoint(signers, origin=origin)
        if endpoints:
            stored, cosigned, failures = _witnessed(ledger, stored, endpoints)
    click.echo(stored.note, nl=False)
    for failure in failures:
        click.echo(f"not cosigned: {failure}", err=True)
    if cosigned < needed:
        given = len({endpoint.key for endpoint in endpoints})
        raise Refused(
            f"the checkpoint (size {stored.size}) is cosigned by {cosigned} of the {given} "
            f"witness{'es' if given != 1 else ''} given, and {needed} "
            f"{'are' if needed != 1 else 'is'} required; it is kept and printed with the "
            "cosignatures it has: run oneruler checkpoint --witness again once the others answer."
        )


@key.command("transition")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The log's current private key, STEM.key, which signs the transition.",
)
@click.option(
    "--to",
    "new_key",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The new public key, STEM.pub, named as the log's origin.",
)
@db_option
@translate_errors
def transition(key_file: TextIO, new_key: TextIO, db: str | None) -> None:
    """Record in the log that its key moves from the current one to a new one: a note
    signed by the current key naming the new, which audit-verify follows. From then
    on checkpoints are signed by the new key. Print the note."""
    old, new = _signer(key_file), _verifier(new_key)
    with ledger_at(db, must_exist=True) as ledger:
        recorded = ledger.record_key_transition(old, new)
    click.echo(recorded.note, nl=False)


@click.command("receipt")
@click.argument("code", metavar="CODE")
@click.option(
    "--kind",
    type=click.Choice(["household", "complaint", "payout"]),
    default="household",
    show_default=True,
    help="What CODE names.",
)
@click.option(
    "--version", type=click.IntRange(min=1), help="The event's version [default: the latest]."
)
@keys_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Where to write the receipt [default: standard output].",
)
@db_option
@translate_errors
def receipt(
    code: str,
    kind: str,
    version: int | None,
    key_files: tuple[TextIO, ...],
    output: str,
    db: str | None,
) -> None:
    """A receipt for an event of a household (or complaint, payout): a note signed by
    the log's key giving the log's origin, the event's leaf index and hash, its
    record, version and recorded time, and the promise that the next checkpoint
    includes it. audit-verify --receipt fails a bundle that lacks it."""
    signers = _signers(key_files)
    with ledger_at(db, must_exist=True) as ledger:
        made = ledger.receipt(signers, kind, code, version)
    if output == "-":
        click.echo(made.note, nl=False)
        return
    try:
        Path(output).write_text(made.note, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {output} ({e.strerror}); give another -o.") from None
    click.echo(
        f"wrote {output}: the receipt for {kind} {code} version {made.version} (leaf {made.index})."
    )


@contextmanager
def _progress(show: bool, length: int) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    with click.progressbar(length=length, label="verifying", file=sys.stderr) as bar:
        yield bar.update


def _against(stream: TextIO) -> str:
    note = _read(stream, "a checkpoint")
    try:
        parse_checkpoint_unverified(note)
    except CheckpointError as e:
        raise BadInput(f"{stream.name} is not a signed checkpoint: {_sentence(e)}") from None
    return note


def _verified(result: Verification, against: str | None, witnessed: int) -> str:
    count = len(result.checkpoints)
    sizes = ", ".join(str(cp.size) for cp in result.checkpoints)
    stored = {
        0: "no stored checkpoint yet",
        1: f"the stored checkpoint (size {sizes})",
    }.get(count, f"{count} stored checkpoints (sizes {sizes})")
    heads = {0: "", 1: ", 1 map head"}.get(result.map_heads, f", {result.map_heads} map heads")
    text = (
        f"OK: {result.events} events, their tree{heads} and {stored} verified in "
        f"{result.seconds:.2f} s"
    )
    if result.against is not None:
        text += f"; the log extends the checkpoint in {against} (size {result.against.size})"
        if witnessed:
            text += f", cosigned by a quorum ({witnessed}) of the witnesses given"
    return text + "."


@click.command("verify")
@click.option(
    "--against",
    type=click.File("r", encoding="utf-8"),
    help="A checkpoint kept outside the ledger (one printed in a bulletin): "
    "also prove that today's log extends it.",
)
@pubkey_option(
    "The public key (NAME.pub) that signed the --against checkpoint "
    "[default: the key of that name stored with the ledger's checkpoints]."
)
@witness_keys_option(
    "A witness's public key (NAME.pub): the --against checkpoint must be cosigned by "
    "the quorum of the witnesses given. Repeat for each witness."
)
@quorum_option
@json_option
@db_option
@translate_errors
def verify(
    against: TextIO | None,
    pubkey: TextIO | None,
    witness_files: tuple[TextIO, ...],
    quorum: int | None,
    as_json: bool,
    db: str | None,
) -> None:
    """Recompute every leaf from the stored events, the tree, the root of every
    checkpoint and every signature; exit 1 naming the first bad position. From
    262,144 events a second process checks the second half."""
    if pubkey is not None and against is None:
        raise BadInput("--pubkey checks the --against checkpoint; give --against FILE too.")
    if witness_files and against is None:
        raise BadInput(
            "--witness checks the cosignatures on the --against checkpoint; give --against "
            "FILE too."
        )
    witnesses, needed = witness_keys(witness_files, quorum)
    note = _against(against) if against is not None else None
    verifier = _verifier(pubkey) if pubkey is not None else None
    show = not as_json and sys.stderr.isatty()
    with reads_at(db) as reads:
        length = reads.log_size() if show else 0
        with _progress(show, length) as advance:
            result = reads.verify(
                against=note,
                pubkey=verifier,
                progress=advance,
                witnesses=witnesses,
                quorum=needed,
            )
    for line in result.notes:
        click.echo(line, err=True)
    if as_json:
        print_json(result.as_json())
    if result.problems:
        raise Refused(result.problems[0].message)
    if not as_json:
        shown = against.name if against is not None else None
        click.echo(_verified(result, shown, needed if witnesses else 0))


@click.command("prove-consistency")
@click.argument("old_size", type=click.IntRange(min=0))
@click.argument("new_size", type=click.IntRange(min=0))
@json_option
@db_option
@translate_errors
def prove_consistency(old_size: int, new_size: int, as_json: bool, db: str | None) -> None:
    """The RFC 9162 consistency proof that the log at NEW_SIZE extends the log at
    OLD_SIZE, with both roots (hex)."""
    with reads_at(db) as reads:
        document = reads.consistency_proof(old_size, new_size)
    if as_json:
        print_json(document)
        return
    fields({k: v for k, v in document.items() if k != "proof"})
    for number, hashed in enumerate(document["proof"], start=1):
        click.echo(f"proof {number}  {hashed}")


# --- audit bundles --------------------------------------------------------------


@click.command("prove")
@click.argument("household_code", metavar="HH")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the audit bundle (- for standard output).",
)
@click.option(
    "--since",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="SIZE",
    help="The size of an earlier checkpoint the auditor holds: the bundle also proves "
    "that the log extends it (the bundle carries such proofs from the latest "
    f"{RECENT} checkpoints anyway).",
)
@json_option
@db_option
@translate_errors
def prove(
    household_code: str, output: str, since: tuple[int, ...], as_json: bool, db: str | None
) -> None:
    """Write an audit bundle for household HH: the events of the household and of its
    complaints and payouts, with their inclusion proofs in the latest checkpoint and
    their places in its map, for oneruler audit-verify."""
    if as_json and output == "-":
        raise BadInput("--json prints a summary on standard output; give -o FILE, not -o -.")
    with reads_at(db) as reads:
        proof, document = reads.bundle(household_code, since)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {output} ({e.strerror}); give another -o.") from None
    events = sum(len(r.events) for r in proof.records)
    others = [f"{r.kind} {r.code}" for r in proof.records if r.kind != "household"]
    summary = {
        "household": household_code,
        "records": [
            {"kind": r.kind, "code": r.code, "events": len(r.events)} for r in proof.records
        ],
        "events": events,
        "checkpoint": proof.checkpoint.id,
        "size": proof.checkpoint.size,
        "bytes": len(text.encode("utf-8")),
        "file": output,
    }
    if as_json:
        print_json(summary)
        return
    records = f"household {household_code}" + (f" and its {', '.join(others)}" if others else "")
    click.echo(
        f"wrote {output}: the {events} events of {records}, with their proofs in checkpoint "
        f"{proof.checkpoint.id} (size {proof.checkpoint.size})."
    )
