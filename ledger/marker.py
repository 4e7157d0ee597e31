"""What makes a store a oneruler ledger: a table of its own, written with the ledger's
tables, that names the format and its version; how a ledger made before that table is
still known by its tables; and the rows by which a copy not yet proved says so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TABLE = "oneruler_ledger"
FORMAT = "oneruler"
# The store's format: a oneruler that reads version n refuses a store of a later one.
# 2: staff credentials, access tokens and failed logins in tables of their own, and a
# digest beside each applied command id. A store of version 1 (or made before the
# marker) is brought to 2 when it is next opened with the right to write.
VERSION = 2
ROWS: tuple[tuple[str, str], ...] = (("format", FORMAT), ("version", str(VERSION)))

CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

# A ledger made before the marker has these tables (each store names its events table
# its own way), which no other program's store has all of: the applied command ids and
# the transparency log's tree beside the events.
_BEFORE_THE_MARKER = ("applied_commands", "merkle_leaves", "merkle_nodes")
LEGACY_SQLITE = frozenset({"stored_events", *_BEFORE_THE_MARKER})
LEGACY_POSTGRES = frozenset({"oneruler_events", *_BEFORE_THE_MARKER})

# A copy writes these before its first row and deletes them once the copy is proved:
# the source it is taken from, and the size and root (hex) of the source's log.
COPY_FROM, COPY_SIZE, COPY_ROOT = "copy_from", "copy_size", "copy_root"


@dataclass(frozen=True)
class Copying:
    """A copy that has not finished: what it copies, and the log it must end with."""

    source: str
    size: int
    root: bytes


@dataclass(frozen=True)
class Found:
    """What a store holds, as far as a ledger is concerned."""

    kind: str  # "empty", "ledger", "legacy", "foreign" or "later"
    tables: tuple[str, ...] = ()
    version: int = VERSION
    copying: Copying | None = None


def recognise(
    tables: Iterable[str], marker: Mapping[str, str] | None, legacy: frozenset[str]
) -> Found:
    """A store's kind from its tables (other than the database's own) and, if it has
    the marker table, that table's rows."""
    names = tuple(sorted(tables))
    if not names:
        return Found("empty")
    if marker is None:
        return Found("legacy") if legacy <= set(names) else Found("foreign", names)
    if marker.get("format") != FORMAT or not marker.get("version", "").isdigit():
        return Found("foreign", names)
    version = int(marker["version"])
    if version > VERSION:
        return Found("later", version=version)
    return Found("ledger", version=version, copying=copying(marker))


def copying(marker: Mapping[str, str]) -> Copying | None:
    if COPY_FROM not in marker:
        return None
    return Copying(
        marker[COPY_FROM], int(marker.get(COPY_SIZE, "0")), bytes.fromhex(marker.get(COPY_ROOT, ""))
    )


def listed(names: tuple[str, ...], most: int = 4) -> str:
    shown = list(names[:most])
    if len(names) > most:
        shown.append(f"{len(names) - most} more")
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def refusal(found: Found, where: str, remedy: str) -> str | None:
    """The sentence that refuses a store no command may use (None: it may be used).
    where names the store ("x.db", "schema s of database d on h:p"); remedy says
    what to give instead ("a new file")."""
    if found.kind == "foreign":
        return (
            f"{where} is not a oneruler ledger (it holds another program's tables: "
            f"{listed(found.tables)}); oneruler leaves it as it is: check --db, or give "
            f"{remedy}."
        )
    if found.kind == "later":
        return (
            f"{where} is a ledger of format version {found.version}, made by a later oneruler "
            f"than this one (which reads version {VERSION}); open it with that version."
        )
    return None


def unfinished(copying: Copying, name: str, delete: str) -> str:
    """The sentence that refuses a store a copy was writing when it stopped."""
    return (
        f"{name} holds a copy of {copying.source} that did not finish (it stopped before its "
        f"last rows and their proof were in); finish it with oneruler copy --resume --from "
        f"{copying.source} --to {name}, or {delete} and copy again."
    )
