"""Credentials for the tests: sessions for the ledger's own API (which trusts a
Session, as the identity service gives one after a login), and real tokens, issued
by the identity service into a ledger's own tables, for the command line."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import PersistenceError

from domain.base import Recorded
from domain.errors import DomainError
from ledger.application import Ledger
from ledger.commands import Command
from ledger.identity import Identity
from ledger.session import Session
from ledger.store import open_ledger

# The built-in admin, logged in: who enters a programme's lines for its staff.
ADMIN = Session("admin", "admin")

# A password that passes the rules, for tests that log in.
PASSWORD = "correct horse battery staple"


def session_of(staff: str) -> Session:
    """A staff member, logged in (the ledger reads their role from their record)."""
    return Session(staff, "")


def execute_as_actor(ledger: Ledger, command: Command) -> list[Recorded] | None:
    """Run a command entered by its own actor, as the command line does."""
    assert command.actor is not None
    return ledger.execute(command, session_of(command.actor))


def token_for(db: str, staff: str = "admin") -> str:
    """A token for the staff member in the ledger at db (made if missing), as a login
    would issue one, without the Argon2 hashing that a test would wait on."""
    ledger = open_ledger(db)
    try:
        token, _ = Identity(ledger).issue_token(staff)
    finally:
        ledger.close()
    return token


def _writes() -> set[tuple[str, ...]]:
    from ledger.commands import declarations

    return {(d.group, d.name) for d in declarations()} | {("ingest",)}


def logged_in(
    args: Sequence[Any], env: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """The environment for running `oneruler *args`: as given, and for a write that
    names no credential of its own, ONERULER_TOKEN set to a token of its actor
    (--actor, or ONERULER_ACTOR; else the built-in admin) in its ledger (--db, or
    ONERULER_DB): the staff member logged in, as the tests of what a write does
    need. The tests of credentials give their own."""
    given = dict(env or {})
    words = [str(a) for a in args]
    is_write = tuple(words[:2]) in _writes() or tuple(words[:1]) in _writes()
    if not is_write or "--token-file" in words or given.get("ONERULER_TOKEN"):
        return given
    db = _option(words, "--db") or given.get("ONERULER_DB") or os.environ.get("ONERULER_DB")
    if db is None:
        return given
    actor = _option(words, "--actor") or given.get("ONERULER_ACTOR") or "admin"
    # No ledger there to hold a token (missing folder, another program's file, a
    # read-only one): the test is of that refusal, which comes first.
    with contextlib.suppress(DomainError, PersistenceError, OSError):
        given["ONERULER_TOKEN"] = token_for(db, actor)
    return given


def _option(words: list[str], name: str) -> str | None:
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(name + "="):
            return word.partition("=")[2]
    return None
