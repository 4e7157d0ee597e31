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
# A scanned page is a few hundred kilobytes; a whole file as one PDF, a few megabytes.
MAX_BYTES = 10 * 1024 * 1024


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Documents:
    """The documents kept in one open ledger's database."""

    def __init__(self, ledger: Ledger) -> None:
        self.recorder = ledger.ledger_recorder
        self.dialect = self.recorder.log.dialect
        self.clock = ledger.clock
        self._made = False

    def keep(self, content: bytes) -> str:
        """Keep a file's bytes (unless already kept); its SHA-256 in hex."""
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
        return digest

    def content(self, digest: str) -> bytes | None:
        """A kept file's bytes (None: not kept here)."""
        with self._transaction(commit=False) as c:
            c.execute(self.dialect.sql(f"SELECT content FROM {TABLE} WHERE sha256 = ?"), [digest])
            row = c.fetchone()
        return None if row is None else bytes(row[0])

    def kept(self, digests: Iterable[str]) -> set[str]:
        """Which of these digests have their file kept here."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        with self._transaction(commit=False) as c:
            c.execute(
                self.dialect.sql(
                    f"SELECT sha256 FROM {TABLE} WHERE sha256 IN ({','.join('?' * len(wanted))})"
                ),
                wanted,
            )
            return {str(row[0]) for row in c.fetchall()}

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[Cursor]:
        # The table is made on first use, so ledgers made before it need no migration.
        if not self._made:
            with self.recorder.log_transaction(commit=True) as c:
                c.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} (sha256 TEXT PRIMARY KEY, "
                    f"size BIGINT NOT NULL, content {self.dialect.blob} NOT NULL, "
                    "kept_at TEXT NOT NULL)"
                )
            self._made = True
        with self.recorder.log_transaction(commit=commit) as c:
            yield c
