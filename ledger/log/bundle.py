"""The audit bundle's format (docs/integrity.md): what a household's bundle holds,
and its JSON, format 2. Pure, like the rest of the auditor's side: the store side
(proving.py) fills a HouseholdProof, this writes it, and audit.py checks it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ledger.checkpoint import Checkpoint, StoredCheckpoint, Verifier
from ledger.log import smt
from ledger.log.decode import decode_state, readable
from ledger.log.leaf import LeafRow, leaf_bytes

__all__ = [
    "BUNDLE_FORMAT",
    "DEFAULT_LATE_WINDOW",
    "LEGACY_FORMAT",
    "RECENT",
    "AuditReport",
    "HouseholdProof",
    "LeafRow",
    "ProvenEvent",
    "ProvenLeaf",
    "ProvenRecord",
    "b64",
    "bundle",
    "leaf_bytes",
]

BUNDLE_FORMAT = "oneruler-audit-bundle/2"
LEGACY_FORMAT = "oneruler-audit-bundle/1"
# Consistency proofs a bundle carries by default: from each of this many checkpoints
# before its own (the last few days' bulletins, with daily checkpoints); an auditor
# who holds an older checkpoint asks for a proof from it (prove --since). Each is
# about a kilobyte at a million households, of the bundle's 64.
RECENT = 4
# An act entered this long after the checkpoint before it is fine (a paper form typed
# in on Monday); longer, and audit-verify names it.
DEFAULT_LATE_WINDOW = timedelta(days=3)

# --- the bundle ------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEvent:
    """One of a record's stored events, its leaf, and its inclusion proof."""

    index: int
    notification_id: int
    version: int
    topic: str
    state: bytes
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ProvenLeaf:
    """A leaf of the log's own record (a map head) and its inclusion proof."""

    index: int
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ProvenRecord:
    """A household, complaint or payout: its events, and its place in the map."""

    kind: str
    code: str
    events: list[ProvenEvent]
    map_proof: smt.MapProof


@dataclass(frozen=True)
class HouseholdProof:
    """What a household's bundle holds: its records (its own first), the map heads
    that show them complete and bound when each event was recorded, consistency
    proofs from earlier checkpoints, and the log's key transitions."""

    household: str
    checkpoint: StoredCheckpoint
    records: list[ProvenRecord]
    map_heads: list[ProvenLeaf]
    consistency: list[tuple[int, list[bytes]]]
    transitions: list[str] = field(default_factory=list)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _decoded_for_people(event: ProvenEvent) -> dict[str, Any] | None:
    state = decode_state(event.state)
    return None if state is None else readable(event.topic, event.version, state)


def bundle(proof: HouseholdProof) -> dict[str, Any]:
    """The audit bundle, format 2 (docs/integrity.md): binary values in base64."""

    def event(e: ProvenEvent) -> dict[str, Any]:
        document: dict[str, Any] = {
            "index": e.index,
            "leaf": b64(e.leaf),
            "proof": b64(b"".join(e.proof)),
        }
        decoded = _decoded_for_people(e)
        if decoded is not None:
            document["decoded"] = decoded
        return document

    def record(r: ProvenRecord) -> dict[str, Any]:
        found = r.map_proof.found
        return {
            "kind": r.kind,
            "code": r.code,
            "map": {
                "version": found.version if found else 0,
                "index": found.index if found else 0,
                "siblings": [[depth, b64(h)] for depth, h in r.map_proof.siblings],
            },
            "events": [event(e) for e in r.events],
        }

    return {
        "format": BUNDLE_FORMAT,
        "household": proof.household,
        "checkpoint": proof.checkpoint.note,
        "public_key": proof.checkpoint.verifier_keys[0],
        "key_transitions": list(proof.transitions),
        "map_heads": [
            {"index": h.index, "leaf": b64(h.leaf), "proof": b64(b"".join(h.proof))}
            for h in proof.map_heads
        ],
        "records": [record(r) for r in proof.records],
        "consistency": [
            {"size": size, "proof": b64(b"".join(hashes))} for size, hashes in proof.consistency
        ],
    }


# --- what its check shows --------------------------------------------------------


@dataclass
class AuditReport:
    """What a bundle was shown to prove, and every event as decoded from its leaf."""

    household: str
    format: str
    checkpoint: Checkpoint
    note: str
    key: Verifier
    records: list[tuple[str, str, int]]  # kind, code, events
    events: list[dict[str, Any]]
    complete: bool
    notes: list[str] = field(default_factory=list)
    # How many distinct witnesses of those given cosigned the checkpoint (0: none given).
    witnessed: int = 0

    def summary(self) -> str:
        mine = sum(n for kind, _, n in self.records if kind == "household")
        others = [(kind, code) for kind, code, _ in self.records if kind != "household"]
        where = (
            f"in the log {self.checkpoint.origin} at size {self.checkpoint.size}, signed by "
            f"{self.key.name}+{self.key.key_id.hex()}"
        )
        if self.witnessed:
            where += f" and cosigned by {self.witnessed} of the witnesses given"
        if not self.complete:
            return (
                f"OK: household {self.household}: its {mine} events (versions 1 to {mine}) "
                f"are {where}."
            )
        also = ""
        if others:
            also = " and its " + ", ".join(f"{kind} {code}" for kind, code in others)
        return (
            f"OK: household {self.household}{also}: all {len(self.events)} events, each record "
            f"up to the latest version the log's map holds, are {where}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "format": self.format,
            "household": self.household,
            "complete": self.complete,
            "records": [
                {"kind": kind, "code": code, "events": n} for kind, code, n in self.records
            ],
            "events": self.events,
            "origin": self.checkpoint.origin,
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "key": self.key.text,
            "witnessed": self.witnessed,
            "notes": self.notes,
        }
