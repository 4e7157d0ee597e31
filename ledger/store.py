"""Where the ledger lives: a store URL (or a bare path) turned into the
library's persistence settings."""

from __future__ import annotations

import os
from pathlib import Path

from domain.errors import InvalidInput, NotFound
from ledger.application import Clock, Ledger, utc_now

DEFAULT_URL = "sqlite:///oneruler.db"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("ONERULER_DB") or DEFAULT_URL


def store_env(url: str) -> dict[str, str]:
    """The persistence settings for a store URL: sqlite:///PATH or a bare path."""
    if url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(
            "PostgreSQL stores are not supported by this version yet; "
            "use a SQLite file such as sqlite:///oneruler.db."
        )
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        path = path.removeprefix("/") if path.startswith("/") else path
        if not path:
            raise InvalidInput(f"the store URL {url} names no file; write sqlite:///PATH.")
    elif "://" in url:
        raise InvalidInput(
            f"the store URL {url} is not one the ledger knows; "
            "use sqlite:///PATH (or a bare path) or postgresql://..."
        )
    else:
        path = url
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}


def open_ledger(
    url: str | None = None, *, must_exist: bool = False, clock: Clock = utc_now
) -> Ledger:
    """Open (or, for writing, create) the ledger at a store URL."""
    resolved = resolve_url(url)
    env = store_env(resolved)
    path = env["SQLITE_DBNAME"]
    if path != ":memory:":
        file = Path(path)
        if must_exist and not file.exists():
            raise NotFound(
                f"there is no ledger at {path}; give --db (or ONERULER_DB), "
                "or load one with oneruler ingest."
            )
        if not file.parent.exists():
            raise InvalidInput(
                f"the folder {file.parent} does not exist; create it or give another --db."
            )
    return Ledger(env=env, clock=clock)
