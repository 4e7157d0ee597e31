"""The application recorder: the library's SQLite recorder, plus what must be
written in the same transaction as the events (the command ids that make ingest
idempotent, and the transparency log's tree), and the transactions the read models and
the log are kept in. PostgreSQL's recorder is in ledger/postgres.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID

from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
    SQLiteTransaction,
)

from ledger import environment, identity_tables, library, marker
from ledger.log.store import Cursor, Dialect, TransparencyLog
from ledger.recording import (
    READ_ONLY_READS,
    LedgerRecording,
    Positions,
    ReadOnlyStore,
    WriterBusy,
    leaf_rows,
)
from ledger.workers.readahead import ReadAhead

# SQLite allows 999 bound parameters per statement in older builds.
_CHUNK = 900


# SQLite's own default: a commit that leaves the WAL past this many pages checkpoints.
_AUTOCHECKPOINT = 1000
# Tuning (ledger/settings.py), as measured:
# - sqlite_cache_kib, pages of SQLite's cache per connection. The events are keyed by
#   aggregate, so a large ledger's inserts land all over its B-trees; the default
#   2 MiB cache then reads most pages back from disk. 16 MiB: at 100,000 households
#   the ingest ran as fast as with 32 MiB (7,410 commands/s) and kept its peak RSS
#   17 MB lower (445 MB), within the 500 MB it must stay under.
# - wal_limit_bytes: a WAL file grows to the most it ever held between two restarts
#   and stays that size (SQLite reuses it from the start); past this it is cut back
#   when it restarts.
# - wal_bound_pages: pages past which checkpoint_wal() waits to restart the WAL. While
#   an ingest and its follower both read, a writer seldom finds the WAL free to start
#   again: at a million households it grew past 700 MB. 64 MiB of 4 KiB pages: at
#   20,000 households the WAL then peaked at 119 MB instead of 261 MB, same speed.


class _WriteLockedTransaction(SQLiteTransaction):
    """The library's transaction (and its error mapping), except that a write takes
    SQLite's write lock when it begins. A deferred transaction that has read takes
    the lock at its first write, and cannot once another connection has committed
    since its read (SQLITE_BUSY_SNAPSHOT, which SQLite does not wait on): two
    writers, such as an ingest and the process that keeps its read models, would
    fail instead of taking turns."""

    def __init__(self, connection: Any, *, commit: bool, lock: bool, wait: bool = True) -> None:
        super().__init__(connection, commit=commit)
        self.lock = lock
        self.wait = wait

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        if self.commit and self.lock and not self.wait:
            return self._begin_at_once(cursor)
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.commit and self.lock else "BEGIN")
        except sqlite3.OperationalError as e:  # busy past the lock timeout
            raise OperationalError(e) from e
        return cursor

    def _begin_at_once(self, cursor: SQLiteCursor) -> SQLiteCursor:
        """Take the write lock if it is free, else raise WriterBusy at once."""
        sqlite = library.raw_connection(self.connection)
        (waits,) = sqlite.execute("PRAGMA busy_timeout").fetchone()
        sqlite.execute("PRAGMA busy_timeout = 0")
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise WriterBusy(str(e)) from None
            raise OperationalError(e) from e
        finally:
            sqlite.execute(f"PRAGMA busy_timeout = {int(waits)}")
        return cursor


class LedgerSQLiteRecorder(LedgerRecording, SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.settings = library.settings_given(datastore)
        self.log = TransparencyLog(Dialect(events_table=events_table_name), self.settings)
        # Opened read-only (ledger/store.py): a write fails as it is made, with nothing
        # to lock first, and the read models can only be read as they are.
        self.read_only = "mode=ro" in datastore.pool.db_name
        self._positions = Positions()
        self._autocheckpoint = _AUTOCHECKPOINT
        library.on_new_connections(datastore, self._prepare)
        super().__init__(datastore, events_table_name)

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Every connection the library's pool opens gets the larger page cache, and
        keeps the WAL file from staying larger than the bound once it restarts."""
        connection.execute(f"PRAGMA cache_size = -{self.settings.sqlite_cache_kib}")
        connection.execute(f"PRAGMA journal_size_limit = {self.settings.wal_limit_bytes}")

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        dialect = self.log.dialect
        statements.append(identity_tables.applied_commands_statement(dialect))
        statements.extend(self.log.create_table_statements())
        statements.extend(identity_tables.create_statements(dialect))
        statements.append(marker.CREATE)
        return statements

    def create_table(self) -> None:
        """The tables, and the marker's rows in the same transaction: a new ledger is
        marked as it is made, one made before the marker, or of an earlier format,
        brought up to date when it is next opened to write. Read first, since writing
        the rows again would wait for the write lock on every open."""
        with self.datastore.transaction(commit=True) as c:
            self._create_tables(c)

    def _create_tables(self, c: SQLiteCursor) -> None:
        for statement in self.create_table_statements:
            c.execute(statement)
        c.execute(f"SELECT value FROM {marker.TABLE} WHERE key = 'version'")
        row = c.fetchone()
        if row is None or int(row[0]) < marker.VERSION:
            # Version 1 kept no digest beside a command id (the credentials' tables
            # were created above, with every table the ledger lacks).
            c.execute("PRAGMA table_info(applied_commands)")
            if "digest" not in {column[1] for column in c.fetchall()}:
                c.execute(f"ALTER TABLE applied_commands ADD COLUMN digest {self.log.dialect.blob}")
            c.executemany(
                f"INSERT OR REPLACE INTO {marker.TABLE} (key, value) VALUES (?, ?)", marker.ROWS
            )

    @contextmanager
    def transaction(self, *, commit: bool, wait: bool = True) -> Iterator[SQLiteCursor]:
        """A transaction of the library's pool; a write holds the write lock from its
        start (waiting for it up to the lock timeout; unless wait is False: then
        WriterBusy at once if another connection holds it)."""
        with self.datastore.get_connection(commit=commit) as connection:
            if commit and library.connection_note(connection, "autocheckpoint") != (
                self._autocheckpoint
            ):
                library.raw_connection(connection).execute(
                    f"PRAGMA wal_autocheckpoint = {self._autocheckpoint}"
                )
                library.note_on_connection(connection, "autocheckpoint", self._autocheckpoint)
            with (
                _WriteLockedTransaction(
                    connection, commit=commit, lock=not self.read_only, wait=wait
                ) as cursor,
                cursor,
            ):
                yield cursor

    def leave_checkpoints(self, to_another: bool) -> None:
        """Whether this process's commits leave the WAL's checkpoints (copying its
        pages into the database file, and a sync) to another process, which runs
        checkpoint_wal() as it goes: an ingest whose read models a follower keeps
        spent a tenth of its time checkpointing at a million households. Commits stay
        durable either way: a commit is in the WAL, synced, before it returns."""
        self._autocheckpoint = 0 if to_another else _AUTOCHECKPOINT

    def checkpoint_wal(self) -> bool:
        """Copy what the WAL holds into the database file, as far as it can without
        waiting for anyone (a passive checkpoint). Once the WAL holds more than
        settings.wal_bound_pages, also wait for the writer's commit and for the readers to
        leave the WAL (up to the lock timeout), and start it again from its beginning
        (a restart checkpoint; the writer waits meanwhile). Returns whether it did."""
        with self.datastore.get_connection(commit=False) as connection:
            sqlite = library.raw_connection(connection)
            _, frames, _ = sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames <= self.settings.wal_bound_pages:
                return False
            busy, _, _ = sqlite.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return not busy

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.transaction(commit=True) as c:
            return self._write_events(c, stored_events, **kwargs)

    def _write_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = self._insert_rows(c, stored_events)
        command_ids: Sequence[tuple[str, bytes | None]] = kwargs.get("command_ids", ())
        if command_ids:
            # A command id already present makes the whole transaction fail:
            # two runs of the same line can never both append.
            c.executemany("INSERT INTO applied_commands (id, digest) VALUES (?, ?)", command_ids)
        identity: identity_tables.WithEvents | None = kwargs.get("identity")
        if identity:
            identity_tables.write_with_events(c, self.log.dialect, identity)
        assert notification_ids is not None
        # In the events' own transaction, so the tree can never lag behind or run
        # ahead of the store: an event is logged if and only if it was stored.
        self.log.append(c, leaf_rows(notification_ids, stored_events))
        return notification_ids

    def _insert_rows(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """The events' rows in one executemany (the library inserts them one by one to
        read each rowid). In a write transaction SQLite numbers each new row one past
        the largest rowid, so the rows take the ids after the largest before them;
        checked against the last one inserted."""
        if not stored_events:
            return []
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        first = (c.fetchone()[0] or 0) + 1
        c.executemany(
            self.insert_events_statement,
            [
                (
                    s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                    s.originator_version,
                    s.topic,
                    s.state,
                )
                for s in stored_events
            ],
        )
        c.execute("SELECT last_insert_rowid()")
        last = c.fetchone()[0]
        if last != first + len(stored_events) - 1:  # pragma: no cover - rowids exhausted
            raise RuntimeError(
                f"the stored events were numbered {last - len(stored_events) + 1} to {last}, "
                f"not from {first}; nothing was appended."
            )
        return list(range(first, last + 1))

    def log_reads(self) -> AbstractContextManager[sqlite3.Cursor]:
        """A cursor for reads that need no common snapshot, each statement standing
        alone (on SQLite, a read transaction costs nothing more)."""
        return self.log_transaction(commit=False)

    @contextmanager
    def log_transaction(self, *, commit: bool, wait: bool = True) -> Iterator[sqlite3.Cursor]:
        """A transaction whose cursor returns plain tuples (verification reads millions)."""
        with self.transaction(commit=commit, wait=wait) as c:
            c.sqlite_cursor.row_factory = None
            yield c.sqlite_cursor

    def resume_numbering(self, c: Cursor) -> None:
        """After rows were inserted with explicit ids (a copy): nothing to do, as SQLite
        numbers a new row one past the largest id."""

    # --- what the read models need of a store ------------------------------------

    @contextmanager
    def projection_transaction(
        self, *, commit: bool, wait: bool = True
    ) -> Iterator[sqlite3.Cursor]:
        """A transaction for the read models: '?' parameters, plain tuple rows. On a
        ledger opened read-only, the read models are read as they are; bringing them
        up to date would write, which is one sentence. A write that must not wait
        raises WriterBusy if another connection holds the write lock."""
        with (
            self._read_only_read_models(),
            self._positions.transaction(),
            self.log_transaction(commit=commit, wait=wait) as c,
        ):
            yield c

    def check_writable(self) -> None:
        """Refuse at once, in one sentence, what would write to a ledger opened
        read-only (a write would fail as it is made, after the credentials were
        asked for)."""
        if self.read_only:
            raise ReadOnlyStore(environment.read_only(self._path()))

    def _path(self) -> str:
        return unquote(self.datastore.pool.db_name.removeprefix("file:").partition("?")[0])

    @contextmanager
    def _read_only_read_models(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as e:
            if not self.read_only or "readonly" not in str(e):
                raise
            path = self._path()
            raise ReadOnlyStore(
                f"{path} is opened read-only, and its read models are behind its events: "
                "bringing them up to date writes, so read it once where it can be written, "
                f"or copy it (oneruler copy --from {path} --to NEW.db builds them)"
                f"{READ_ONLY_READS}"
            ) from None

    def read_ahead(self) -> AbstractContextManager[object]:
        """The database file read into the operating system's cache in the background
        while a scan of every event (a rebuild) goes on; nothing for a memory database.
        Its name is the pool's: asking a connection for it would wait for the rebuild's
        own writer, on a memory database until the pool's timeout."""
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode or self.read_only:  # a read-only ledger is not rebuilt
            return nullcontext()
        return ReadAhead(Path(pool.db_name), self.settings)

    def tracking_position(self, name: str) -> int:
        return self._positions.read(name, self._tracking.max_tracking_id(name) or 0)

    def ends(self, name: str) -> tuple[int, int]:
        """The log's end and a read model's position, read together (a read's first
        question: is there anything to catch up?)."""
        d = self.log.dialect
        # The library's tracking recorder (which makes its table on first use) gives
        # the position's query.
        position_query = self._tracking.select_max_tracking_id_statement
        with self.log_reads() as c:
            c.execute(
                f"SELECT (SELECT MAX({d.notification_id}) FROM {d.events_table}), "
                f"({position_query})",
                (name,),
            )
            end, position = c.fetchone()
        return end or 0, self._positions.read(name, position or 0)

    def record_tracking(self, c: sqlite3.Cursor, name: str, position: int) -> None:
        """Advance a read model's position in the same transaction as its rows; fails
        (IntegrityError) if another process advanced it first."""
        c.execute("SELECT notification_id FROM tracking WHERE application_name = ?", (name,))
        row = c.fetchone()
        self._positions.check(name, row[0] if row else 0)
        library.insert_tracking(self._tracking, c, name, position)
        self._positions.stage(name, position)

    def forget_tracking(self, c: sqlite3.Cursor, name: str) -> None:
        c.execute("DELETE FROM tracking WHERE application_name = ?", (name,))
        self._positions.stage(name, 0)

    def note(self, c: sqlite3.Cursor, name: str, value: int) -> None:
        """Keep a number under a name beside the positions (not one of them)."""
        c.execute("INSERT OR REPLACE INTO tracking VALUES (?, ?)", (name, value))

    def noted(self, name: str) -> int:
        return self._tracking.max_tracking_id(name) or 0

    @cached_property
    def _tracking(self) -> SQLiteTrackingRecorder:
        # The library's tracking table: one row per read-model name. Made here first,
        # under the write lock, where it is missing: the library makes it by a check
        # and then a write, and of several processes opening a new ledger at once, one
        # failed on the row another had just written ("Failed to record tracking for
        # __migration__ 1").
        tracking = SQLiteTrackingRecorder(self.datastore)
        if not self.read_only:
            with self.log_reads() as c:
                missing = not self._has_tracking_table(c)
            if missing:
                with self.transaction(commit=True) as c:
                    if not self._has_tracking_table(c.sqlite_cursor):
                        for statement in tracking.create_table_statements:
                            c.execute(statement)
                        c.execute(
                            "INSERT INTO tracking VALUES (?, 1)",
                            (tracking.table_migration_identifier,),
                        )
        tracking.create_table()
        return tracking

    def _has_tracking_table(self, c: sqlite3.Cursor) -> bool:
        c.execute(self.log.dialect.table_exists, ("tracking",))
        return c.fetchone() is not None

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of many aggregates in one read, each aggregate's in
        version order; an aggregate with no events is left out."""
        by_key = {originator_id.hex: originator_id for originator_id in originator_ids}
        found: dict[UUID, list[StoredEvent]] = {}
        with self.log_transaction(commit=False) as c:
            keys = list(by_key)
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                c.execute(
                    "SELECT originator_id, originator_version, topic, state "
                    f"FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY originator_id, originator_version",
                    chunk,
                )
                for key, version, topic, state in c.fetchall():
                    originator_id = by_key[key]
                    found.setdefault(originator_id, []).append(
                        StoredEvent(originator_id, version, topic, state)
                    )
        return found

    def applied_commands(self, ids: Iterable[str]) -> dict[str, bytes | None]:
        """Which of these command ids the ledger has already applied, each with the
        digest of the command applied (None: applied before digests were kept)."""
        wanted = list(ids)
        found: dict[str, bytes | None] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                c.execute(
                    "SELECT id, digest FROM applied_commands "
                    f"WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((row[0], row[1]) for row in c.fetchall())
        return found
