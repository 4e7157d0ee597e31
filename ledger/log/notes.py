"""The log's other signed notes (C2SP signed-note, like its checkpoints): the key
transition, by which the log's key names the key that replaces it, and the receipt,
by which the log promises that a just-written event is in its next checkpoint. Their
texts, their signing and their checks; pure, for the auditor's side too."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.checkpoint import (
    CheckpointError,
    Signer,
    Verifier,
    open_note,
    parse_verifier,
    sign_note,
)

__all__ = [
    "KINDS",
    "RECEIPT_HEADER",
    "TRANSITION_HEADER",
    "KeyChain",
    "NoteError",
    "Receipt",
    "Transition",
    "check_receipt",
    "parse_receipt",
    "parse_transition",
    "sign_receipt",
    "sign_transition",
]

# The first line of each note: no checkpoint starts so (its second line would have to
# be a size), so neither can be taken for a checkpoint, nor for the other.
TRANSITION_HEADER = "oneruler key transition v1"
RECEIPT_HEADER = "oneruler receipt v1"
_PROMISE = "promise the next checkpoint includes this leaf"

# The records a receipt can be for, as the ids name their kinds (domain/ids.py).
KINDS = ("household", "complaint", "payout")


class NoteError(ValueError):
    """A transition or a receipt is malformed, or not signed by the key it must be."""


def _signed_text(note: str, verifier: Verifier, what: str) -> str:
    try:
        return open_note(note, verifier)
    except CheckpointError as e:
        raise NoteError(f"the {what} does not verify: {str(e)[:1].lower()}{str(e)[1:]}") from None


def _lines(note: str, header: str, count: int, what: str) -> list[str]:
    text, _, _ = note.rpartition("\n\n")
    lines = text.split("\n")
    if not lines or lines[0] != header or len(lines) != count:
        raise NoteError(
            f"the file is not a {what} as oneruler writes them (its text must be "
            f"{count} lines starting {header!r})."
        )
    return lines


# --- key transitions ------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """The log `origin` moves from key `old` to key `new`; signed by `old`."""

    origin: str
    old: Verifier
    new: Verifier
    note: str

    def body(self) -> str:
        return f"{TRANSITION_HEADER}\n{self.origin}\nfrom {self.old.text}\nto {self.new.text}\n"


def sign_transition(origin: str, old: Signer, new: Verifier) -> Transition:
    unsigned = Transition(origin, old.verifier(), new, "")
    return Transition(origin, unsigned.old, new, sign_note(unsigned.body(), old))


def parse_transition(note: str) -> Transition:
    """A key transition, checked to be signed by the key it moves from."""
    lines = _lines(note, TRANSITION_HEADER, 4, "key transition")
    origin, old_line, new_line = lines[1:]
    if not (old_line.startswith("from ") and new_line.startswith("to ")):
        raise NoteError(
            "the key transition does not name its keys on lines 'from KEY' and 'to KEY'."
        )
    try:
        old = parse_verifier(old_line.removeprefix("from "))
        new = parse_verifier(new_line.removeprefix("to "))
    except CheckpointError as e:
        raise NoteError(
            f"a key of the key transition is unusable: {str(e)[:1].lower()}{str(e)[1:]}"
        ) from None
    _signed_text(note, old, "key transition")
    return Transition(origin, old, new, note)


class KeyChain:
    """The keys that may sign a log's notes, from one trusted start (the key an
    auditor holds, or the keys of a log's latest checkpoint), following every
    transition signed by a key then current: each replaces its old key by its new."""

    def __init__(self, start: Iterable[Verifier]) -> None:
        self.current: list[Verifier] = list(dict.fromkeys(start))
        # Every key the chain has held: a receipt may be signed by one since replaced.
        self.seen: list[Verifier] = list(self.current)

    def follow(self, transitions: Sequence[Transition], origin: str | None = None) -> None:
        mine = [t for t in transitions if origin is None or t.origin == origin]
        for transition in mine:
            if transition.old in self.current and transition.new not in self.current:
                self.current = [
                    transition.new if key == transition.old else key for key in self.current
                ]
                if transition.new not in self.seen:
                    self.seen.append(transition.new)
        # Back, too: a key that handed over to one the chain holds was the log's key
        # before it (it signed the handover), so what it signed then is the log's.
        for transition in reversed(mine):
            if transition.new in self.seen and transition.old not in self.seen:
                self.seen.append(transition.old)


# --- receipts -------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """The log `origin` holds record `kind` `code`'s version `version` as leaf `index`
    (of hash `leaf_hash`), recorded at `recorded_at`, and promises that its next
    checkpoint includes it."""

    origin: str
    index: int
    leaf_hash: bytes
    kind: str
    code: str
    version: int
    recorded_at: datetime
    note: str = ""

    def body(self) -> str:
        return (
            f"{RECEIPT_HEADER}\n{self.origin}\n"
            f"leaf {self.index} {base64.b64encode(self.leaf_hash).decode('ascii')}\n"
            f"{self.kind} {self.code}\nversion {self.version}\n"
            f"recorded {self.recorded_at.isoformat()}\n{_PROMISE}\n"
        )

    @property
    def record(self) -> str:
        return f"{self.kind} {self.code}"


def sign_receipt(receipt: Receipt, signers: Sequence[Signer]) -> Receipt:
    note = sign_note(receipt.body(), *signers)
    return Receipt(
        receipt.origin,
        receipt.index,
        receipt.leaf_hash,
        receipt.kind,
        receipt.code,
        receipt.version,
        receipt.recorded_at,
        note,
    )


def parse_receipt(note: str) -> Receipt:
    """A receipt's fields (its signature is checked against the log's keys apart)."""
    lines = _lines(note, RECEIPT_HEADER, 7, "receipt")
    origin, leaf, record, version, recorded, promise = lines[1:]
    kind, _, code = record.partition(" ")
    parts = leaf.split(" ")
    try:
        if not (
            len(parts) == 3
            and parts[0] == "leaf"
            and parts[1].isdigit()
            and kind in KINDS
            and code
            and version.startswith("version ")
            and version[8:].isdigit()
            and recorded.startswith("recorded ")
            and promise == _PROMISE
        ):
            raise ValueError
        leaf_hash = base64.b64decode(parts[2], validate=True)
        recorded_at = datetime.fromisoformat(recorded[9:])
        if len(leaf_hash) != 32 or recorded_at.tzinfo is None:
            raise ValueError
    except (ValueError, binascii.Error):
        raise NoteError(
            "the receipt's lines are not those oneruler writes (leaf INDEX HASH, the record, "
            "version N, recorded TIME and the promise); it was altered."
        ) from None
    return Receipt(
        origin, int(parts[1]), leaf_hash, kind, code, int(version[8:]), recorded_at, note
    )


def check_receipt(receipt: Receipt, keys: Sequence[Verifier]) -> Verifier:
    """The key among `keys` that signed the receipt."""
    for key in keys:
        try:
            open_note(receipt.note, key)
        except CheckpointError:
            continue
        return key
    names = ", ".join(f"{k.name}+{k.key_id.hex()}" for k in keys)
    raise NoteError(
        f"the receipt for {receipt.record} version {receipt.version} is not signed by the "
        f"log's key ({names}): it is not the office's receipt, or it was altered."
    )
