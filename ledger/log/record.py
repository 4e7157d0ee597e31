"""The log's own record: the events the log itself appends beside the ledger's (the map
heads a checkpoint commits to, and the key transitions), their aggregate's id and
topics, and a map head's stored state. They are stored events like any other, so
every leaf is still a stored event and copying the events copies them. Pure, for the
auditor's side too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

__all__ = [
    "KEY_TRANSITION",
    "LOG_RECORD_ID",
    "MAP_HEAD",
    "MapHead",
    "map_head_state",
    "read_map_head",
]

# The id scheme of domain/ids.py (a part of the format): uuid5 of the namespace and
# "<kind>:<code>". No domain aggregate has the kind "log".
_NAMESPACE = UUID("6f0b7a52-2a4e-4d1c-9a53-0e8d3f1c2b71")
LOG_RECORD_ID = uuid5(_NAMESPACE, "log:record")

# Stored formats, forever.
MAP_HEAD = "oneruler:Log.MapHead"
KEY_TRANSITION = "oneruler:Log.KeyTransition"


@dataclass(frozen=True)
class MapHead:
    """A map head: the root of the completeness map over the log's first `covers`
    leaves (the map head itself is leaf `covers`), how many ids it holds, when it was
    made, and the leaf index and time of the map head before it (None: the first)."""

    covers: int
    root: bytes
    entries: int
    made_at: datetime
    previous: tuple[int, datetime] | None
    # The checkpoint that ends at the previous map head, as the ledger kept it with the
    # witnesses' cosignatures (None: it carried none). Fixed in the log here, it cannot
    # be left out of a bundle later to hide when an event after it was recorded.
    witnessed: str | None = None


def map_head_state(head: MapHead) -> dict[str, Any]:
    """The state stored for a map head (encoded as the ledger encodes every event);
    `witnessed` only when there is one, so a map head without is as before."""
    state: dict[str, Any] = {
        "timestamp": head.made_at,
        "covers": head.covers,
        "root": head.root,
        "entries": head.entries,
        "previous": None if head.previous is None else list(head.previous),
    }
    if head.witnessed is not None:
        state["witnessed"] = head.witnessed
    return state


def read_map_head(state: Any) -> MapHead | None:
    """A map head from its decoded state; None if the state is not one."""
    if not isinstance(state, dict):
        return None
    covers: Any = state.get("covers")
    entries: Any = state.get("entries")
    root = state.get("root")
    made_at, previous = state.get("timestamp"), state.get("previous")
    if not (
        _count(covers)
        and _count(entries)
        and isinstance(root, bytes)
        and len(root) == 32
        and isinstance(made_at, datetime)
        and made_at.tzinfo is not None
    ):
        return None
    if previous is not None:
        if not (
            isinstance(previous, list | tuple)
            and len(previous) == 2
            and _count(previous[0])
            and isinstance(previous[1], datetime)
            and previous[1].tzinfo is not None
        ):
            return None
        previous = (previous[0], previous[1])
    witnessed = state.get("witnessed")
    if witnessed is not None and not (isinstance(witnessed, str) and previous is not None):
        return None
    return MapHead(covers, root, entries, made_at, previous, witnessed)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
