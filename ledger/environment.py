"""Failures of what a command runs on rather than of the command: a full disk, a file
or mount that takes no writes, a failing disk, a lost connection to the server. Each is
told as one sentence naming the cause and the remedy (exit 2), never as a bug."""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from domain.errors import DomainError

# Appended to what went wrong while writing: a command is applied whole or not at all.
AGAIN = "run the command again (what was stored before stays, and nothing is applied twice)"


class StoreProblem(DomainError):
    """The store, or the machine it is on, failed the command: no rule did (exit 2)."""


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        else:  # raised "from None": what it was raised during is not its cause
            current = None if current.__suppress_context__ else current.__context__


def problem(error: BaseException, store: str | None = None) -> str | None:
    """One sentence for an environment failure anywhere in the error's chain, or None
    if it is something else. store: the ledger's URL or path, to name it."""
    for cause in causes(error):
        if isinstance(cause, sqlite3.Error):
            said = _sqlite(cause, store)
            if said is not None:
                return said
        elif isinstance(cause, OSError) and not isinstance(cause, FileExistsError):
            said = _os(cause)
            if said is not None:
                return said
        else:
            said = _postgres(cause, store)
            if said is not None:
                return said
    return None


def _detail(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__


def _sqlite(error: sqlite3.Error, store: str | None) -> str | None:
    name = getattr(error, "sqlite_errorname", None) or ""
    text = str(error).lower()
    path = _path(store)
    where = path or "the ledger's file"
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return _full(where, _detail(error))
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return read_only(where)
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        if path is not None and no_space_left(path):
            return _full(where, _detail(error))
        return (
            f"reading or writing {where} failed ({_detail(error)}): check the disk it is on "
            f"(full, failing, removed, or a network mount gone), then {AGAIN}."
        )
    if name == "SQLITE_CANTOPEN" or "unable to open database file" in text:
        if path is not None and no_space_left(path):
            return _full(where, _detail(error))
        return (
            f"{where} cannot be opened ({_detail(error)}): check that it and its folder may "
            "be read and written here, then run the command again."
        )
    return None


def _full(where: str, detail: str) -> str:
    return f"the disk holding {where} is full ({detail}); free some space there, then {AGAIN}."


def read_only(where: str) -> str:
    return (
        f"{where} cannot be written here (a read-only file, folder or mount): make it "
        f"writable, or copy it to where it can be (oneruler copy --from {where} --to "
        "NEW.db); reads and verify work on it as it is."
    )


def _os(error: OSError) -> str | None:
    where = error.filename if error.filename is not None else "a file"
    reason = error.strerror or _detail(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {where} ({reason}): free some space there, then {AGAIN}."
    if error.errno == errno.EROFS:
        return f"cannot write {where} ({reason}): choose a place that can be written."
    if error.errno == errno.EIO:
        return f"cannot read or write {where} ({reason}): check the disk it is on."
    return None


def _postgres(error: BaseException, store: str | None) -> str | None:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(error, psycopg.Error):
        return None
    server = f"PostgreSQL at {_server(store)}" if store else "the PostgreSQL server"
    state = getattr(error, "sqlstate", None) or ""
    if state == "53100":
        return (
            f"{server} has no space left ({_detail(error)}); free space on the server, "
            f"then {AGAIN}."
        )
    if state in ("53200", "53300"):
        return f"{server} is out of resources ({_detail(error)}); {AGAIN} in a moment."
    # The connection broke: ended by the server (57P01 for pg_terminate_backend, a
    # shutdown or a crash), or a socket gone (class 08, or no state at all).
    ended = state.startswith("08") or state in ("57P01", "57P02", "57P03")
    broken = not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    if ended or broken:
        return (
            f"the connection to {server} was lost ({_detail(error)}); once the server is "
            f"reachable, {AGAIN}."
        )
    return None


def _path(store: str | None) -> str | None:
    """The SQLite file a store URL names (None: a PostgreSQL store, or not known)."""
    if store is None or store.startswith(("postgresql://", "postgres://")):
        return None
    path = store.removeprefix("sqlite://")
    if store.startswith("sqlite://"):
        path = path.removeprefix("/").partition("?")[0]
    return path


def _server(store: str) -> str:
    try:
        parts = urlsplit(store)
        return f"{parts.hostname}:{parts.port or 5432}"
    except ValueError:
        return "the server"


def no_space_left(path: str) -> bool:
    """Whether the file system holding path (or its folder) has no room for a page."""
    folder = Path(path).resolve().parent
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024
