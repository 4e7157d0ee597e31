"""The witnesses' cosignatures as the ledger keeps them, on its stored checkpoints'
notes: the size each witness last cosigned (so that `checkpoint --witness` sends the
right consistency proof at once), adding cosignatures to a stored checkpoint, and the
cosigned checkpoints, which the next map head carries (docs/integrity.md, *Witnesses*)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from domain.errors import NotFound
from ledger.checkpoint import CheckpointError, StoredCheckpoint, parse_verifier
from ledger.cosignature import (
    CosignatureError,
    CosignerVerifier,
    add_cosignatures,
    signature_keys,
)

if TYPE_CHECKING:
    from ledger.log.store import Cursor, LogStore, TransparencyLog

__all__ = ["cosigned_notes", "cosigned_sizes", "record_cosignatures"]


def _others(checkpoint: StoredCheckpoint) -> list[tuple[str, bytes]]:
    """The (name, key ID) of each signature line on a stored note that is not by one of
    the log's keys that signed it: its cosignatures."""
    own = set()
    for text in checkpoint.verifier_keys:
        with suppress(CheckpointError):
            key = parse_verifier(text)
            own.add((key.name, key.key_id))
    try:
        lines = signature_keys(checkpoint.note)
    except CheckpointError:
        return []  # a note that does not read: verify names it
    return [line for line in lines if line not in own]


def cosigned_sizes(
    store: LogStore, keys: Iterable[CosignerVerifier]
) -> dict[CosignerVerifier, int]:
    """The size of the latest stored checkpoint each witness cosigned (a witness that
    cosigned none is left out): what it holds, unless a cosignature it gave was lost
    before it was stored, which its 409 answer then tells."""
    wanted = {(key.name, key.key_id): key for key in keys}
    found: dict[CosignerVerifier, int] = {}
    with store.log_transaction(commit=False) as c:
        checkpoints = store.log.checkpoints(c)
    for checkpoint in reversed(checkpoints):
        for line in _others(checkpoint):
            key = wanted.get(line)
            if key is not None and key not in found:
                found[key] = checkpoint.size
        if len(found) == len(wanted):
            break
    return found


def record_cosignatures(
    store: LogStore, checkpoint_id: int, lines: Sequence[str]
) -> StoredCheckpoint:
    """Keep witnesses' cosignature lines on a stored checkpoint's note, each once (the
    note's text and the log's signatures stay as they are, so verify reads it as before)."""
    log = store.log
    with store.log_transaction(commit=True) as c:
        stored = next((cp for cp in log.checkpoints(c) if cp.id == checkpoint_id), None)
        if stored is None:
            raise NotFound(f"there is no checkpoint {checkpoint_id} in the ledger.")
        try:
            note = add_cosignatures(stored.note, lines)
        except CosignatureError as e:
            raise CosignatureError(f"checkpoint {checkpoint_id}'s cosignatures: {e}") from None
        if note != stored.note:
            c.execute(
                log.dialect.sql("UPDATE checkpoints SET note = ? WHERE id = ?"), [note, stored.id]
            )
    return StoredCheckpoint(
        stored.id,
        stored.origin,
        stored.size,
        stored.root,
        note,
        stored.key_name,
        stored.verifier_key,
        stored.created_at,
    )


def cosigned_notes(
    log: TransparencyLog, c: Cursor, size: int | None = None
) -> list[tuple[int, str]]:
    """The stored checkpoints that carry cosignatures (of the given size, if one is),
    one per size (of those of one size, the one with the most, then the first), by
    size: (size, note)."""
    best: dict[int, tuple[int, str]] = {}
    for checkpoint in log.checkpoints(c):
        if size is not None and checkpoint.size != size:
            continue
        count = len(_others(checkpoint))
        if count and count > best.get(checkpoint.size, (0, ""))[0]:
            best[checkpoint.size] = (count, checkpoint.note)
    return [(each, note) for each, (_, note) in sorted(best.items())]
