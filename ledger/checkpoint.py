"""C2SP signed notes, tlog checkpoints and Ed25519 note keys for the ledger's tree heads,
and a checkpoint as the ledger keeps it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# cryptography is imported where a key is made, read or used: every command opens the
# log, few sign or check a checkpoint, and the import is a fiftieth of a second of
# every command's start-up.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "ALGORITHM_ED25519",
    "Checkpoint",
    "CheckpointError",
    "Signer",
    "StoredCheckpoint",
    "Verifier",
    "check_origin",
    "generate_key",
    "key_id",
    "open_note",
    "parse_checkpoint_body",
    "parse_checkpoint_unverified",
    "parse_signer",
    "parse_verifier",
    "sign_note",
    "signer_key_text",
    "verifier_key_text",
    "verify_checkpoint",
]

# Signature type byte for Ed25519 in C2SP signed-note (also Go's sumdb/note algEd25519).
ALGORITHM_ED25519 = 0x01

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
ROOT_SIZE = 32
KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
# C2SP asks verifiers to cap the signature count and to accept at least 16; Go uses 100.
MAX_SIGNATURES = 100
# RFC 9162 tree sizes are 64-bit unsigned integers.
MAX_TREE_SIZE = 2**64 - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_PRIVATE_PREFIX = "PRIVATE+KEY+"
# C2SP's recommended origin: a schema-less URL, here a lower-case host name with at
# least one dot, then any path of URL-safe segments (no spaces, no '+').
_ORIGIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
    r"(?:/[A-Za-z0-9._~-]+)*"
)


class CheckpointError(ValueError):
    """A key, note or checkpoint is malformed or does not verify."""


def _check_key_name(name: str) -> None:
    if not name:
        raise CheckpointError("The key name is empty; choose a name such as example.org/log.")
    if "+" in name:
        raise CheckpointError(
            f"The key name {_quote(name)} contains '+'; choose a name without it."
        )
    if any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise CheckpointError(
            f"The key name {_quote(name)} contains a space or control character; "
            "choose a name without any."
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(
            f"The key name {_quote(name)} is not valid UTF-8 text; choose a plain text name."
        ) from None


def check_origin(origin: str) -> None:
    """Refuse an origin that is not of the C2SP form, such as
    ledger.example-county.gov.cn/xingcheng-2018."""
    if len(origin) > 255 or not _ORIGIN.fullmatch(origin):
        raise CheckpointError(
            f"{_quote(origin)} is not an origin of the C2SP form, a schema-less URL such as "
            "ledger.example-county.gov.cn/xingcheng-2018 (a lower-case host name with a dot, "
            "then a path); choose a name of that form."
        )


def _check_note_text(text: str, what: str) -> bytes:
    """Return the UTF-8 bytes of text, refusing what C2SP forbids in notes."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(f"The {what} is not valid UTF-8 text; it cannot be a note.") from None
    if any(byte < 0x20 and byte != 0x0A for byte in encoded):
        raise CheckpointError(
            f"The {what} contains a control character other than newline; "
            "remove it, as signed notes may not contain any."
        )
    return encoded


def _quote(text: str, limit: int = 60) -> str:
    """Quote untrusted text for an error message without letting it run on."""
    if len(text) > limit:
        return repr(text[:limit] + "...")
    return repr(text)


def _decode_base64(text: str) -> bytes | None:
    """Decode standard base64, accepting only the one canonical encoding of the bytes."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(decoded).decode("ascii") != text:
        return None
    return decoded


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte C2SP key ID of an Ed25519 public key (32 raw bytes) under a name."""
    _check_key_name(name)
    if len(public_key) != KEY_SIZE:
        raise CheckpointError(
            f"An Ed25519 public key is {KEY_SIZE} bytes, not {len(public_key)}; pass the raw key."
        )
    material = name.encode("utf-8") + b"\n" + bytes([ALGORITHM_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True, eq=False)
class Verifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey = field(repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verifier):
            return NotImplemented
        return (self.name, self.key_id, _public_bytes(self.public_key)) == (
            other.name,
            other.key_id,
            _public_bytes(other.public_key),
        )

    def __hash__(self) -> int:
        return hash((self.name, self.key_id, _public_bytes(self.public_key)))

    @property
    def text(self) -> str:
        """The C2SP verifier key text: name+keyid+base64(0x01 || public key)."""
        return verifier_key_text(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether signature is this key's Ed25519 signature of message."""
        from cryptography.exceptions import InvalidSignature

        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class Signer:
    """A named Ed25519 private key that signs notes."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def text(self) -> str:
        """The Go sumdb/note signer key text: PRIVATE+KEY+name+keyid+base64(0x01 || seed)."""
        return signer_key_text(self.name, self.private_key)

    def verifier(self) -> Verifier:
        """The matching public verifier."""
        return Verifier(self.name, self.key_id, self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of message."""
        return self.private_key.sign(message)


def verifier_key_text(name: str, public_key: Ed25519PublicKey) -> str:
    """Encode a public key as C2SP verifier key text."""
    raw = _public_bytes(public_key)
    encoded = base64.b64encode(bytes([ALGORITHM_ED25519]) + raw).decode("ascii")
    return f"{name}+{key_id(name, raw).hex()}+{encoded}"


def signer_key_text(name: str, private_key: Ed25519PrivateKey) -> str:
    """Encode a private key as Go sumdb/note signer key text (it holds the 32-byte seed)."""
    raw_public = _public_bytes(private_key.public_key())
    seed = private_key.private_bytes_raw()
    encoded = base64.b64encode(bytes([ALGORITHM_ED25519]) + seed).decode("ascii")
    return f"{_PRIVATE_PREFIX}{name}+{key_id(name, raw_public).hex()}+{encoded}"


def generate_key(name: str) -> tuple[str, str]:
    """Make a new Ed25519 key pair under name; return (signer key text, verifier key text)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _check_key_name(name)
    private_key = Ed25519PrivateKey.generate()
    return (
        signer_key_text(name, private_key),
        verifier_key_text(name, private_key.public_key()),
    )


def _split_key_fields(text: str, what: str) -> tuple[str, str, bytes]:
    """Split 'name+keyid+base64' into the name, key ID hex and Ed25519 key bytes."""
    # Base64 itself may contain '+', so only the first two '+' are separators.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(
            f"The {what} does not have the form name+keyid+key; check that the whole key was "
            "copied."
        )
    name, id_hex, key_b64 = parts
    try:
        _check_key_name(name)
    except CheckpointError:
        raise CheckpointError(
            f"The {what} has an invalid name {_quote(name)}; a key name must be non-empty "
            "and have no spaces, control characters or '+'."
        ) from None
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise CheckpointError(
            f"The {what}'s ID {_quote(id_hex)} is not 8 hexadecimal digits; check the key text."
        )
    raw = _decode_base64(key_b64)
    if raw is None:
        raise CheckpointError(
            f"The {what}'s key material is not valid standard base64; check the key text."
        )
    if not raw:
        raise CheckpointError(
            f"The {what} has no key material after its ID; check that the whole key was copied."
        )
    if raw[0] != ALGORITHM_ED25519:
        raise CheckpointError(
            f"The {what} is not an Ed25519 key (its algorithm byte is not 0x01); "
            "use a key made by 'oneruler key generate'."
        )
    if len(raw) != 1 + KEY_SIZE:
        raise CheckpointError(
            f"The {what} holds {len(raw) - 1} key bytes instead of {KEY_SIZE}; "
            "check that the whole key was copied."
        )
    return name, id_hex.lower(), raw[1:]


def parse_verifier(text: str) -> Verifier:
    """Parse C2SP verifier key text (name+keyid+base64(0x01 || public key))."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, id_hex, raw = _split_key_fields(text.strip(), "verifier key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise CheckpointError(
            "The verifier key does not hold a valid Ed25519 public key; check the key text."
        ) from None
    expected = key_id(name, raw)
    if expected.hex() != id_hex:
        raise CheckpointError(
            f"The verifier key ID {id_hex} does not match its name and key ({expected.hex()}); "
            "the key text has been altered or mixed up."
        )
    return Verifier(name, expected, public_key)


def parse_signer(text: str) -> Signer:
    """Parse Go sumdb/note signer key text (PRIVATE+KEY+name+keyid+base64(0x01 || seed))."""
    stripped = text.strip()
    if not stripped.startswith(_PRIVATE_PREFIX):
        raise CheckpointError(
            "The signer key does not start with PRIVATE+KEY+; pass the private .key file, "
            "not the public one."
        )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name, id_hex, seed = _split_key_fields(stripped[len(_PRIVATE_PREFIX) :], "signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    expected = key_id(name, _public_bytes(private_key.public_key()))
    if expected.hex() != id_hex:
        raise CheckpointError(
            f"The signer key ID {id_hex} does not match its name and key ({expected.hex()}); "
            "the key text has been altered or mixed up."
        )
    return Signer(name, expected, private_key)


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog checkpoint: the log's origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise CheckpointError(
                "A checkpoint origin must be one non-empty line of text; give the log's name."
            )
        _check_note_text(self.origin, "checkpoint origin")
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size <= MAX_TREE_SIZE
        ):
            raise CheckpointError(
                f"A checkpoint size must be a whole number from 0 to 2**64 - 1, not {self.size!r}."
            )
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_SIZE:
            raise CheckpointError(
                f"A checkpoint root must be {ROOT_SIZE} bytes; pass the SHA-256 tree head."
            )
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line:
                raise CheckpointError(
                    "A checkpoint extension must be one non-empty line of text; "
                    "remove empty or multi-line extensions."
                )
            _check_note_text(line, "checkpoint extension")

    def body(self) -> str:
        """The checkpoint's note text, ending in a newline."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode("ascii"),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as the ledger keeps it: the signed note and the public key that
    checks it (never a private key)."""

    id: int
    origin: str
    size: int
    root: bytes
    note: str
    key_name: str
    verifier_key: str
    created_at: str

    @property
    def verifier_keys(self) -> list[str]:
        """The public keys that signed it: one per line of verifier_key (a checkpoint
        signed with several keys keeps them all)."""
        return [line for line in self.verifier_key.split("\n") if line]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "key": self.verifier_key,
            "created_at": self.created_at,
        }


def sign_note(body: str, signer: Signer, *more_signers: Signer) -> str:
    """Sign a note text with one or more keys and return the signed note."""
    if not body or not body.endswith("\n"):
        raise CheckpointError("A note text must be non-empty and end in a newline; add one.")
    message = _check_note_text(body, "note text")
    lines: list[str] = []
    seen: set[tuple[str, bytes]] = set()
    for each in (signer, *more_signers):
        _check_key_name(each.name)
        if (each.name, each.key_id) in seen:
            continue
        seen.add((each.name, each.key_id))
        signature = base64.b64encode(each.key_id + each.sign(message)).decode("ascii")
        lines.append(f"{SIGNATURE_PREFIX}{each.name} {signature}\n")
    return body + "\n" + "".join(lines)


@dataclass(frozen=True)
class _SignatureLine:
    name: str
    key_id: bytes
    signature: bytes


def _split_note(note: str) -> tuple[str, list[_SignatureLine]]:
    """Split a signed note into its text and its well-formed signature lines."""
    _check_note_text(note, "signed note")
    # C2SP: the text is separated from the signatures by the note's last blank line.
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError(
            "The note has no blank line before its signatures; pass the whole signed note."
        )
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise CheckpointError(
            "The note's signature block is empty or does not end in a newline; "
            "pass the whole signed note."
        )
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(
            f"The note has more than {MAX_SIGNATURES} signatures; it is not one the ledger made."
        )
    parsed: list[_SignatureLine] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(
                f"The note's signature line {_quote(line)} does not start with an em dash and "
                "a space; pass the note exactly as it was signed."
            )
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            _check_key_name(name)
        except CheckpointError:
            raise CheckpointError(
                f"The note's signature line {_quote(line)} has an invalid key name; "
                "pass the note exactly as it was signed."
            ) from None
        raw = _decode_base64(encoded) if encoded else None
        if raw is None or len(raw) <= KEY_ID_SIZE:
            raise CheckpointError(
                f"The note's signature by {name} is not valid base64 of a key ID and a signature; "
                "pass the note exactly as it was signed."
            )
        parsed.append(_SignatureLine(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return text, parsed


def open_note(note: str, verifier: Verifier) -> str:
    """Check a signed note against a key and return its text (ending in a newline).

    Signatures by other keys are ignored, as C2SP requires; any signature claiming to be
    by this key must verify, and at least one must be present.
    """
    text, signatures = _split_note(note)
    message = text.encode("utf-8")
    verified = False
    for line in signatures:
        if line.name != verifier.name or line.key_id != verifier.key_id:
            continue
        if not verifier.verify(message, line.signature):
            raise CheckpointError(
                f"The signature by key {verifier.name} does not match the note; the note has "
                "been altered or was not signed with this key."
            )
        verified = True
    if not verified:
        raise CheckpointError(
            f"The note carries no signature by key {verifier.name}+{verifier.key_id.hex()}; "
            "check that you are using the public key of whoever signed it."
        )
    return text


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint note text strictly (origin, size, root, then extension lines)."""
    if not text.endswith("\n"):
        raise CheckpointError("The checkpoint text does not end in a newline; pass all of it.")
    _check_note_text(text, "checkpoint text")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            "The checkpoint has fewer than three lines; it needs an origin, a size and a root."
        )
    if any(not line for line in lines):
        raise CheckpointError(
            "The checkpoint contains an empty line; every line of a checkpoint must have text."
        )
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text) or len(size_text) > len(str(MAX_TREE_SIZE)):
        raise CheckpointError(
            f"The checkpoint size {_quote(size_text)} is not a decimal number without leading "
            "zeros; "
            "check the second line."
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(
            f"The checkpoint size {size_text} is larger than 2**64 - 1; check the second line."
        )
    root = _decode_base64(root_text)
    if root is None or len(root) != ROOT_SIZE:
        raise CheckpointError(
            f"The checkpoint root {_quote(root_text)} is not standard base64 of {ROOT_SIZE} bytes; "
            "check the third line."
        )
    return Checkpoint(origin, size, root, tuple(extensions))


def verify_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Check a signed checkpoint against a key and return what it states."""
    return parse_checkpoint_body(open_note(note, verifier))


def parse_checkpoint_unverified(note: str) -> Checkpoint:
    """Read a signed checkpoint's size and root WITHOUT checking any signature."""
    text, _ = _split_note(note)
    return parse_checkpoint_body(text)
