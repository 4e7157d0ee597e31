"""A leaf of the log: the bytes of one stored event as the tree hashes it (a stored
format: docs/integrity.md). Its own module, as light as it can be: every process that
writes events imports it."""

from __future__ import annotations

from typing import TypeAlias

import msgpack

__all__ = ["LeafRow", "leaf_bytes"]

# (notification id, originator id as 16 bytes, originator version, topic, state)
LeafRow: TypeAlias = tuple[int, bytes, int, str, bytes]


def leaf_bytes(
    notification_id: int, originator_id: bytes, version: int, topic: str, state: bytes
) -> bytes:
    """The leaf of one stored event: msgpack [id, originator id, version, topic, state]."""
    packed: bytes = msgpack.packb(
        [notification_id, originator_id, version, topic, state], use_bin_type=True
    )
    return packed
