"""The auditor's side of the log: the offline check of a household's audit bundle,
which needs the bundle (and the office's public key, the auditor's own receipts and
kept checkpoint) and nothing else: no database, no store, no ledger
(docs/integrity.md). The bundle's format is in bundle.py."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.errors import RuleViolation
from domain.ids import complaint_id, household_id, payout_id
from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Verifier,
    parse_checkpoint_unverified,
    parse_verifier,
    verify_checkpoint,
)
from ledger.cosignature import CosignatureError, CosignerVerifier, QuorumError, check_quorum
from ledger.log import smt
from ledger.log.bundle import (
    BUNDLE_FORMAT,
    DEFAULT_LATE_WINDOW,
    LEGACY_FORMAT,
    RECENT,
    AuditReport,
    HouseholdProof,
    LeafRow,
    ProvenEvent,
    ProvenLeaf,
    ProvenRecord,
    b64,
    bundle,
    leaf_bytes,
)
from ledger.log.decode import Leaf, decode_leaf, decode_state, difference, readable
from ledger.log.notes import KeyChain, NoteError, Receipt, check_receipt, parse_transition
from ledger.log.record import LOG_RECORD_ID, MAP_HEAD, MapHead, read_map_head
from ledger.log.timing import BoundMissing, TimeBounds, Witnessed, carried, late

__all__ = [
    "BUNDLE_FORMAT",
    "DEFAULT_LATE_WINDOW",
    "LEGACY_FORMAT",
    "RECENT",
    "AuditReport",
    "BundleRejected",
    "HouseholdProof",
    "LeafRow",
    "ProvenEvent",
    "ProvenLeaf",
    "ProvenRecord",
    "audit_verify",
    "bundle",
    "leaf_bytes",
]


_IDS = {"household": household_id, "complaint": complaint_id, "payout": payout_id}
# The household's events that name its other records (stored topics, a format).
_NAMES_A_RECORD = {
    "oneruler:Household.ComplaintAttached": ("complaint", "complaint"),
    "oneruler:Household.PayoutRequested": ("payout", "payout"),
}


class BundleRejected(RuleViolation):
    """An audit bundle does not prove what it claims. `evidence` holds signed notes
    that together show what is wrong (two checkpoints that cannot both be true)."""

    def __init__(self, message: str, evidence: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.evidence = tuple(evidence)


# --- its check -------------------------------------------------------------------


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


def _base64(text: Any, what: str) -> bytes:
    if isinstance(text, str):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
        else:
            if b64(raw) == text:
                return raw
    raise BundleRejected(f"{what} is not standard base64; the bundle was altered.")


def _hashes(text: Any, what: str) -> list[bytes]:
    """A proof: its hashes one after another, 32 bytes each, in one base64 text."""
    raw = _base64(text, what)
    if len(raw) % 32:
        raise BundleRejected(
            f"{what} is not a whole number of 32-byte hashes; the bundle was altered."
        )
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class _Checked:
    """A leaf shown to be in the checkpoint's tree, with its fields and state."""

    index: int
    fields: Leaf
    state: dict[str, Any] | None
    leaf: bytes


class _Audit:
    """One bundle's check, in the order docs/integrity.md gives."""

    def __init__(
        self,
        document: Mapping[str, Any],
        pubkey: Verifier | None,
        origin: str | None,
        known: Checkpoint | None,
        known_note: str,
        receipts: Sequence[Receipt],
        late_window: timedelta,
        witnesses: Sequence[CosignerVerifier],
        quorum: int,
    ) -> None:
        self.document = document
        self.pubkey = pubkey
        self.origin = origin
        self.known = known
        self.known_note = known_note
        self.receipts = receipts
        self.late_window = late_window
        self.witnesses = witnesses
        self.quorum = quorum
        self.notes: list[str] = []
        # How many distinct witnesses given cosigned the bundle's checkpoint.
        self.cosigned = 0

    # --- the checkpoint and its keys -----------------------------------------------

    def checkpoint(self, transitions: Sequence[str]) -> tuple[Checkpoint, Verifier, KeyChain]:
        note: str = _field(self.document, "checkpoint", str)
        self.note = note
        try:
            key = parse_verifier(_field(self.document, "public_key", str))
        except CheckpointError as e:
            raise BundleRejected(
                f"the bundle's public key is unusable: {_lower_first(str(e))}"
            ) from None
        chain = KeyChain([self.pubkey if self.pubkey is not None else key])
        try:
            parsed = [parse_transition(text) for text in transitions]
        except NoteError as e:
            raise BundleRejected(f"a key transition in the bundle is unusable: {e}") from None
        with suppress(CheckpointError):  # a malformed checkpoint is said just below
            chain.follow(parsed, parse_checkpoint_unverified(note).origin)
        # Any key the chain holds may have signed (a checkpoint signed with several
        # keys names one in the bundle); else say why the bundle's own does not count.
        for held_key in chain.current:
            try:
                checkpoint = verify_checkpoint(note, held_key)
            except CheckpointError:
                continue
            key = held_key
            break
        else:
            if self.pubkey is not None and key not in chain.current:
                held = f"{self.pubkey.name}+{self.pubkey.key_id.hex()}"
                if key.name == self.pubkey.name:
                    raise BundleRejected(
                        f"the bundle is signed by {key.name}+{key.key_id.hex()}, a key of the "
                        f"same name as the one you hold ({held}) but another key, and it carries "
                        "no key transition to it signed by yours: it is not the office's log, "
                        "or its key was replaced without the office's own key saying so."
                    )
                raise BundleRejected(
                    f"the bundle's public key ({key.text}) is not the one given with --pubkey "
                    f"({self.pubkey.text}), nor one it named in a key transition: the bundle "
                    "was not signed by that office."
                )
            try:
                checkpoint = verify_checkpoint(note, key)
            except CheckpointError as e:
                raise BundleRejected(
                    f"the bundle's checkpoint does not verify: {_lower_first(str(e))}"
                ) from None
        if self.origin is not None and checkpoint.origin != self.origin:
            raise BundleRejected(
                f"the bundle's checkpoint is for the log {checkpoint.origin}, not the log "
                f"{self.origin} you pinned with --origin."
            )
        self.check_witnessed(checkpoint)
        self.check_known(checkpoint, note)
        return checkpoint, key, chain

    def check_witnessed(self, checkpoint: Checkpoint) -> None:
        """With witnesses given: a quorum of them cosigned the bundle's checkpoint, so
        it lies on the one history the witnesses were shown (not a fork)."""
        if not self.witnesses:
            return
        try:
            found = check_quorum(self.note, self.witnesses, self.quorum)
        except QuorumError as e:
            said = str(e).removeprefix("The checkpoint ")
            raise BundleRejected(
                f"the bundle's checkpoint (size {checkpoint.size}) {said}"
            ) from None
        except CosignatureError as e:
            raise BundleRejected(f"the bundle's checkpoint: {_lower_first(str(e))}") from None
        self.cosigned = len({cosignature.witness for cosignature in found})

    def witnessed_heads(
        self, heads: Sequence[tuple[int, MapHead]], checkpoint: Checkpoint, chain: KeyChain
    ) -> dict[int, Witnessed]:
        """The checkpoints the map heads carry that a quorum of the witnesses given
        cosigned (timing.carried), by the carrying map head's leaf index."""
        if not self.witnesses:
            return {}
        try:
            return carried(heads, chain.seen, checkpoint.origin, self.witnesses, self.quorum)
        except BoundMissing as e:
            raise BundleRejected(str(e)) from None

    def check_known(self, checkpoint: Checkpoint, note: str) -> None:
        """Against the latest checkpoint the auditor has seen of this log: not older,
        the same at the same size, and extended by the bundle's (a consistency proof)."""
        known = self.known
        if known is None:
            return
        evidence = (self.known_note, note)
        if known.size > checkpoint.size:
            raise BundleRejected(
                f"the bundle's checkpoint (size {checkpoint.size}) is older than the one you "
                f"already hold of the log {known.origin} (size {known.size}): the office showed "
                "you an earlier state of its log.",
                evidence,
            )
        if known.size == checkpoint.size:
            if known.root != checkpoint.root:
                raise BundleRejected(
                    f"the bundle's checkpoint and the one you hold are both of size "
                    f"{known.size} but have different roots: the log {known.origin} was forked "
                    "or its history rewritten; the two signed notes below are the evidence.",
                    evidence,
                )
            return
        for item in self.document.get("consistency") or []:
            if isinstance(item, Mapping) and item.get("size") == known.size:
                proof = _hashes(item.get("proof"), "a consistency proof")
                if merkle.verify_consistency(
                    known.size, checkpoint.size, known.root, checkpoint.root, proof
                ):
                    return
                raise BundleRejected(
                    f"the log at the bundle's checkpoint (size {checkpoint.size}) does not "
                    f"extend the checkpoint you hold (size {known.size}): its consistency proof "
                    "fails, so the history you saw was rewritten; the two signed notes below "
                    "are the evidence.",
                    evidence,
                )
        raise BundleRejected(
            f"the bundle carries no consistency proof from the checkpoint you hold (size "
            f"{known.size}) to its own (size {checkpoint.size}); ask the office for one: "
            f"oneruler prove HH -o FILE --since {known.size}."
        )

    # --- leaves ----------------------------------------------------------------------

    def leaf(
        self, item: Any, where: str, checkpoint: Checkpoint, decode: Any = _base64
    ) -> _Checked:
        if not isinstance(item, Mapping):
            raise BundleRejected(f"{where} is not a JSON object; the bundle was altered.")
        index: int = _field(item, "index", int, where)
        leaf = decode(item.get("leaf"), f"{where}'s leaf")
        proof = (
            [decode(h, f"a proof hash of {where}") for h in _field(item, "proof", list, where)]
            if decode is _hex
            else _hashes(item.get("proof"), f"{where}'s proof")
        )
        if not merkle.verify_inclusion(
            merkle.leaf_hash(leaf), index, checkpoint.size, proof, checkpoint.root
        ):
            raise BundleRejected(
                f"{where} (leaf {index}) is not in the checkpoint's tree: its inclusion proof "
                "does not lead to the signed root."
            )
        fields = decode_leaf(leaf)
        if fields is None:
            raise BundleRejected(
                f"{where} (leaf {index}) is not a ledger leaf: it does not decode to "
                "[notification id, 16-byte originator id, version, topic, state]."
            )
        return _Checked(index, fields, decode_state(fields.state), leaf)

    def event_of(
        self, item: Mapping[str, Any], checked: _Checked, kind: str, code: str, strict: bool
    ) -> dict[str, Any] | None:
        """The event as its leaf says, checked against the bundle's `decoded`."""
        fields = checked.fields
        where = f"{kind} {code}'s version {fields.version} (leaf {checked.index})"
        if checked.state is None:
            if strict:
                raise BundleRejected(
                    f"{where} holds a state that is not MessagePack this verifier can read: the "
                    "ledger's events are compressed or encrypted, so an auditor cannot see what "
                    "they say, nor check that the household is complete."
                )
            self.notes.append(
                f"{where} could not be decoded (the ledger's events are compressed or "
                "encrypted): what it says is not shown."
            )
            return None
        decoded = readable(fields.topic, fields.version, checked.state)
        given = item.get("decoded")
        if given is not None and given != decoded:
            raise BundleRejected(f"{where}: its decoded {difference(given, decoded)}")
        return {"record": f"{kind} {code}", "index": checked.index, "event": decoded}

    # --- format 2 ----------------------------------------------------------------

    def run(self) -> AuditReport:
        household: str = _field(self.document, "household", str)
        transitions = self.document.get("key_transitions") or []
        if not isinstance(transitions, list) or not all(isinstance(t, str) for t in transitions):
            raise BundleRejected("the bundle's key_transitions is not a list of signed notes.")
        checkpoint, key, chain = self.checkpoint(transitions)
        if key.name != checkpoint.origin:
            raise BundleRejected(
                f"the bundle's checkpoint is signed by the key {key.name}, whose name is not "
                f"the log's origin {checkpoint.origin}; a log's key is named as its origin."
            )
        heads = self.map_heads(checkpoint)
        current = heads[-1][1]
        records = _field(self.document, "records", list)
        checked: dict[tuple[str, str], list[tuple[_Checked, dict[str, Any]]]] = {}
        counts: list[tuple[str, str, int]] = []
        for number, record in enumerate(records, start=1):
            where = f"record {number} of the bundle"
            if not isinstance(record, Mapping):
                raise BundleRejected(f"{where} is not a JSON object; the bundle was altered.")
            kind: str = _field(record, "kind", str, where)
            code: str = _field(record, "code", str, where)
            if kind not in _IDS or (kind, code) in checked:
                raise BundleRejected(
                    f"{where} is {kind} {code}, which is not a household, complaint or payout, "
                    "or appears twice."
                )
            checked[(kind, code)] = self.record(record, kind, code, checkpoint, current)
            counts.append((kind, code, len(checked[(kind, code)])))
        if ("household", household) not in checked:
            raise BundleRejected(f"the bundle holds no record of household {household} itself.")
        self.named_records(household, checked)
        self.late_entries(
            checked, TimeBounds(heads, self.witnessed_heads(heads, checkpoint, chain))
        )
        events = sorted(
            (event for pairs in checked.values() for _, event in pairs), key=lambda e: e["index"]
        )
        self.check_receipts(
            household, checkpoint, chain, {k: [c for c, _ in v] for k, v in checked.items()}
        )
        counts.sort(key=lambda item: item[0] != "household")
        return AuditReport(
            household, BUNDLE_FORMAT, checkpoint, self.note, key, counts, events, True, self.notes
        )

    def map_heads(self, checkpoint: Checkpoint) -> list[tuple[int, MapHead]]:
        heads: list[tuple[int, MapHead]] = []
        for number, item in enumerate(_field(self.document, "map_heads", list), start=1):
            where = f"map head {number} of the bundle"
            checked = self.leaf(item, where, checkpoint)
            head = read_map_head(checked.state) if checked.state is not None else None
            if (
                checked.fields.originator != LOG_RECORD_ID.bytes
                or checked.fields.topic != MAP_HEAD
                or head is None
                or head.covers != checked.index
            ):
                raise BundleRejected(
                    f"{where} (leaf {checked.index}) is not a map head of the log's own record "
                    "covering the leaves before it."
                )
            heads.append((checked.index, head))
        heads.sort(key=lambda pair: pair[0])
        if not heads or heads[-1][0] != checkpoint.size - 1:
            raise BundleRejected(
                f"the bundle's checkpoint (size {checkpoint.size}) does not end with a map head "
                "the bundle carries, so it cannot show the household complete; ask for a bundle "
                "against a checkpoint made with one (any made by this version)."
            )
        return heads

    def record(
        self,
        record: Mapping[str, Any],
        kind: str,
        code: str,
        checkpoint: Checkpoint,
        current: MapHead,
    ) -> list[tuple[_Checked, dict[str, Any]]]:
        key = _IDS[kind](code)
        found: list[tuple[_Checked, dict[str, Any]]] = []
        for number, item in enumerate(_field(record, "events", list, f"{kind} {code}"), start=1):
            checked = self.leaf(item, f"event {number} of {kind} {code}", checkpoint)
            self.owned(checked, kind, code, key)
            event = self.event_of(item, checked, kind, code, strict=True)
            assert event is not None
            found.append((checked, event))
        found.sort(key=lambda pair: (pair[0].fields.version, pair[0].index))
        versions = self.run_of_versions(kind, code, [c for c, _ in found])
        in_map = _field(record, "map", dict, f"{kind} {code}")
        version: int = _field(in_map, "version", int, f"{kind} {code}'s map entry")
        index: int = _field(in_map, "index", int, f"{kind} {code}'s map entry")
        siblings = []
        for pair in _field(in_map, "siblings", list, f"{kind} {code}'s map entry"):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)):
                raise BundleRejected(
                    f"{kind} {code}'s map proof is malformed; the bundle was altered."
                )
            siblings.append((pair[0], _base64(pair[1], f"a map proof hash of {kind} {code}")))
        entry = smt.Entry(int.from_bytes(key.bytes, "big"), version, index)
        if smt.proof_root(entry.key, entry, siblings) != current.root:
            raise BundleRejected(
                f"{kind} {code}'s map proof does not lead to the root of the map head at leaf "
                f"{current.covers}: the bundle does not show which version of it is the latest."
            )
        if versions < version:
            raise BundleRejected(
                f"{kind} {code}'s events in the bundle stop at version {versions}, but the "
                f"log's map at size {current.covers} holds version {version} (leaf {index}) as "
                f"its latest: {_missing(versions + 1, version)} missing from the bundle."
            )
        last = found[-1][0] if found else None
        if versions > version or last is None or last.index != index:
            raise BundleRejected(
                f"{kind} {code}'s latest event in the bundle is version {versions} (leaf "
                f"{last.index if last else '-'}), but the log's map holds version {version} at "
                f"leaf {index}: the bundle and the map disagree."
            )
        return found

    @staticmethod
    def owned(checked: _Checked, kind: str, code: str, key: UUID) -> None:
        if checked.fields.originator != key.bytes:
            raise BundleRejected(
                f"leaf {checked.index} in {kind} {code}'s events is an event of "
                f"{UUID(bytes=checked.fields.originator)}, not of {kind} {code} ({key}): the "
                "bundle mixes in another record."
            )

    @staticmethod
    def run_of_versions(kind: str, code: str, checked: Sequence[_Checked]) -> int:
        """The last version, once the versions are shown to run 1, 2, ... in log order."""
        for expected, item in enumerate(checked, start=1):
            version = item.fields.version
            if version != expected:
                wrong = (
                    f"version {version} appears twice"
                    if version < expected
                    else f"version {expected} is missing"
                )
                raise BundleRejected(
                    f"{kind} {code}'s events in the bundle do not run from version 1 without a "
                    f"gap: {wrong}."
                )
        indexes = [item.index for item in checked]
        if indexes != sorted(set(indexes)):
            raise BundleRejected(
                f"{kind} {code}'s events are not in the log in version order: a version was "
                "logged before an earlier one, which the ledger never does."
            )
        return len(checked)

    @staticmethod
    def named_records(
        household: str, checked: Mapping[tuple[str, str], Sequence[tuple[_Checked, Any]]]
    ) -> None:
        """The complaints and payouts the household's own events name, and no other."""
        named: dict[tuple[str, str], int] = {}
        for item, _ in checked[("household", household)]:
            kind_field = _NAMES_A_RECORD.get(item.fields.topic)
            if kind_field is not None and item.state is not None:
                code = item.state.get(kind_field[1])
                if isinstance(code, str):
                    named.setdefault((kind_field[0], code), item.fields.version)
        for (kind, code), version in named.items():
            if (kind, code) not in checked:
                raise BundleRejected(
                    f"the bundle leaves out {kind} {code}, which household {household}'s version "
                    f"{version} names: a household's bundle must hold its complaints' and "
                    "payouts' own events too."
                )
        for kind, code in checked:
            if kind != "household" and (kind, code) not in named:
                raise BundleRejected(
                    f"the bundle holds {kind} {code}, which household {household}'s events never "
                    "name: it mixes in another record."
                )

    def late_entries(
        self,
        checked: Mapping[tuple[str, str], Sequence[tuple[_Checked, dict[str, Any]]]],
        bounds: TimeBounds,
    ) -> None:
        """No event says it happened longer than the window before it was recorded; with
        witnesses given, note the events that only the office's own times bound."""
        unwitnessed = 0
        for (kind, code), pairs in checked.items():
            for item, event in pairs:
                where = f"{kind} {code}'s version {item.fields.version} ({event['event']['type']})"
                try:
                    bound, by_witnesses = bounds.recorded_after(item.index, where)
                except BoundMissing as e:
                    raise BundleRejected(str(e)) from None
                unwitnessed += bound is not None and not by_witnesses
                occurred = item.state.get("occurred_at") if item.state else None
                if bound is None or not isinstance(occurred, datetime) or occurred.tzinfo is None:
                    continue
                sentence = late(where, occurred, bound, self.late_window)
                if sentence is not None:
                    raise BundleRejected(sentence)
        if self.witnesses and unwitnessed:
            self.notes.append(
                f"{unwitnessed} of the bundle's events are bounded in time by the office's "
                "word alone: the checkpoint before each, which the map head after it carries, "
                "is not cosigned by a quorum of the witnesses given."
            )

    def check_receipts(
        self,
        household: str,
        checkpoint: Checkpoint,
        chain: KeyChain,
        checked: Mapping[tuple[str, str], Sequence[_Checked]],
    ) -> None:
        for receipt in self.receipts:
            try:
                check_receipt(receipt, chain.seen)
            except NoteError as e:
                raise BundleRejected(str(e)[:1].upper() + str(e)[1:]) from None
            what = f"{receipt.record} version {receipt.version} (leaf {receipt.index})"
            if receipt.origin != checkpoint.origin:
                raise BundleRejected(
                    f"your receipt is for the log {receipt.origin}, not the bundle's log "
                    f"{checkpoint.origin}."
                )
            if receipt.index >= checkpoint.size:
                raise BundleRejected(
                    f"the bundle's checkpoint (size {checkpoint.size}) was made before the event "
                    f"of your receipt, {what}; ask for a bundle against a later checkpoint, which "
                    "the receipt promises includes it."
                )
            events = checked.get((receipt.kind, receipt.code))
            mine = [e for e in events or () if e.fields.version == receipt.version]
            if not mine:
                raise BundleRejected(
                    f"the bundle lacks the event of your receipt, {what}: the office promised it "
                    f"is in the log, and household {household}'s bundle leaves it out."
                )
            if (
                mine[0].index != receipt.index
                or merkle.leaf_hash(mine[0].leaf) != receipt.leaf_hash
            ):
                raise BundleRejected(
                    f"the bundle's {receipt.record} version {receipt.version} is leaf "
                    f"{mine[0].index} with other bytes than your receipt's {what}: the event you "
                    "hold a receipt for was replaced."
                )

    # --- format 1 ------------------------------------------------------------------

    def run_legacy(self) -> AuditReport:
        household: str = _field(self.document, "household", str)
        events: list[Any] = _field(self.document, "events", list)
        checkpoint, key, chain = self.checkpoint([])
        if not events:
            raise BundleRejected("the bundle holds no events: there is nothing to check.")
        key_id = household_id(household)
        pairs = []
        for number, item in enumerate(events, start=1):
            checked = self.leaf(item, f"event {number} of the bundle", checkpoint, _hex)
            if checked.fields.originator != key_id.bytes:
                raise BundleRejected(
                    f"event {number} of the bundle (leaf {checked.index}) is an event of "
                    f"{UUID(bytes=checked.fields.originator)}, not of household {household} "
                    f"({key_id}): the bundle mixes in another record."
                )
            pairs.append((checked, self.event_of(item, checked, "household", household, False)))
        pairs.sort(key=lambda pair: (pair[0].fields.version, pair[0].index))
        count = self.run_of_versions("household", household, [c for c, _ in pairs])
        self.check_receipts(
            household, checkpoint, chain, {("household", household): [c for c, _ in pairs]}
        )
        self.notes.append(
            f"completeness could not be checked: a bundle of format {LEGACY_FORMAT} carries no "
            "map, so it cannot show that no later version exists; ask for a new bundle."
        )
        shown = sorted((e for _, e in pairs if e is not None), key=lambda e: e["index"])
        return AuditReport(
            household,
            LEGACY_FORMAT,
            checkpoint,
            self.note,
            key,
            [("household", household, count)],
            shown,
            False,
            self.notes,
        )


def _missing(first: int, last: int) -> str:
    return f"version {first} is" if first == last else f"versions {first} to {last} are"


def audit_verify(
    document: Any,
    pubkey: Verifier | None = None,
    *,
    origin: str | None = None,
    known: tuple[Checkpoint, str] | None = None,
    receipts: Sequence[Receipt] = (),
    late_window: timedelta = DEFAULT_LATE_WINDOW,
    witnesses: Sequence[CosignerVerifier] = (),
    quorum: int | None = None,
) -> AuditReport:
    """Check an audit bundle with nothing but the bundle and what the auditor holds:
    the office's public key (pubkey), the log's origin, the latest checkpoint the
    auditor has seen of it (known: what it states, and the signed note), and the
    receipts the office gave; with witnesses (their keys), a quorum of them must have
    cosigned the checkpoint (all of them, unless quorum says how many), and their
    times bound when each event was recorded. Raises BundleRejected naming the first
    thing wrong."""
    if not isinstance(document, Mapping):
        raise BundleRejected("the file is not a JSON object: it is not an audit bundle.")
    audit = _Audit(
        document,
        pubkey,
        origin,
        known[0] if known else None,
        known[1] if known else "",
        receipts,
        late_window,
        witnesses,
        len(set(witnesses)) if quorum is None else quorum,
    )
    if document.get("format") in (BUNDLE_FORMAT, LEGACY_FORMAT):
        report = audit.run() if document.get("format") == BUNDLE_FORMAT else audit.run_legacy()
        report.witnessed = audit.cosigned
        return report
    raise BundleRejected(
        f"the bundle's format is {document.get('format')!r}, not {BUNDLE_FORMAT!r} (or the "
        f"older {LEGACY_FORMAT!r}); this verifier reads only those."
    )
