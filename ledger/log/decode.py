"""What a leaf says, decoded by the auditor from the leaf's own bytes: the leaf's five
fields, the event's stored state (MessagePack with the ledger's four extension types),
and the event as people read it in a bundle's `decoded`. Needs msgpack and the
standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import msgpack

__all__ = ["Leaf", "decode_leaf", "decode_state", "difference", "readable"]

# ledger/transcoder.py's extension types (a stored format): Decimal as its text, a
# datetime or a date in ISO 8601, a UUID as its 16 bytes.
_DECIMAL, _DATETIME, _DATE, _UUID = 1, 2, 3, 4

# The fields every event has, which `readable` lists first (or leaves out).
_STANDARD = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "actor"}
    | {"occurred_at", "command"}
)


@dataclass(frozen=True)
class Leaf:
    """The five fields of a leaf: [notification id, originator id, version, topic, state]."""

    notification_id: int
    originator: bytes
    version: int
    topic: str
    state: bytes


def decode_leaf(leaf: bytes) -> Leaf | None:
    """A leaf's fields; None if the bytes are not a leaf as the ledger writes them."""
    try:
        fields = msgpack.unpackb(leaf, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises several unrelated types on malformed input
        return None
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
        return None
    return Leaf(*fields)


class _Undecodable(ValueError):
    pass


def _extension(code: int, data: bytes) -> Any:
    try:
        text = data.decode("ascii")
        if code == _DECIMAL:
            return Decimal(text)
        if code == _DATETIME:
            return datetime.fromisoformat(text)
        if code == _DATE:
            return date.fromisoformat(text)
    except (UnicodeDecodeError, ValueError, InvalidOperation):
        raise _Undecodable(code) from None
    if code == _UUID and len(data) == 16:
        return UUID(bytes=data)
    raise _Undecodable(code)


def decode_state(state: bytes) -> dict[str, Any] | None:
    """An event's stored state as the ledger wrote it; None if it is not MessagePack of
    a map (the ledger's events compressed or encrypted, or not the ledger's at all)."""
    try:
        decoded = msgpack.unpackb(state, ext_hook=_extension, raw=False, strict_map_key=False)
    except Exception:  # msgpack raises several unrelated types on malformed input
        return None
    if not isinstance(decoded, dict) or not all(isinstance(k, str) for k in decoded):
        return None
    return decoded


def _plain(value: Any) -> Any:
    """A field as JSON-ready data: amounts as text, times in ISO 8601, bytes in hex."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def readable(topic: str, version: int, state: dict[str, Any]) -> dict[str, Any]:
    """The event for people, as a bundle's `decoded` holds it: its type (the topic's
    last part), version, times, actor and command, then its own fields."""
    document: dict[str, Any] = {"type": topic.rpartition(".")[2], "version": version}
    if "occurred_at" in state:
        document["occurred_at"] = _plain(state["occurred_at"])
    if "timestamp" in state:
        document["recorded_at"] = _plain(state["timestamp"])
    for name in ("actor", "command"):
        if name in state:
            document[name] = _plain(state[name])
    document.update((k, _plain(v)) for k, v in state.items() if k not in _STANDARD)
    return document


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def difference(given: Any, decoded: Mapping[str, Any]) -> str:
    """The first way a bundle's `decoded` differs from its leaf, for a sentence."""
    if not isinstance(given, Mapping):
        return "is not an object, where its leaf says " + str(dict(decoded))
    for name in [*decoded, *(k for k in given if k not in decoded)]:
        if name not in given:
            return f"leaves out {name!r}, which its leaf holds ({decoded[name]!r})."
        if name not in decoded:
            return f"adds {name!r} ({given[name]!r}), which its leaf does not hold."
        if given[name] != decoded[name]:
            return (
                f"says {name} {given[name]!r} where its leaf says {decoded[name]!r}: the bundle "
                "shows you something other than what was signed."
            )
    return "differs from its leaf."
