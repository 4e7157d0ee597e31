"""The scanned documents of households' files, kept by content: a table beside the
events, in the same database (SQLite or PostgreSQL), keyed by each file's SHA-256. A
file is stored once and never overwritten: the same bytes sent again find the row
already there, and no other bytes can ever be stored under that digest. The ledger's
`attach_document` event names the digest; this table holds what it names.

A table rather than a folder because a county's PostgreSQL ledger is served by many
processes on many machines, which share the database but no disk; and because a
backup of the database then holds the files its events name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from domain.errors import InvalidInput
from ledger.application import Ledger
from ledger.log.store import Cursor

TABLE = "household_documents"
# Which household each file was uploaded for: a file is served only for a household it
# was uploaded for, so knowing another household's digest (every timeline shows it)
# and attaching it to one's own household does not give its bytes.
UPLOADS = "household_document_uploads"
# A scanned page is a few hundred kilobytes; a whole file as one PDF, a few megabytes.
MAX_BYTES = 10 * 1024 * 1024
# Each table's columns, in the order a copy moves them.
COLUMNS = ("sha256", "size", "content", "kept_at")
UPLOAD_COLUMNS = ("household", "sha256")


def create_statements(blob: str) -> list[str]:
    """The two tables, each created only if missing (blob: the store's binary type)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, "
        f"content {blob} NOT NULL, kept_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {UPLOADS} (household TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, PRIMARY KEY (household, sha256))",
    ]


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Documents:
    """The documents kept in one open ledger's database."""

    def __init__(self, ledger: Ledger) -> None:
        self.recorder = ledger.ledger_recorder
        self.dialect = self.recorder.log.dialect
        self.clock = ledger.clock
        self._made = False

    def keep(self, content: bytes, household: str) -> str:
        """Keep a file's bytes (unless already kept), uploaded for a household; its
        SHA-256 in hex."""
        if not content:
            raise InvalidInput("the file is empty; choose the scanned file again.")
        if len(content) > MAX_BYTES:
            raise InvalidInput(
                f"the file is {len(content):,} bytes, more than the {MAX_BYTES:,} allowed; "
                "scan it at a lower resolution, or split it."
            )
        digest = digest_of(content)
        with self._transaction(commit=True) as c:
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TABLE} (sha256, size, content, kept_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (sha256) DO NOTHING"
                ),
                [digest, len(content), content, self.clock().isoformat()],
            )
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {UPLOADS} (household, sha256) VALUES (?, ?) "
                    "ON CONFLICT (household, sha256) DO NOTHING"
                ),
                [household, digest],
            )
        return digest

    def content(self, digest: str, household: str) -> bytes | None:
        """A kept file's bytes, if uploaded for this household (None: not kept here)."""
        with self._transaction(commit=False) as c:
            c.execute(
                self.dialect.sql(
                    f"SELECT d.content FROM {TABLE} d JOIN {UPLOADS} u ON u.sha256 = d.sha256 "
                    "WHERE d.sha256 = ? AND u.household = ?"
                ),
                [digest, household],
            )
            row = c.fetchone()
        return None if row is None else bytes(row[0])

    def kept(self, digests: Iterable[str], household: str) -> set[str]:
        """Which of these digests have their file kept here, uploaded for the household."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        with self._transaction(commit=False) as c:
            c.execute(
                self.dialect.sql(
                    f"SELECT sha256 FROM {UPLOADS} WHERE household = ? "
                    f"AND sha256 IN ({','.join('?' * len(wanted))})"
                ),
                [household, *wanted],
            )
            return {str(row[0]) for row in c.fetchall()}

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[Cursor]:
        # The table is made on first use, so ledgers made before it need no migration.
        if not self._made:
            with self.recorder.log_transaction(commit=True) as c:
                for statement in create_statements(self.dialect.blob):
                    c.execute(statement)
            self._made = True
        with self.recorder.log_transaction(commit=commit) as c:
            yield c
