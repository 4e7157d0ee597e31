"""The PostgreSQL application recorder: the library's, plus the command ids and the
transparency log written in the events' own transaction, and the read models' SQL
adapted to PostgreSQL. Imported only when a postgresql:// store is used."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any, TypeAlias, cast
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import retry
from psycopg import IsolationLevel
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from ledger import identity_tables, library, marker
from ledger.log.store import Cursor, TransparencyLog, postgres_dialect
from ledger.recording import (
    READ_MODELS_WRITE,
    LedgerRecording,
    Positions,
    ReadOnlyStore,
    WriterBusy,
    leaf_rows,
)

PgCursor: TypeAlias = psycopg.Cursor[tuple[Any, ...]]

# --- PostgreSQL ------------------------------------------------------------------

_QMARK = re.compile(r"'(?:[^']|'')*'|\?")
_BLOB = re.compile(r"\bBLOB\b")
# SQLite's byte-order collation is PostgreSQL's "C".
_BINARY = re.compile(r"\bCOLLATE BINARY\b")


@lru_cache(maxsize=1024)
def _postgres_sql(statement: str, *, with_params: bool) -> str:
    """The read models' SQLite-flavoured standard SQL as PostgreSQL takes it."""
    statement = _BLOB.sub("BYTEA", statement).replace(" WITHOUT ROWID", "")
    statement = _BINARY.sub('COLLATE "C"', statement)
    if with_params:
        # psycopg reads % as the start of a placeholder wherever it stands.
        statement = statement.replace("%", "%%")
        statement = _QMARK.sub(lambda m: "%s" if m.group() == "?" else m.group(), statement)
    return statement


class QmarkCursor:
    """A psycopg cursor that takes the read models' SQL as written for SQLite: '?'
    parameters, BLOB columns, WITHOUT ROWID tables; rows are plain tuples."""

    def __init__(self, cursor: PgCursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> QmarkCursor:
        if params is None:
            self.cursor.execute(_postgres_sql(statement, with_params=False))
        else:
            self.cursor.execute(_postgres_sql(statement, with_params=True), params)
        return self

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        self.cursor.executemany(_postgres_sql(statement, with_params=True), rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cursor.fetchall()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.cursor)


class LedgerPostgresRecorder(LedgerRecording, PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with the command ids and the log written in
    the events' own transaction, under the library's EXCLUSIVE lock on the events
    table, and the read models' and the log's tables in the ledger's schema."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        # The log's and the read models' statements name their tables without a
        # schema (the same statements run on SQLite): every connection of the pool
        # looks in the ledger's schema first. Set before the pool opens.
        kwargs = datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["options"] = f"-c search_path={datastore.schema}"
        super().__init__(datastore, events_table_name=events_table_name)
        self.schema = datastore.schema
        self.qualified_events = self._qualified(events_table_name)
        self.settings = library.settings_given(datastore)
        self.log = TransparencyLog(postgres_dialect(self.qualified_events), self.settings)
        self.tracking_table_name = events_table_name.removesuffix("_events") + "_tracking"
        self.tracking = PostgresTrackingRecorder(
            datastore, tracking_table_name=self.tracking_table_name
        )
        self._positions = Positions()

    def _qualified(self, table: str) -> str:
        return f'"{self.schema}"."{table}"'

    # --- tables -------------------------------------------------------------------

    def _ledger_tables(self) -> list[str]:
        return [
            self.events_table_name,
            self.notification_id_index_name,
            self.tracking_table_name,
            "applied_commands",
            "merkle_leaves",
            "merkle_nodes",
            "checkpoints",
        ]

    def create_table(self) -> None:
        """Create the schema and every table of the ledger, once and in one transaction.

        A ledger opened again finds them all and runs no DDL: CREATE INDEX IF NOT
        EXISTS takes a SHARE lock on the events table even when the index exists, which
        would queue each command behind the writers in flight. Processes creating the
        same new ledger at once take turns (an advisory lock), since concurrent CREATE
        TABLE IF NOT EXISTS of one name can fail."""
        with self._transaction(commit=True) as c:
            tables, current = self._existing(c)
            if tables and current:
                self.datastore.register_type_adapters()
                return
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"oneruler:{self.schema}"])
            if not tables:
                self._create_all(c)  # the marker with them
                current = True
        if not current:
            self._upgrade()
        self.datastore.register_type_adapters()

    def _create_all(self, c: PgCursor) -> None:
        if c.execute("SELECT to_regnamespace(%s)", [self.schema]).fetchone() == (None,):
            c.execute(SQL("CREATE SCHEMA {0}").format(Identifier(self.schema)))
        statements: list[Composed | str] = [
            *self.sql_create_statements,
            *self.tracking.sql_create_statements,
            identity_tables.applied_commands_statement(self.log.dialect),
            *self.log.create_table_statements(),
            *identity_tables.create_statements(self.log.dialect),
        ]
        for statement in statements:
            if isinstance(statement, Composed) and "CREATE TYPE" in statement.as_string():
                # No IF NOT EXISTS for types.
                name = f"{self.schema}.{self.stored_event_type_name}"
                if c.execute("SELECT to_regtype(%s)", [name]).fetchone() != (None,):
                    continue
            c.execute(statement)
        # The library's tracking table is current (not one to migrate) when its
        # migration row says so.
        c.execute(
            SQL(
                "INSERT INTO {0}.{1} VALUES ('__migration__', 1) "
                "ON CONFLICT (application_name) DO NOTHING"
            ).format(Identifier(self.schema), Identifier(self.tracking_table_name))
        )
        self._insert_marker(c)

    @staticmethod
    def _insert_marker(c: PgCursor) -> None:
        c.execute(marker.CREATE)
        c.executemany(
            f"INSERT INTO {marker.TABLE} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            marker.ROWS,
        )

    def _upgrade(self) -> None:
        """A ledger made before the marker, or of an earlier format, is brought up to
        date when next opened to write: the credentials' tables, the digests beside
        the command ids (version 2), the marker. On a replica, or for a user that may
        only read or may not create tables, it goes on as it is, and the next writer
        that may brings it up to date."""
        try:
            with self._transaction(commit=True) as c:
                c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"oneruler:{self.schema}"])
                for statement in identity_tables.create_statements(self.log.dialect):
                    c.execute(statement)
                c.execute("ALTER TABLE applied_commands ADD COLUMN IF NOT EXISTS digest BYTEA")
                self._insert_marker(c)
        except (ReadOnlyStore, psycopg.errors.InsufficientPrivilege):
            pass

    def _existing(self, c: PgCursor) -> tuple[bool, bool]:
        """Whether every table of the ledger exists, and whether it is of the current
        format (its marker says so, and it has the credentials' tables)."""
        tables = self._ledger_tables()
        c.execute(
            "SELECT "
            + ", ".join(["to_regclass(%s) IS NOT NULL"] * len(tables))
            + ", to_regtype(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            [
                *(self._qualified(t) for t in tables),
                f"{self.schema}.{self.stored_event_type_name}",
                self._qualified(marker.TABLE),
            ],
        )
        row = c.fetchone()
        assert row is not None
        if not row[-1]:
            return all(row[:-1]), False
        c.execute(f"SELECT value FROM {marker.TABLE} WHERE key = 'version'")
        version = c.fetchone()
        c.execute(
            "SELECT " + ", ".join(["to_regclass(%s) IS NOT NULL"] * len(identity_tables.TABLES)),
            [self._qualified(t) for t in identity_tables.TABLES],
        )
        credentials = c.fetchone()
        assert credentials is not None
        current = version is not None and int(version[0]) >= marker.VERSION and all(credentials)
        return all(row[:-1]), current

    # --- writing events -------------------------------------------------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events, their command ids and their leaves, in one transaction.

        The library's own insert_events calls its hooks inside a pipeline and keeps
        any exception they raise until the transaction block has been left, so a
        failing hook that had not broken the transaction would leave the events
        committed without their leaves. Here everything runs in one plain
        transaction block: any exception rolls all of it back."""
        if not stored_events:
            return []
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
            self._writing(),
        ):
            # LOCK TABLE ... IN EXCLUSIVE MODE, NOTIFY, INSERT ... RETURNING: from here to
            # the commit no other writer runs, so notification ids follow commit order
            # and the log's end is this transaction's to extend.
            notification_ids = library.insert_stored_events(self, curs, stored_events, **kwargs)
            with conn.cursor(row_factory=tuple_row) as c:
                command_ids: Sequence[tuple[str, bytes | None]] = kwargs.get("command_ids", ())
                if command_ids:
                    # One statement for the batch (a thousand ids under the lock).
                    c.execute(
                        "INSERT INTO applied_commands (id, digest) "
                        "SELECT * FROM unnest(%s::text[], %s::bytea[])",
                        [[i for i, _ in command_ids], [d for _, d in command_ids]],
                    )
                identity: identity_tables.WithEvents | None = kwargs.get("identity")
                if identity:
                    identity_tables.write_with_events(cast(Cursor, c), self.log.dialect, identity)
                self.log.append(cast(Cursor, c), leaf_rows(notification_ids, stored_events))
        return notification_ids

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def _writing(self, refused: str = "") -> Iterator[None]:
        """A replica (or a user that may only read) refuses writes: one sentence."""
        try:
            yield
        except psycopg.errors.ReadOnlySqlTransaction:
            kwargs = self.datastore.pool.kwargs
            where = (
                f"{kwargs['host']}:{kwargs['port']}" if isinstance(kwargs, dict) else "the server"
            )
            raise ReadOnlyStore(
                f"the PostgreSQL server at {where} takes no writes here (a replica, or a user "
                f"that may only read){refused or '; send the command to the primary.'}"
            ) from None

    @contextmanager
    def _transaction(self, *, commit: bool, snapshot: bool = False) -> Iterator[PgCursor]:
        with self.datastore.get_connection() as conn:
            if snapshot:
                # Every statement of a read sees the same moment, as in SQLite: said in
                # the BEGIN itself (one round trip less than a SET TRANSACTION after
                # it), and undone before the connection goes back to the pool.
                conn.isolation_level = IsolationLevel.REPEATABLE_READ
                conn.read_only = True
            try:
                with (
                    conn.transaction(force_rollback=not commit),
                    conn.cursor(row_factory=tuple_row) as c,
                    self._writing(),
                ):
                    yield c
            finally:
                if snapshot and not conn.closed:
                    try:
                        conn.isolation_level = None
                        conn.read_only = None
                    except psycopg.Error:
                        # Still in a transaction (its ROLLBACK failed): never back to
                        # the pool as it is, where a write would find it read-only.
                        conn.close()

    @contextmanager
    def log_reads(self) -> Iterator[Cursor]:
        """A cursor for reads that need no common snapshot: each statement runs alone,
        in its own implicit transaction (no BEGIN and ROLLBACK around them, two round
        trips to the server fewer)."""
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as c,
        ):
            assert conn.autocommit
            yield cast(Cursor, c)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def ends(self, name: str) -> tuple[int, int]:
        """The log's end and a read model's position, in one statement (a read's first
        question: is there anything to catch up?)."""
        with self.log_reads() as c:
            c.execute(
                f"SELECT (SELECT MAX(notification_id) FROM {self.qualified_events}), "
                f"(SELECT MAX(notification_id) FROM {self._qualified(self.tracking_table_name)} "
                "WHERE application_name = %s)",
                [name],
            )
            row = c.fetchone()
        assert row is not None
        end, position = row
        return end or 0, self._positions.read(name, position or 0)

    def check_writable(self) -> None:
        """A replica is known as such only when a write is made: nothing to check."""

    def leave_checkpoints(self, to_another: bool) -> None:
        """PostgreSQL's own checkpointer process does them: nothing to hand over."""

    def checkpoint_wal(self) -> bool:
        """PostgreSQL's own checkpointer process does them: nothing to do."""
        return False

    @contextmanager
    def log_transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A write transaction (the checkpoint takes the events table's lock itself),
        or a read of one consistent snapshot, as verification needs."""
        with self._transaction(commit=commit, snapshot=not commit) as c:
            yield cast(Cursor, c)

    def resume_numbering(self, c: Cursor) -> None:
        """After rows were inserted with explicit ids (a copy), the sequences carry on
        past the largest: the next event and checkpoint get new numbers."""
        for table, column in (
            (self.qualified_events, "notification_id"),
            (self._qualified("checkpoints"), "id"),
        ):
            c.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), "
                f"(SELECT max({column}) FROM {table}))",
                [table, column],
            )

    # --- what the read models need of a store ------------------------------------

    def read_ahead(self) -> AbstractContextManager[object]:
        """Nothing: the server keeps its own cache."""
        return nullcontext()

    @contextmanager
    def projection_transaction(self, *, commit: bool, wait: bool = True) -> Iterator[QmarkCursor]:
        """A transaction for the read models, through a cursor that takes their SQL.

        Writers take turns (an EXCLUSIVE lock on the tracking table, which readers do
        not wait for), so two processes catching up at once never interleave their
        rows; the second then finds the position moved and gives way. A write that
        must not wait raises WriterBusy if another holds that lock."""
        with (
            self._positions.transaction(),
            self._transaction(commit=commit, snapshot=not commit) as c,
            self._writing(READ_MODELS_WRITE),
        ):
            if commit:
                lock = SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(
                    Identifier(self.schema), Identifier(self.tracking_table_name)
                )
                try:
                    c.execute(lock if wait else lock + SQL(" NOWAIT"))
                except psycopg.errors.LockNotAvailable as e:
                    raise WriterBusy(str(e)) from None
            yield QmarkCursor(c)

    def tracking_position(self, name: str) -> int:
        return self._positions.read(name, self.tracking.max_tracking_id(name) or 0)

    def record_tracking(self, c: QmarkCursor, name: str, position: int) -> None:
        """Advance a read model's position in the same transaction as its rows; fails
        (IntegrityError) if another process advanced it first."""
        c.execute(
            f"SELECT notification_id FROM {self.tracking_table_name} WHERE application_name = ?",
            (name,),
        )
        row = c.fetchone()
        self._positions.check(name, row[0] if row else 0)
        library.insert_tracking(self.tracking, c.cursor, name, position)
        self._positions.stage(name, position)

    def forget_tracking(self, c: QmarkCursor, name: str) -> None:
        c.execute(f"DELETE FROM {self.tracking_table_name} WHERE application_name = ?", (name,))
        self._positions.stage(name, 0)

    def note(self, c: QmarkCursor, name: str, value: int) -> None:
        """Keep a number under a name beside the positions (not one of them)."""
        c.execute(
            f"INSERT INTO {self.tracking_table_name} VALUES (?, ?) ON CONFLICT "
            "(application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id",
            (name, value),
        )

    def noted(self, name: str) -> int:
        return self.tracking.max_tracking_id(name) or 0

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of many aggregates in one read, each aggregate's in
        version order; an aggregate with no events is left out."""
        found: dict[UUID, list[StoredEvent]] = {}
        with self._transaction(commit=False, snapshot=True) as c:
            c.execute(
                "SELECT originator_id, originator_version, topic, state "
                f"FROM {self.qualified_events} WHERE originator_id = ANY(%s) "
                "ORDER BY originator_id, originator_version",
                [list(originator_ids)],
            )
            for originator_id, version, topic, state in c.fetchall():
                found.setdefault(originator_id, []).append(
                    StoredEvent(originator_id, version, topic, bytes(state))
                )
        return found

    def applied_commands(self, ids: Iterable[str]) -> dict[str, bytes | None]:
        """Which of these command ids the ledger has already applied, each with the
        digest of the command applied (None: applied before digests were kept)."""
        with self._transaction(commit=False) as c:
            c.execute("SELECT id, digest FROM applied_commands WHERE id = ANY(%s)", [list(ids)])
            return {row[0]: None if row[1] is None else bytes(row[1]) for row in c.fetchall()}
