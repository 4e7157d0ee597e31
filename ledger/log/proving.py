"""A household's audit bundle, read from a store that keeps the log: its records (the
household, and the complaints and payouts its events name) with their inclusion
proofs in the latest checkpoint and their map proofs in the map head that ends it,
the map heads that bound when each event was recorded, consistency proofs from
earlier checkpoints, and the log's key transitions."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.ids import complaint_id, household_id, payout_id
from ledger import merkle
from ledger.checkpoint import CheckpointError, StoredCheckpoint, parse_verifier, verify_checkpoint
from ledger.log import keys, mapstore
from ledger.log.audit import (
    RECENT,
    HouseholdProof,
    ProvenEvent,
    ProvenLeaf,
    ProvenRecord,
    leaf_bytes,
)
from ledger.log.record import LOG_RECORD_ID, MapHead

if TYPE_CHECKING:
    from ledger.log.store import Cursor, LogStore, TransparencyLog

__all__ = ["RECENT", "prove_household"]

_MAKE_ONE = "make a checkpoint first: oneruler checkpoint --key FILE."
_IDS = {"household": household_id, "complaint": complaint_id, "payout": payout_id}
# The household's events that name its other records (stored topics, a format).
_NAMES = {
    "oneruler:Household.ComplaintAttached": ("complaint", "complaint"),
    "oneruler:Household.PayoutRequested": ("payout", "payout"),
}


def _rows(log: TransparencyLog, c: Cursor, originator: UUID) -> list[tuple[int, int, str, bytes]]:
    d = log.dialect
    c.execute(
        d.sql(
            f"SELECT {d.notification_id}, originator_version, topic, state "
            f"FROM {d.events_table} WHERE originator_id = ? ORDER BY originator_version"
        ),
        [d.originator_param(originator)],
    )
    return [(int(n), int(v), t, bytes(s)) for n, v, t, s in c.fetchall()]


def _events(
    log: TransparencyLog,
    c: Cursor,
    originator: UUID,
    rows: Sequence[tuple[int, int, str, bytes]],
    what: str,
) -> list[ProvenEvent]:
    """The rows as logged events (their leaves recomputed and compared), proofs to come."""
    from ledger.log.store import LogMismatch

    leaves = log.leaves_of(c, [row[0] for row in rows])
    events = []
    for nid, version, topic, state in rows:
        if nid not in leaves:
            raise LogMismatch(
                f"version {version} of {what} (notification id {nid}) is not in the log; run "
                "oneruler verify."
            )
        index, logged = leaves[nid]
        leaf = leaf_bytes(nid, originator.bytes, version, topic, state)
        if merkle.leaf_hash(leaf) != logged:
            raise LogMismatch(
                f"leaf {index} (notification id {nid}) does not match the stored event: the "
                "stored events were changed after they were logged; run oneruler verify."
            )
        events.append(ProvenEvent(index, nid, version, topic, state, leaf, []))
    return events


def _named(log: TransparencyLog, events: Sequence[ProvenEvent]) -> list[tuple[str, str]]:
    """The complaints and payouts a household's events name, in the order named."""
    named: dict[tuple[str, str], None] = {}
    for event in events:
        kind_field = _NAMES.get(event.topic)
        if kind_field is None:
            continue
        state: Any = None
        with suppress(Exception):  # the codec's errors are its own
            state = log.codec.decode(event.state)
        code = state.get(kind_field[1]) if isinstance(state, dict) else None
        if isinstance(code, str):
            named[(kind_field[0], code)] = None
    return list(named)


def _latest_head(
    log: TransparencyLog, c: Cursor, checkpoint: StoredCheckpoint
) -> tuple[list[tuple[int, MapHead]], MapHead]:
    heads = [
        (index, head)
        for index, head in mapstore.map_heads(log, mapstore.log_events(log, c))
        if index < checkpoint.size
    ]
    if not heads or heads[-1][0] != checkpoint.size - 1:
        raise RuleViolation(
            f"the latest checkpoint (size {checkpoint.size}) was made before checkpoints carried "
            f"the map that shows a household complete; {_MAKE_ONE}"
        )
    return heads, heads[-1][1]


def _check_signed(log: TransparencyLog, c: Cursor, checkpoint: StoredCheckpoint) -> None:
    from ledger.log.store import LogMismatch, StoredNodes

    try:
        verify_checkpoint(checkpoint.note, parse_verifier(checkpoint.verifier_keys[0]))
    except (CheckpointError, IndexError):
        signed = False
    else:
        signed = merkle.root(StoredNodes(log, c), checkpoint.size) == checkpoint.root
    if not signed:
        raise LogMismatch(
            f"checkpoint {checkpoint.id} does not match its signature or the log's tree; "
            "run oneruler verify."
        )


def prove_household(store: LogStore, code: str, since: Sequence[int] = ()) -> HouseholdProof:
    """The household's bundle against the latest checkpoint; refused if it has no map
    head yet or the household's newest event came after it. `since`: sizes of earlier
    checkpoints an auditor holds, to carry consistency proofs from."""
    from ledger.log.store import StoredNodes

    log = store.log
    with store.log_transaction(commit=False) as c:
        household = household_id(code)
        rows = _rows(log, c, household)
        if not rows:
            raise NotFound(f"unknown household {code}: check the code, or register it first.")
        checkpoint = log.latest_checkpoint(c)
        if checkpoint is None:
            raise RuleViolation(f"the ledger has no checkpoint yet; {_MAKE_ONE}")
        heads, current = _latest_head(log, c, checkpoint)
        own = _events(log, c, household, rows, f"household {code}")
        if own[-1].index >= current.covers:
            raise RuleViolation(
                f"household {code}'s newest event (leaf {own[-1].index}) is after the latest "
                f"checkpoint (size {checkpoint.size}); {_MAKE_ONE}"
            )
        _check_signed(log, c, checkpoint)
        nodes = StoredNodes(log, c)
        # The kept subtrees serve each record's path; where they are not this map's
        # (a copy keeps the events, not them), the map is built here, once.
        whole = None
        if not mapstore.kept_matches(log, c, current):
            whole = mapstore.build_top(log, c, current.covers)
        records = []
        for kind, record_code in [("household", code), *_named(log, own)]:
            originator = _IDS[kind](record_code)
            events = (
                own
                if kind == "household"
                else _events(log, c, originator, _rows(log, c, originator), f"{kind} {record_code}")
            )
            key = int.from_bytes(originator.bytes, "big")
            records.append(
                ProvenRecord(
                    kind,
                    record_code,
                    [
                        ProvenEvent(
                            e.index,
                            e.notification_id,
                            e.version,
                            e.topic,
                            e.state,
                            e.leaf,
                            merkle.inclusion_proof(nodes, e.index, checkpoint.size),
                        )
                        for e in events
                        if e.index < current.covers
                    ],
                    mapstore.prove_key(log, c, current, key, whole),
                )
            )
        bounding = _bounding_heads(heads, [e.index for r in records for e in r.events])
        proven_heads = [
            ProvenLeaf(
                index,
                _leaf_of(log, c, index),
                merkle.inclusion_proof(nodes, index, checkpoint.size),
            )
            for index in bounding
        ]
        consistency = _consistency(log, c, checkpoint, since)
        transitions = [t.note for _, t in keys.transitions(log, c) if t is not None]
    return HouseholdProof(code, checkpoint, records, proven_heads, consistency, transitions)


def _bounding_heads(heads: Sequence[tuple[int, MapHead]], indexes: Sequence[int]) -> list[int]:
    """The map heads a bundle carries: the latest, and for each event the first after it
    (whose `previous` is the one before it, when the event was recorded at the earliest)."""
    chosen = {heads[-1][0]}
    positions = [index for index, _ in heads]
    for index in indexes:
        at = bisect_right(positions, index)
        if at < len(positions):
            chosen.add(positions[at])
    return sorted(chosen)


def _leaf_of(log: TransparencyLog, c: Cursor, index: int) -> bytes:
    d = log.dialect
    c.execute(
        d.sql(
            f"SELECT e.{d.notification_id}, e.originator_version, e.topic, e.state FROM "
            f"{d.events_table} e JOIN merkle_leaves l ON l.notification_id = e.{d.notification_id} "
            "WHERE l.idx = ?"
        ),
        [index],
    )
    nid, version, topic, state = c.fetchone()
    return leaf_bytes(int(nid), LOG_RECORD_ID.bytes, int(version), topic, bytes(state))


def _consistency(
    log: TransparencyLog, c: Cursor, checkpoint: StoredCheckpoint, since: Sequence[int]
) -> list[tuple[int, list[bytes]]]:
    """Consistency proofs to the checkpoint's size from the sizes asked for and from the
    RECENT checkpoints before it."""
    from ledger.log.store import StoredNodes

    earlier = sorted(
        {cp.size for cp in log.checkpoints(c) if 0 < cp.size < checkpoint.size}, reverse=True
    )[:RECENT]
    for size in since:
        if not 0 < size <= checkpoint.size:
            raise InvalidInput(
                f"--since {size} is not the size of an earlier checkpoint of this log; give a "
                f"size from 1 to {checkpoint.size}."
            )
    sizes = sorted({*earlier, *(s for s in since if s < checkpoint.size)})
    nodes = StoredNodes(log, c)
    return [(size, merkle.consistency_proof(nodes, size, checkpoint.size)) for size in sizes]
