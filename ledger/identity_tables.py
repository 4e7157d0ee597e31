"""The tables of staff credentials beside the events, in the same database: password
hashes, access tokens (kept only as their hash), failed logins, and each applied
command's digest; their SQL for both stores. The identity service
(ledger/identity.py) reads and writes them; the recorders create them with the
ledger's tables and write what must go with events in the events' transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.log.store import Cursor, Dialect

CREDENTIALS = "staff_credentials"
TOKENS = "staff_tokens"
FAILURES = "login_failures"
# Callers' contacts of complaints: not in the events, which auditors receive
# (docs/security.md); kept, and copied, with the credentials.
CONTACTS = "complaint_contacts"
TABLES = (CREDENTIALS, TOKENS, FAILURES, CONTACTS)

# Each table's columns, in the order a copy moves them.
COLUMNS: dict[str, tuple[str, ...]] = {
    CREDENTIALS: ("staff", "password_hash", "set_at"),
    TOKENS: (
        "digest",
        "staff",
        "issued_at",
        "expires_at",
        "idle_seconds",
        "last_used_at",
        "revoked_at",
    ),
    FAILURES: ("staff", "at"),
    CONTACTS: ("complaint", "name", "phone", "salt", "recorded_at"),
}


def create_statements(d: Dialect) -> list[str]:
    """The tables (and their indexes), each created only if missing."""
    return [
        f"CREATE TABLE IF NOT EXISTS {CREDENTIALS} ("
        "staff TEXT PRIMARY KEY, password_hash TEXT NOT NULL, set_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {TOKENS} ("
        f"digest {d.blob} PRIMARY KEY, staff TEXT NOT NULL, issued_at TEXT NOT NULL, "
        "expires_at TEXT NOT NULL, idle_seconds INTEGER, last_used_at TEXT NOT NULL, "
        "revoked_at TEXT)",
        f"CREATE INDEX IF NOT EXISTS {TOKENS}_by_staff ON {TOKENS} (staff)",
        f"CREATE TABLE IF NOT EXISTS {FAILURES} (staff TEXT NOT NULL, at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {FAILURES}_by_staff ON {FAILURES} (staff, at)",
        f"CREATE TABLE IF NOT EXISTS {CONTACTS} ("
        "complaint TEXT PRIMARY KEY, name TEXT, phone TEXT, salt TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL)",
    ]


def applied_commands_statement(d: Dialect) -> str:
    """The applied command ids (idempotency) and the digest of each command's
    canonical form, by which a repeated id with another body is told from a resend.
    Ids applied before digests were kept have none (NULL)."""
    return (
        f"CREATE TABLE IF NOT EXISTS applied_commands (id TEXT PRIMARY KEY, digest {d.blob})"
        f"{d.without_rowid}"
    )


def moment(at: datetime) -> str:
    """A moment as stored: UTC, to the microsecond, so that text order is time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def read_moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class WithEvents:
    """What a transaction of events also writes here: a password's new hash (set
    with its Account event), and the staff whose tokens end (a suspension, a new
    password)."""

    at: datetime
    credentials: Sequence[tuple[str, str]] = ()  # (staff, hash)
    revoke: Sequence[str] = ()  # staff
    contacts: Sequence[tuple[str, str | None, str | None, str]] = ()  # complaint, name, phone, salt

    def __bool__(self) -> bool:
        return bool(self.credentials or self.revoke or self.contacts)


def write_with_events(c: Cursor, d: Dialect, changes: WithEvents) -> None:
    """In the events' own transaction: a credential is stored if and only if the
    event that says it was set is, and a suspension ends its tokens as it is stored."""
    at = moment(changes.at)
    for staff, password_hash in changes.credentials:
        c.execute(d.sql(f"DELETE FROM {CREDENTIALS} WHERE staff = ?"), [staff])
        c.execute(
            d.sql(f"INSERT INTO {CREDENTIALS} (staff, password_hash, set_at) VALUES (?, ?, ?)"),
            [staff, password_hash, at],
        )
        # A new password unlocks an account locked by failed logins.
        c.execute(d.sql(f"DELETE FROM {FAILURES} WHERE staff = ?"), [staff])
    for staff in changes.revoke:
        c.execute(
            d.sql(f"UPDATE {TOKENS} SET revoked_at = ? WHERE staff = ? AND revoked_at IS NULL"),
            [at, staff],
        )
    for complaint, name, phone, salt in changes.contacts:
        c.execute(
            d.sql(
                f"INSERT INTO {CONTACTS} (complaint, name, phone, salt, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            [complaint, name, phone, salt, at],
        )


def contact_of(c: Cursor, d: Dialect, complaint: str) -> tuple[str | None, str | None, str] | None:
    """A complaint's caller: name, telephone and salt (None: none kept, or a store made
    before contacts were, not yet brought up to date)."""
    if not columns(c, d, CONTACTS):
        return None
    c.execute(d.sql(f"SELECT name, phone, salt FROM {CONTACTS} WHERE complaint = ?"), [complaint])
    row = c.fetchone()
    return (row[0], row[1], str(row[2])) if row is not None else None


def columns(c: Cursor, d: Dialect, table: str) -> set[str]:
    """The columns a table has (none: no such table), read without failing on a store
    of an earlier format (opened read-only, so never brought up to date)."""
    if d.param == "?":
        c.execute("SELECT name FROM pragma_table_info(?)", [table])
    else:
        c.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [table],
        )
    return {str(row[0]) for row in c.fetchall()}


def rows_of(c: Cursor, table: str) -> list[tuple[Any, ...]]:
    """Every row of one of the tables, for a copy."""
    c.execute(f"SELECT {', '.join(COLUMNS[table])} FROM {table}")
    return [
        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in c.fetchall()
    ]
