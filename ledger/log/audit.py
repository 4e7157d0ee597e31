"""The auditor's side of the log: the leaf and audit-bundle formats, the bundle of a
household's proven events, and its offline check, which needs the bundle (and the
office's public key) and nothing else: no database, no store, no ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from uuid import UUID

import msgpack

from domain.errors import RuleViolation
from domain.ids import household_id
from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    StoredCheckpoint,
    Verifier,
    parse_verifier,
    verify_checkpoint,
)

__all__ = [
    "BUNDLE_FORMAT",
    "AuditReport",
    "BundleRejected",
    "HouseholdProof",
    "LeafRow",
    "ProvenEvent",
    "audit_verify",
    "bundle",
    "leaf_bytes",
]

BUNDLE_FORMAT = "oneruler-audit-bundle/1"

# (notification id, originator id as 16 bytes, originator version, topic, state)
LeafRow: TypeAlias = tuple[int, bytes, int, str, bytes]


class BundleRejected(RuleViolation):
    """An audit bundle does not prove what it claims."""


def leaf_bytes(
    notification_id: int, originator_id: bytes, version: int, topic: str, state: bytes
) -> bytes:
    """The leaf of one stored event: msgpack [id, originator id, version, topic, state]."""
    packed: bytes = msgpack.packb(
        [notification_id, originator_id, version, topic, state], use_bin_type=True
    )
    return packed


# --- the bundle ------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEvent:
    """One of a household's stored events, its leaf, and its inclusion proof."""

    index: int
    notification_id: int
    version: int
    topic: str
    state: bytes
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class HouseholdProof:
    household: str
    originator_id: UUID
    checkpoint: StoredCheckpoint
    events: list[ProvenEvent]


def bundle(proof: HouseholdProof, decoded: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The audit bundle (docs/integrity.md); decoded[i] describes proof.events[i] for people."""
    return {
        "format": BUNDLE_FORMAT,
        "household": proof.household,
        "checkpoint": proof.checkpoint.note,
        "public_key": proof.checkpoint.verifier_key,
        "events": [
            {
                "index": event.index,
                "leaf": event.leaf.hex(),
                "proof": [hashed.hex() for hashed in event.proof],
                "decoded": dict(readable),
            }
            for event, readable in zip(proof.events, decoded, strict=True)
        ],
    }


# --- its check -------------------------------------------------------------------


@dataclass(frozen=True)
class AuditReport:
    household: str
    events: int
    checkpoint: Checkpoint
    key: Verifier

    def summary(self) -> str:
        return (
            f"OK: household {self.household}: its {self.events} events (versions 1 to "
            f"{self.events}) are in the log {self.checkpoint.origin} at size "
            f"{self.checkpoint.size}, signed by {self.key.name}+{self.key.key_id.hex()}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "household": self.household,
            "events": self.events,
            "origin": self.checkpoint.origin,
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "key": self.key.text,
        }


def _field(document: Mapping[str, Any], name: str, kind: type, where: str = "the bundle") -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleRejected(
            f"{where} has no valid {name!r} ({kind.__name__}): it is not an audit bundle "
            "as oneruler writes them."
        )
    return value


def _hex(text: Any, what: str) -> bytes:
    if isinstance(text, str):
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            pass
        else:
            if raw.hex() == text.lower():
                return raw
    raise BundleRejected(f"{what} is not hexadecimal; the bundle was altered.")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def audit_verify(document: Any, pubkey: Verifier | None = None) -> AuditReport:
    """Check an audit bundle with nothing but the bundle (and, best, the office's public
    key from elsewhere): the signature, every inclusion, and a gap-free household."""
    if not isinstance(document, Mapping):
        raise BundleRejected("the file is not a JSON object: it is not an audit bundle.")
    if document.get("format") != BUNDLE_FORMAT:
        raise BundleRejected(
            f"the bundle's format is {document.get('format')!r}, not {BUNDLE_FORMAT!r}; "
            "this verifier reads only that format."
        )
    household: str = _field(document, "household", str)
    note: str = _field(document, "checkpoint", str)
    key_text: str = _field(document, "public_key", str)
    events: list[Any] = _field(document, "events", list)
    try:
        key = parse_verifier(key_text)
    except CheckpointError as e:
        raise BundleRejected(
            f"the bundle's public key is unusable: {_lower_first(str(e))}"
        ) from None
    if pubkey is not None and key != pubkey:
        raise BundleRejected(
            f"the bundle's public key ({key.text}) is not the one given with --pubkey "
            f"({pubkey.text}): the bundle was not signed by that office."
        )
    try:
        checkpoint = verify_checkpoint(note, key)
    except CheckpointError as e:
        raise BundleRejected(
            f"the bundle's checkpoint does not verify: {_lower_first(str(e))}"
        ) from None
    if not events:
        raise BundleRejected("the bundle holds no events: there is nothing to check.")
    expected_originator = household_id(household).bytes
    decoded_leaves: list[tuple[int, int]] = []  # (version, index)
    for number, event in enumerate(events, start=1):
        where = f"event {number} of the bundle"
        if not isinstance(event, Mapping):
            raise BundleRejected(f"{where} is not a JSON object; the bundle was altered.")
        index: int = _field(event, "index", int, where)
        leaf = _hex(event.get("leaf"), f"{where}'s leaf")
        proof_texts: list[Any] = _field(event, "proof", list, where)
        proof = [_hex(text, f"a proof hash of {where}") for text in proof_texts]
        if not merkle.verify_inclusion(
            merkle.leaf_hash(leaf), index, checkpoint.size, proof, checkpoint.root
        ):
            raise BundleRejected(
                f"{where} (leaf {index}) is not in the checkpoint's tree: its inclusion proof "
                "does not lead to the signed root."
            )
        version = _check_leaf(leaf, where, index, household, expected_originator)
        decoded_leaves.append((version, index))
    decoded_leaves.sort()
    versions = [version for version, _ in decoded_leaves]
    for expected, version in enumerate(versions, start=1):
        if version != expected:
            wrong = (
                f"version {version} appears twice"
                if version < expected
                else (f"version {expected} is missing")
            )
            raise BundleRejected(
                f"household {household}'s events in the bundle do not run from version 1 "
                f"without a gap: {wrong}."
            )
    indexes = [index for _, index in decoded_leaves]
    if indexes != sorted(set(indexes)):
        raise BundleRejected(
            f"household {household}'s events are not in the log in version order: a version was "
            "logged before an earlier one, which the ledger never does."
        )
    return AuditReport(household, len(versions), checkpoint, key)


def _check_leaf(leaf: bytes, where: str, index: int, household: str, originator: bytes) -> int:
    """Decode a leaf and check it is an event of the household; return its version."""
    try:
        fields = msgpack.unpackb(leaf, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises several unrelated types on malformed input
        fields = None
    if not (
        isinstance(fields, list)
        and len(fields) == 5
        and _is_int(fields[0])
        and isinstance(fields[1], bytes)
        and len(fields[1]) == 16
        and _is_int(fields[2])
        and fields[2] >= 1
        and isinstance(fields[3], str)
        and isinstance(fields[4], bytes)
    ):
        raise BundleRejected(
            f"{where} (leaf {index}) is not a ledger leaf: it does not decode to "
            "[notification id, 16-byte originator id, version, topic, state]."
        )
    if fields[1] != originator:
        raise BundleRejected(
            f"{where} (leaf {index}) is an event of {UUID(bytes=fields[1])}, not of household "
            f"{household} ({UUID(bytes=originator)}): the bundle mixes in another record."
        )
    version: int = fields[2]
    return version


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
