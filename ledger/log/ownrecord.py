"""The log's own record checked against the log (verify's last step): each key
transition signed by the key it replaces, for this log; each map head at the leaf its
map ends before, naming the one before it (and the checkpoint that ends there, if it
carries one), with the root and entry count of the map recomputed from the leaves
before it; and the kept subtrees of the latest map."""

from __future__ import annotations

from ledger.checkpoint import CheckpointError, parse_checkpoint_unverified
from ledger.log import mapstore, smt
from ledger.log.notes import NoteError, parse_transition
from ledger.log.pages import Problem, Verification
from ledger.log.record import KEY_TRANSITION, MAP_HEAD, MapHead, read_map_head
from ledger.log.store import Cursor, TransparencyLog

__all__ = ["check_own_record"]


def check_own_record(log: TransparencyLog, c: Cursor, result: Verification) -> None:
    """Every event of the log's own record: each key transition signed by the key it
    replaces, for this log; each map head at the leaf its map ends before, naming the
    map head before it, with the root and entry count of the map recomputed from the
    leaves before it; and the kept subtrees of the latest map, which proofs come from."""
    result.complete = True  # it ran (see verify_snapshot)
    origin = log.origin(c)
    top: smt.Top = {}
    last: tuple[int, MapHead] | None = None
    for event in mapstore.log_events(log, c):
        where = f"leaf {event.index} of the log's own record"
        if event.topic == KEY_TRANSITION:
            _check_transition(log, event, origin, where, result)
            continue
        head = read_map_head(_decoded(log, event.state)) if event.topic == MAP_HEAD else None
        if head is None:
            result.problems.append(
                Problem(
                    f"{where} is not a map head or a key transition the ledger writes: the "
                    "log's own record was written outside the ledger.",
                    leaf=event.index,
                )
            )
            return
        _check_map_head(log, c, event.index, head, last, top, result)
        result.map_heads += 1
        last = (event.index, head)
    if last is not None:
        kept = mapstore.kept_top(log, c, last[1])
        if kept is not None and kept != top:
            result.problems.append(
                Problem(
                    "the kept subtrees of the latest map (map_nodes) do not match the map "
                    "recomputed from the log: they were changed outside the ledger, and proofs "
                    "served from them would fail; the next checkpoint rebuilds them."
                )
            )


def _decoded(log: TransparencyLog, state: bytes) -> object:
    try:
        return log.codec.decode(state)
    except Exception:  # the codec's errors are its own (msgpack, a cipher)
        return None


def _check_transition(
    log: TransparencyLog,
    event: mapstore.LogEvent,
    origin: str | None,
    where: str,
    result: Verification,
) -> None:
    state = _decoded(log, event.state)
    note = state.get("note") if isinstance(state, dict) else None
    try:
        if not isinstance(note, str):
            raise NoteError("it holds no signed note.")
        transition = parse_transition(note)
    except NoteError as e:
        result.problems.append(Problem(f"the key transition at {where} does not verify: {e}"))
        return
    if origin is not None and transition.origin != origin:
        result.problems.append(
            Problem(
                f"the key transition at {where} is for the log {transition.origin}, not this "
                f"ledger's log {origin}."
            )
        )


def _check_witnessed(
    log: TransparencyLog, c: Cursor, index: int, note: str, size: int, result: Verification
) -> None:
    """The checkpoint a map head carries is the log's at the map head before it: of its
    origin, that size, and the root of the log's first `size` leaves (the leaves are
    checked by then; its cosignatures are for auditors who hold the witnesses' keys)."""
    try:
        stated = parse_checkpoint_unverified(note)
    except CheckpointError:
        stated = None
    if (
        stated is None
        or (stated.origin, stated.size) != (log.origin(c), size)
        or stated.root != log.root(c, size)
    ):
        result.problems.append(
            Problem(
                f"the map head at leaf {index} carries a checkpoint that is not the log's at "
                f"size {size}, where the map head before it ends: the cosignatures it shows "
                "bound no event of this log.",
                leaf=index,
            )
        )


def _check_map_head(
    log: TransparencyLog,
    c: Cursor,
    index: int,
    head: MapHead,
    last: tuple[int, MapHead] | None,
    top: smt.Top,
    result: Verification,
) -> None:
    """Recompute the map up to this map head from the one before (top holds it, and is
    left holding this one's map as the log says it is) and compare."""
    where = f"the map head at leaf {index}"
    if head.covers != index:
        result.problems.append(
            Problem(
                f"{where} says its map covers {head.covers} leaves, but a map head's map covers "
                f"exactly the {index} leaves before it.",
                leaf=index,
            )
        )
    before = None if last is None else (last[0], last[1].made_at)
    if head.previous != before:
        result.problems.append(
            Problem(
                f"{where} names {head.previous} as the map head before it, where the log has "
                f"{before}: the time it bounds events by is not the log's.",
                leaf=index,
            )
        )
    if head.witnessed is not None and head.previous is not None:
        _check_witnessed(log, c, index, head.witnessed, head.previous[0] + 1, result)
    if last is None:
        top.update(mapstore.build_top(log, c, index))
    else:
        after = mapstore.nid_at(log, c, last[0] - 1) if last[0] else -(1 << 63)
        bound = mapstore.nid_at(log, c, index - 1)
        changed = mapstore.changed_buckets(log, c, after, bound)
        mapstore.update_buckets(log, c, top, changed, index)
    entries, root = smt.root(top)
    if (entries, root) != (head.entries, head.root):
        result.problems.append(
            Problem(
                f"{where} does not match the log: the map of the {index} leaves before it, "
                f"recomputed from them, holds {entries} records with root {root.hex()}, where it "
                f"says {head.entries} with root {head.root.hex()}; it misstates some record's "
                "latest version.",
                leaf=index,
            )
        )
