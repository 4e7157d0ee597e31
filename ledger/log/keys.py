"""The log's keys and origin, and what they sign: the origin (fixed by the first
checkpoint, the name of the key that signs it), which keys may sign (those of the
latest checkpoint, followed through the key transitions in the log's own record),
making a checkpoint, recording a transition, and making a receipt for an event just
written."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.ids import complaint_id, household_id, payout_id
from ledger.checkpoint import (
    CheckpointError,
    Signer,
    StoredCheckpoint,
    Verifier,
    check_origin,
    parse_verifier,
)
from ledger.log import mapstore
from ledger.log.notes import (
    KeyChain,
    NoteError,
    Receipt,
    Transition,
    parse_transition,
    sign_receipt,
    sign_transition,
)
from ledger.log.record import KEY_TRANSITION

if TYPE_CHECKING:
    from ledger.log.store import Cursor, LogStore, TransparencyLog

__all__ = [
    "check_signers",
    "current_keys",
    "make_checkpoint",
    "make_receipt",
    "record_transition",
    "transitions",
]

_IDS = {"household": household_id, "complaint": complaint_id, "payout": payout_id}
_TRANSITION_HOW = "oneruler key transition --key CURRENT.key --to NEW.pub"


def transitions(log: TransparencyLog, c: Cursor) -> list[tuple[int, Transition | None]]:
    """The key transitions in the log's own record, in order, with their leaf indexes
    (None for one that does not read or verify: verify names it)."""
    found: list[tuple[int, Transition | None]] = []
    for event in mapstore.log_events(log, c):
        if event.topic != KEY_TRANSITION:
            continue
        transition = None
        with suppress(Exception):  # the codec's errors are its own; NoteError too
            state = log.codec.decode(event.state)
            transition = parse_transition(state["note"])
        found.append((event.index, transition))
    return found


def current_keys(log: TransparencyLog, c: Cursor) -> list[Verifier] | None:
    """The keys that may sign the log's next note: those that signed its latest
    checkpoint, each replaced by the transitions recorded since. None: the log has no
    checkpoint yet, so its first key is whichever signs the first."""
    latest = log.latest_checkpoint(c)
    if latest is None:
        return None
    start = []
    for text in latest.verifier_keys:
        with suppress(CheckpointError):  # a bad stored key: verify reports it
            start.append(parse_verifier(text))
    chain = KeyChain(start)
    chain.follow(
        [t for index, t in transitions(log, c) if t is not None and index >= latest.size],
        latest.origin,
    )
    return chain.current


def _named(keys: Sequence[Verifier]) -> str:
    return ", ".join(f"{k.name}+{k.key_id.hex()}" for k in keys)


def check_signers(
    log: TransparencyLog, c: Cursor, signers: Sequence[Signer], origin: str | None
) -> str:
    """The origin the signers sign for, once they are shown to be the log's keys: all
    named as its origin, and (after the first checkpoint) its current keys."""
    remembered = log.origin(c)
    if origin is not None and remembered is not None and origin != remembered:
        raise RuleViolation(
            f"this ledger's checkpoints are for the log {remembered}, and a log keeps one "
            f"origin; leave out --origin (or give --origin {remembered})."
        )
    chosen = remembered or origin or signers[0].name
    if remembered is None:
        try:
            check_origin(chosen)
        except CheckpointError as e:
            raise InvalidInput(
                f"a new log's origin is the name of the key that signs its first checkpoint, "
                f"and {str(e)[:1].lower()}{str(e)[1:]}"
            ) from None
    for signer in signers:
        if signer.name != chosen:
            how = (
                f"make one with oneruler key generate {chosen}"
                if remembered is None
                else f"make one with oneruler key generate {chosen} and record the move to it, "
                f"signed by the current key: {_TRANSITION_HOW}"
            )
            raise RuleViolation(
                f"the key {signer.name} is not named as the log's origin {chosen}, and a log's "
                f"key must be; {how}."
            )
    current = current_keys(log, c)
    if current is not None:
        for signer in signers:
            if signer.verifier() not in current:
                raise RuleViolation(
                    f"the key {signer.name}+{signer.key_id.hex()} is not this log's key (it is "
                    f"{_named(current)}); a new key signs only once the current one has named "
                    f"it: {_TRANSITION_HOW}."
                )
    return chosen


def make_checkpoint(
    store: LogStore, signers: Sequence[Signer], *, origin: str | None, now: datetime
) -> StoredCheckpoint:
    """Extend the tree to the store's end, append a map head over it (mapstore.py),
    then sign and keep a checkpoint of it with every key: keys named as the log's
    origin, and the log's own (keys.py)."""
    if not signers:
        raise InvalidInput("a checkpoint needs a key to sign it; give --key FILE.")
    with store.log_transaction(commit=True) as c:
        c.execute(store.log.dialect.write_lock)
        store.log.catch_up(c)
        chosen = check_signers(store.log, c, signers, origin)
        mapstore.extend_map(store.log, c, now)
        return store.log.record_checkpoint(c, chosen, signers, now.isoformat())


def record_transition(store: LogStore, old: Signer, new: Verifier, now: datetime) -> Transition:
    """Append a key transition from the current key `old` to `new`, signed by `old`."""
    with store.log_transaction(commit=True) as c:
        log = store.log
        c.execute(log.dialect.write_lock)
        origin = log.origin(c)
        current = current_keys(log, c)
        if origin is None or current is None:
            raise RuleViolation(
                "this ledger has no checkpoint yet, so no key to move from; sign its first "
                "checkpoint with the new key."
            )
        if new.name != origin:
            raise RuleViolation(
                f"the new key {new.name} is not named as the log's origin {origin}; make it with "
                f"oneruler key generate {origin}."
            )
        if old.verifier() not in current:
            raise RuleViolation(
                f"the key {old.name}+{old.key_id.hex()} is not this log's current key (it is "
                f"{_named(current)}); a transition is signed by the key it replaces."
            )
        if new in current:
            raise RuleViolation(
                f"the key {new.name}+{new.key_id.hex()} is already this log's key; give another."
            )
        transition = sign_transition(origin, old, new)
        mapstore.append_log_event(
            log, c, KEY_TRANSITION, {"timestamp": now, "note": transition.note}
        )
    return transition


def make_receipt(
    store: LogStore,
    signers: Sequence[Signer],
    kind: str,
    code: str,
    version: int | None,
    now: datetime,
) -> Receipt:
    """A receipt for one event (a record's given or latest version): the log's promise,
    signed by its keys, that its next checkpoint includes the event's leaf."""
    originator = _IDS[kind](code)
    log = store.log
    d = log.dialect
    with store.log_transaction(commit=False) as c:
        origin = check_signers(log, c, signers, None)
        c.execute(
            d.sql(
                f"SELECT {d.notification_id}, originator_version, state FROM {d.events_table} "
                "WHERE originator_id = ?"
                + (" AND originator_version = ?" if version is not None else "")
                + " ORDER BY originator_version DESC LIMIT 1"
            ),
            [d.originator_param(originator), *([version] if version is not None else [])],
        )
        row = c.fetchone()
        if row is None:
            which = (
                f"version {version} of {kind} {code}" if version is not None else f"{kind} {code}"
            )
            raise NotFound(f"there is no {which} in the ledger: check the code and version.")
        nid, found_version, state = int(row[0]), int(row[1]), bytes(row[2])
        leaves = log.leaves_of(c, [nid])
    if nid not in leaves:
        raise RuleViolation(
            f"version {found_version} of {kind} {code} is not in the log yet; run oneruler verify."
        )
    index, leaf_hash = leaves[nid]
    recorded_at = now
    with suppress(Exception):  # the codec's errors are its own
        decoded = log.codec.decode(state)
        if isinstance(decoded.get("timestamp"), datetime):
            recorded_at = decoded["timestamp"]
    receipt = Receipt(origin, index, leaf_hash, kind, code, found_version, recorded_at)
    try:
        return sign_receipt(receipt, signers)
    except (CheckpointError, NoteError) as e:
        raise InvalidInput(str(e)) from None
