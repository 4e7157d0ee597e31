"""C2SP tlog-cosignature (cosignature/v1, Ed25519): witness keys, cosigning a checkpoint,
and checking a quorum of witnesses' cosignatures on a signed note."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.checkpoint import (
    KEY_ID_SIZE,
    KEY_SIZE,
    SIGNATURE_PREFIX,
    SIGNATURE_SIZE,
    CheckpointError,
    parse_checkpoint_body,
)

# The note-level helpers of ledger/checkpoint.py, shared so that a cosigned note is read
# by exactly the same strict rules as the log's own signature.
from ledger.checkpoint import _check_key_name as check_key_name
from ledger.checkpoint import _decode_base64 as decode_base64
from ledger.checkpoint import _quote as quote
from ledger.checkpoint import _split_note as split_note

# As in ledger/checkpoint.py: cryptography is imported where a key is made or used.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "ALGORITHM_COSIGNATURE_V1",
    "Cosignature",
    "CosignatureError",
    "Cosigner",
    "CosignerVerifier",
    "QuorumError",
    "add_cosignatures",
    "check_quorum",
    "cosigned_message",
    "cosigner_key_id",
    "generate_cosigner_key",
    "parse_cosigner",
    "parse_cosigner_verifier",
    "quorum_time",
    "signature_keys",
    "verify_cosignatures",
]

# Signature type byte of timestamped Ed25519 checkpoint cosignatures (C2SP signed-note
# and tlog-cosignature; Go's transparency-dev/formats algEd25519CosignatureV1).
ALGORITHM_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
TIMESTAMP_SIZE = 8
# tlog-cosignature: the timestamp MUST NOT exceed 2**63 - 1.
MAX_TIMESTAMP = 2**63 - 1
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class CosignatureError(CheckpointError):
    """A witness key or cosignature is malformed or does not verify."""


class QuorumError(CosignatureError):
    """Fewer of the given witnesses cosigned a note than the quorum requires."""


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of a cosignature/v1 key: SHA-256(name || 0x0A || 0x04 || key)[:4]."""
    check_key_name(name)
    if len(public_key) != KEY_SIZE:
        raise CosignatureError(
            f"An Ed25519 public key is {KEY_SIZE} bytes, not {len(public_key)}; pass the raw key."
        )
    material = name.encode("utf-8") + b"\n" + bytes([ALGORITHM_COSIGNATURE_V1]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header line, the time line, then the note text."""
    _check_timestamp(timestamp)
    if not body.endswith("\n"):
        raise CosignatureError("A note text must end in a newline; pass all of it.")
    return f"{HEADER}time {timestamp}\n{body}".encode()


def _check_timestamp(timestamp: int) -> None:
    if (
        not isinstance(timestamp, int)
        or isinstance(timestamp, bool)
        or not 0 <= timestamp <= MAX_TIMESTAMP
    ):
        raise CosignatureError(
            f"A cosignature's time must be whole seconds from 0 to 2**63 - 1, not {timestamp!r}."
        )


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


@dataclass(frozen=True, eq=False)
class CosignerVerifier:
    """A witness's public key: checks cosignature/v1 lines made under its name."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey = field(repr=False)

    def _identity(self) -> tuple[str, bytes, bytes]:
        return (self.name, self.key_id, _raw_public(self.public_key))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CosignerVerifier):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    @property
    def text(self) -> str:
        """The C2SP vkey: name+keyid+base64(0x04 || public key)."""
        raw = _raw_public(self.public_key)
        encoded = base64.b64encode(bytes([ALGORITHM_COSIGNATURE_V1]) + raw).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def label(self) -> str:
        """How messages name the witness: its name and key ID."""
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, body: str, timestamp: int, signature: bytes) -> bool:
        """Whether signature is this witness's cosignature of body at timestamp."""
        from cryptography.exceptions import InvalidSignature

        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self.public_key.verify(signature, cosigned_message(body, timestamp))
        except (InvalidSignature, CosignatureError):
            return False
        return True


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: which witness, when, and its note signature line."""

    witness: CosignerVerifier
    timestamp: int
    signature: bytes = field(repr=False)

    @property
    def line(self) -> str:
        """The note signature line, ending in a newline, as a witness returns it."""
        blob = self.witness.key_id + self.timestamp.to_bytes(TIMESTAMP_SIZE, "big")
        encoded = base64.b64encode(blob + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.witness.name} {encoded}\n"


@dataclass(frozen=True, eq=False)
class Cosigner:
    """A witness's private key: cosigns checkpoints at a time it states."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def text(self) -> str:
        """The signer key: PRIVATE+KEY+name+keyid+base64(0x04 || 32-byte seed)."""
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ALGORITHM_COSIGNATURE_V1]) + seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{encoded}"

    def verifier(self) -> CosignerVerifier:
        return CosignerVerifier(self.name, self.key_id, self.private_key.public_key())

    def cosign(self, body: str, timestamp: int) -> Cosignature:
        """Cosign a checkpoint's note text (origin, size, root, extensions) at a time."""
        parse_checkpoint_body(body)
        if timestamp == 0:
            # tlog-witness: a witness's cosignature MUST NOT omit the timestamp.
            raise CosignatureError("A cosignature's time must not be zero; give the current time.")
        signature = self.private_key.sign(cosigned_message(body, timestamp))
        return Cosignature(self.verifier(), timestamp, signature)


def _cosigner_from_seed(name: str, seed: bytes) -> Cosigner:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    return Cosigner(name, cosigner_key_id(name, _raw_public(private_key.public_key())), private_key)


def generate_cosigner_key(name: str) -> tuple[str, str]:
    """Make a new witness key pair under name; return (signer key text, vkey text)."""
    import os

    check_key_name(name)
    cosigner = _cosigner_from_seed(name, os.urandom(KEY_SIZE))
    return cosigner.text, cosigner.verifier().text


def _split_key(text: str, what: str) -> tuple[str, str, bytes]:
    """Split name+keyid+base64(type || key), insisting on the cosignature/v1 type."""
    # Base64 may itself contain '+', so only the first two are separators.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CosignatureError(
            f"The {what} does not have the form name+keyid+key; check that the whole key was "
            "copied."
        )
    name, id_hex, encoded = parts
    try:
        check_key_name(name)
    except CheckpointError:
        raise CosignatureError(
            f"The {what} has an invalid name {quote(name)}; a key name must be non-empty "
            "and have no spaces, control characters or '+'."
        ) from None
    if len(id_hex) != 2 * KEY_ID_SIZE or any(c not in "0123456789abcdefABCDEF" for c in id_hex):
        raise CosignatureError(
            f"The {what}'s ID {quote(id_hex)} is not 8 hexadecimal digits; check the key text."
        )
    raw = decode_base64(encoded)
    if not raw:
        raise CosignatureError(
            f"The {what}'s key material is not valid standard base64; check the key text."
        )
    if raw[0] == 0x01:
        raise CosignatureError(
            f"The {what} is a log's signing key (type 0x01), not a witness key (type 0x04); "
            "use a key made by 'oneruler witness key generate'."
        )
    if raw[0] != ALGORITHM_COSIGNATURE_V1:
        raise CosignatureError(
            f"The {what} is not a cosignature/v1 key (its type byte is 0x{raw[0]:02x}, not "
            "0x04); use a key made by 'oneruler witness key generate'."
        )
    if len(raw) != 1 + KEY_SIZE:
        raise CosignatureError(
            f"The {what} holds {len(raw) - 1} key bytes instead of {KEY_SIZE}; "
            "check that the whole key was copied."
        )
    return name, id_hex.lower(), raw[1:]


def parse_cosigner_verifier(text: str) -> CosignerVerifier:
    """Parse a witness's vkey: name+keyid+base64(0x04 || 32-byte Ed25519 public key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, id_hex, raw = _split_key(text.strip(), "witness key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise CosignatureError(
            "The witness key does not hold a valid Ed25519 public key; check the key text."
        ) from None
    expected = cosigner_key_id(name, raw)
    if expected.hex() != id_hex:
        raise CosignatureError(
            f"The witness key ID {id_hex} does not match its name and key ({expected.hex()}); "
            "the key text has been altered or mixed up."
        )
    return CosignerVerifier(name, expected, public_key)


def parse_cosigner(text: str) -> Cosigner:
    """Parse a witness's signer key: PRIVATE+KEY+name+keyid+base64(0x04 || seed)."""
    stripped = text.strip()
    if not stripped.startswith(_PRIVATE_PREFIX):
        raise CosignatureError(
            "The witness signer key does not start with PRIVATE+KEY+; pass the private .key "
            "file, not the public one."
        )
    name, id_hex, seed = _split_key(stripped[len(_PRIVATE_PREFIX) :], "witness signer key")
    cosigner = _cosigner_from_seed(name, seed)
    if cosigner.key_id.hex() != id_hex:
        raise CosignatureError(
            f"The witness signer key ID {id_hex} does not match its name and key "
            f"({cosigner.key_id.hex()}); the key text has been altered or mixed up."
        )
    return cosigner


def verify_cosignatures(note: str, witnesses: Iterable[CosignerVerifier]) -> list[Cosignature]:
    """Every cosignature on a signed note by one of the witnesses, in the note's order.

    As C2SP signed-note requires, a line whose name or key ID matches none of the
    witnesses (the log's own signature, other witnesses) is ignored, and a line that
    matches one must verify: if it does not, the whole note is refused.
    """
    known = {(w.name, w.key_id): w for w in witnesses}
    text, lines = split_note(note)
    found: list[Cosignature] = []
    for line in lines:
        witness = known.get((line.name, line.key_id))
        if witness is None:
            continue
        blob = line.signature
        if len(blob) != TIMESTAMP_SIZE + SIGNATURE_SIZE:
            raise CosignatureError(
                f"The cosignature by witness {witness.label} is {len(blob)} bytes, not "
                f"{TIMESTAMP_SIZE} of time and {SIGNATURE_SIZE} of signature; the note has "
                "been altered."
            )
        timestamp = int.from_bytes(blob[:TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP or not witness.verify(text, timestamp, blob[TIMESTAMP_SIZE:]):
            raise CosignatureError(
                f"The cosignature by witness {witness.label} does not match the checkpoint; "
                "the note has been altered, or the cosignature is not this witness's."
            )
        found.append(Cosignature(witness, timestamp, blob[TIMESTAMP_SIZE:]))
    return found


def _distinct(witnesses: Iterable[CosignerVerifier]) -> list[CosignerVerifier]:
    # One key given twice is still one witness: it must not count twice to a quorum.
    return list(dict.fromkeys(witnesses))


def check_quorum(
    note: str, witnesses: Sequence[CosignerVerifier], quorum: int
) -> list[Cosignature]:
    """The note's cosignatures by the witnesses, if at least quorum distinct witnesses
    among them cosigned it; QuorumError otherwise.

    This checks the witnesses' cosignatures only: check the log's own signature (with
    ledger.checkpoint.open_note and the log's key) as well.
    """
    distinct = _distinct(witnesses)
    if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 1:
        raise CosignatureError(f"A quorum must be 1 or more witnesses, not {quorum!r}.")
    if quorum > len(distinct):
        raise CosignatureError(
            f"A quorum of {quorum} cannot be met by {len(distinct)} distinct witness "
            f"key{'s' if len(distinct) != 1 else ''}; give more witness keys or a smaller quorum."
        )
    found = verify_cosignatures(note, distinct)
    signed = {cosignature.witness for cosignature in found}
    if len(signed) < quorum:
        names = ", ".join(w.label for w in distinct if w in signed) or "none"
        raise QuorumError(
            f"The checkpoint is cosigned by {len(signed)} of the {len(distinct)} "
            f"witness{'es' if len(distinct) != 1 else ''} given ({names}), and {quorum} "
            f"{'are' if quorum != 1 else 'is'} required: it has not been witnessed enough "
            "to rule out a forked log."
        )
    return found


def quorum_time(cosignatures: Iterable[Cosignature], quorum: int) -> int:
    """The time by which quorum distinct witnesses had each cosigned the checkpoint.

    Each witness counts with its earliest cosignature; the result is the quorum-th
    earliest of those. If fewer than quorum of any quorum witnesses lie, at least one
    honest witness had seen the checkpoint by then, so everything in it was recorded
    no later than this time.
    """
    earliest: dict[CosignerVerifier, int] = {}
    for cosignature in cosignatures:
        seen = earliest.get(cosignature.witness)
        if seen is None or cosignature.timestamp < seen:
            earliest[cosignature.witness] = cosignature.timestamp
    if quorum < 1 or len(earliest) < quorum:
        raise QuorumError(
            f"{len(earliest)} distinct witnesses cosigned, fewer than the quorum of {quorum}."
        )
    return sorted(earliest.values())[quorum - 1]


def signature_keys(note: str) -> list[tuple[str, bytes]]:
    """The name and key ID of each signature line of a signed note, in order (none is
    verified): which keys, the log's and witnesses', claim to have signed it."""
    _, lines = split_note(note)
    return [(line.name, line.key_id) for line in lines]


def add_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The signed note with more signature lines appended, each once, in the order given."""
    split_note(note)
    present = set(note[note.rfind("\n\n") + 2 :].splitlines(keepends=True))
    added: list[str] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX) or not line.endswith("\n") or "\n" in line[:-1]:
            raise CosignatureError(
                f"{quote(line)} is not one note signature line (an em dash, a space, a name, "
                "a space, base64, a newline); pass the lines as the witness returned them."
            )
        if line not in present:
            present.add(line)
            added.append(line)
    combined = note + "".join(added)
    split_note(combined)
    return combined
