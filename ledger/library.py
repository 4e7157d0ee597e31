"""The one place where the ledger reaches into the eventsourcing library's private
internals (names starting with an underscore, and the shape of its stored state),
and where the installed library's version is checked. Every other module uses the
library's public API only (tests/unit/test_layers.py checks it).

What is reached into, and why:
- SQLite connections: the sqlite3 connection inside the library's pooled connection
  (pragmas: the page cache, the WAL's bounds and checkpoints, a lock taken without
  waiting), and the pool's hook that creates connections (so every connection gets
  those pragmas);
- tracking rows: the tracking recorder's insert, inside the read models' own
  transaction;
- PostgreSQL appends: the recorder's insert of stored events and reading back their
  notification ids, inside the ledger's own transaction (which also writes the
  command ids and the log);
- the datastore: the ledger's settings kept on it for the recorder it is given to;
- decoding: a domain event made from its decoded state, upcast as the library's
  Mapper does (`class_version`, `upcast_vN_vN+1`), for the read models' fast decoder
  (ledger/transcoder.py, ReadMapper)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking

from ledger.environment import StoreProblem
from ledger.settings import DEFAULT, Settings

# The versions these internals were read from and tested against: MAJOR.MINOR.
SUPPORTED = ("9.5",)


class UnsupportedLibrary(StoreProblem):
    """The installed eventsourcing is not a version the ledger was built for (exit 2)."""


def installed_version() -> str:
    return metadata.version("eventsourcing")


def check_version(installed: str | None = None) -> None:
    """Refuse, in one sentence, an eventsourcing whose internals may differ."""
    version = installed_version() if installed is None else installed
    if ".".join(version.split(".")[:2]) not in SUPPORTED:
        wanted = " or ".join(f"{supported}.x" for supported in SUPPORTED)
        raise UnsupportedLibrary(
            f"eventsourcing {version} is installed, and oneruler works with eventsourcing "
            f"{wanted} only (it relies on that version's storage internals); install it "
            f"with pip install 'eventsourcing[postgres]=={SUPPORTED[-1]}.*'."
        )


# --- the ledger's settings, given to its recorder ------------------------------------


def give_settings(factory: Any, settings: Settings) -> None:
    """Keep the ledger's settings on the library's datastore (of the factory that makes
    the recorder), where the recorder finds them: the library gives it that only."""
    factory.datastore.oneruler_settings = settings


def settings_given(datastore: Any) -> Settings:
    found = getattr(datastore, "oneruler_settings", None)
    return found if isinstance(found, Settings) else DEFAULT


# --- SQLite -------------------------------------------------------------------------


def raw_connection(connection: Any) -> sqlite3.Connection:
    """The sqlite3 connection inside one of the library's pooled connections."""
    raw: sqlite3.Connection = connection._sqlite_conn
    return raw


def on_new_connections(datastore: Any, prepare: Callable[[sqlite3.Connection], None]) -> None:
    """Run prepare on every sqlite3 connection the datastore's pool opens from now on."""
    pool = datastore.pool
    create = pool._create_connection

    def create_prepared() -> Any:
        connection = create()
        prepare(raw_connection(connection))
        return connection

    pool._create_connection = create_prepared


def connection_note(connection: Any, key: str) -> Any:
    """A value kept on a pooled connection (None if none): what was set on it once."""
    return connection.__dict__.get(f"oneruler_{key}")


def note_on_connection(connection: Any, key: str, value: Any) -> None:
    connection.__dict__[f"oneruler_{key}"] = value


# --- tracking -----------------------------------------------------------------------


def insert_tracking(tracking_recorder: Any, cursor: Any, name: str, position: int) -> None:
    """The library's tracking row (name, position), written with the given cursor: in
    the transaction of the rows it tracks."""
    tracking_recorder._insert_tracking(cursor, Tracking(name, position))


# --- PostgreSQL ---------------------------------------------------------------------


def insert_stored_events(
    recorder: Any, cursor: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
) -> Sequence[int]:
    """The library's insert of stored events with a cursor of the caller's transaction
    (it locks the events table first), and their notification ids."""
    recorder._insert_stored_events(cursor, stored_events, **kwargs)
    ids: Sequence[int] | None = recorder._fetch_ids_after_insert_events(cursor, stored_events)
    assert ids is not None
    return ids


# --- decoding -----------------------------------------------------------------------


def domain_event(cls: type, class_version: int, state: dict[str, Any]) -> Any:
    """The domain event of a class from its decoded state (its originator id and version
    included), upcast from the class version it was stored with, as the library's
    Mapper.to_domain_event makes it, without calling its __init__."""
    from_version = state.pop("class_version", 1)
    while from_version < class_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    event: Any = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event
