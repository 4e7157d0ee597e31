"""The application recorder: the library's SQLite recorder, plus what must be
written in the same transaction as the events (the command ids that make ingest
idempotent)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

# SQLite allows 999 bound parameters per statement in older builds.
_CHUNK = 900


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            "CREATE TABLE IF NOT EXISTS applied_commands (id TEXT PRIMARY KEY) WITHOUT ROWID"
        )
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        command_ids: Sequence[str] = kwargs.get("command_ids", ())
        if command_ids:
            # A command id already present makes the whole transaction fail:
            # two runs of the same line can never both append.
            c.executemany(
                "INSERT INTO applied_commands (id) VALUES (?)", [(i,) for i in command_ids]
            )
        return notification_ids

    def applied_commands(self, ids: Iterable[str]) -> set[str]:
        """Which of these command ids the ledger has already applied."""
        wanted = list(ids)
        found: set[str] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                c.execute(
                    f"SELECT id FROM applied_commands WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update(row[0] for row in c.fetchall())
        return found
