"""The application recorder: the library's SQLite recorder, plus what must be
written in the same transaction as the events (the command ids that make ingest
idempotent, and the transparency log's tree)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from ledger.integrity import Dialect, TransparencyLog

# SQLite allows 999 bound parameters per statement in older builds.
_CHUNK = 900


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.log = TransparencyLog(Dialect(events_table=events_table_name))
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            "CREATE TABLE IF NOT EXISTS applied_commands (id TEXT PRIMARY KEY) WITHOUT ROWID"
        )
        statements.extend(self.log.create_table_statements())
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
        assert notification_ids is not None
        # In the events' own transaction, so the tree can never lag behind or run
        # ahead of the store: an event is logged if and only if it was stored.
        self.log.append(
            c,
            [
                (nid, _uuid(s.originator_id).bytes, s.originator_version, s.topic, s.state)
                for nid, s in zip(notification_ids, stored_events, strict=True)
            ],
        )
        return notification_ids

    @contextmanager
    def log_transaction(self, *, commit: bool) -> Iterator[sqlite3.Cursor]:
        """A transaction whose cursor returns plain tuples (verification reads millions)."""
        with self.datastore.transaction(commit=commit) as c:
            c.sqlite_cursor.row_factory = None
            yield c.sqlite_cursor

    # --- what the read models need of a store ------------------------------------

    @contextmanager
    def projection_transaction(self, *, commit: bool) -> Iterator[sqlite3.Cursor]:
        """A transaction for the read models: '?' parameters, plain tuple rows."""
        with self.log_transaction(commit=commit) as c:
            yield c

    def tracking_position(self, name: str) -> int:
        return self._tracking.max_tracking_id(name) or 0

    def record_tracking(self, c: sqlite3.Cursor, name: str, position: int) -> None:
        """Advance a read model's position in the same transaction as its rows; fails
        (IntegrityError) if another process advanced it first."""
        self._tracking._insert_tracking(c, Tracking(name, position))  # type: ignore[arg-type]

    def forget_tracking(self, c: sqlite3.Cursor, name: str) -> None:
        c.execute("DELETE FROM tracking WHERE application_name = ?", (name,))

    @cached_property
    def _tracking(self) -> SQLiteTrackingRecorder:
        # The library's tracking table: one row per read-model name.
        tracking = SQLiteTrackingRecorder(self.datastore)
        tracking.create_table()
        return tracking

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


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
