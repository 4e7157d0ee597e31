"""Moves a whole ledger between stores (SQLite and PostgreSQL, either way): every
event with its notification id, the applied command ids (with their digests), the
signed checkpoints, the households' scanned documents and the staff's credentials, page
by page; then proves the copy by its log and its documents' digests, and builds its read
models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from domain.errors import RuleViolation
from ledger import documents, identity_tables, marker
from ledger.application import Clock, Ledger, LedgerRecorder, utc_now
from ledger.log.leaf import LeafRow
from ledger.log.store import Cursor, Dialect, LogMismatch
from ledger.log.verification import verify, verify_snapshot
from ledger.settings import DEFAULT, Settings
from ledger.store import display_url, open_ledger, resolve_url

# Events (or command ids) per transaction, settings.copy_page: memory holds one page
# at a time.

Progress = Callable[[int, int], None]  # (events copied so far, events to copy)

# The scanned documents are read and written in batches of about this many bytes (at
# least one document each): a document may be 10 MB, so a page of them is counted in
# bytes, not rows.
DOCUMENT_BATCH_BYTES = 32 * 1024 * 1024


class CopyRefused(RuleViolation):
    """The copy was not made, or did not hold what the source holds."""


@dataclass(frozen=True)
class CopyReport:
    """What was copied, and the two logs' heads that prove it."""

    source: str
    target: str
    events: int
    commands: int
    checkpoints: int
    size: int
    source_root: bytes
    target_root: bytes
    read_models: int
    seconds: float
    resumed: bool = False
    # The scanned documents (each proved by its SHA-256) and the (household, document)
    # pairs they were uploaded for.
    documents: int = 0
    uploads: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "events": self.events,
            "commands": self.commands,
            "checkpoints": self.checkpoints,
            "documents": self.documents,
            "document_uploads": self.uploads,
            "source_log": {"size": self.size, "root": self.source_root.hex()},
            "target_log": {"size": self.size, "root": self.target_root.hex()},
            "read_models": self.read_models,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        finished = "finished the stopped copy: " if self.resumed else ""
        copied = [
            _count(self.events, "event"),
            _count(self.commands, "command id"),
            _count(self.checkpoints, "checkpoint"),
        ]
        proved = [_count(self.checkpoints, "copied checkpoint")]
        if self.documents:  # a ledger with no scanned documents says nothing of them
            copied.append(_count(self.documents, "document"))
            proved.append(f"{_count(self.documents, 'document')} each holding its SHA-256's bytes")
        return [
            f"{finished}copied {_listed(copied)} from {self.source} to {self.target} "
            f"in {self.seconds:.2f} s",
            f"source  size {self.size}  root {self.source_root.hex()}",
            f"target  size {self.size}  root {self.target_root.hex()}",
            f"OK: the target's log has the same root at the same size and verifies, with "
            f"{_listed(proved)}; its read models were built from "
            f"{_count(self.read_models, 'event')}.",
        ]


def _listed(things: list[str]) -> str:
    return things[0] if len(things) == 1 else f"{', '.join(things[:-1])} and {things[-1]}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def recorder_of(ledger: Ledger) -> LedgerRecorder:
    return ledger.ledger_recorder


def copy_ledger(
    source_url: str,
    target_url: str,
    *,
    page: int | None = None,
    progress: Progress | None = None,
    clock: Clock = utc_now,
    resume: bool = False,
    settings: Settings = DEFAULT,
) -> CopyReport:
    """Copy the ledger at source_url into the empty store at target_url and prove it;
    resume: finish a copy into target_url that stopped (or make one into an empty store).
    page: events per transaction (settings.copy_page unless given)."""
    started = time.perf_counter()
    source_name = display_url(resolve_url(source_url))
    target_name = display_url(target_url)
    source = open_ledger(source_url, must_exist=True, clock=clock, settings=settings)
    try:
        target = open_ledger(target_url, clock=clock, allow_incomplete=resume, settings=settings)
        try:
            copier = Copier(
                source, target, source_name, target_name, page or settings.copy_page, progress
            )
            return copier.run(started, resume)
        finally:
            target.close()
    finally:
        source.close()


class Copier:
    """One copy. The target is marked as a copy in progress (its source, and the size
    and root of the source's log) before its first row, and unmarked only once its own
    log has been proved to have that root: every command refuses a marked store, so a
    copy that stopped anywhere is never taken for a whole ledger. A resumed copy goes
    on from the target's last event, and takes the command ids and checkpoints it lacks."""

    def __init__(
        self,
        source: Ledger,
        target: Ledger,
        source_name: str,
        target_name: str,
        page: int,
        progress: Progress | None,
    ) -> None:
        self.source = source
        self.target = target
        self.s = recorder_of(source)
        self.t = recorder_of(target)
        self.source_name = source_name
        self.target_name = target_name
        self.page = page
        self.progress = progress
        self.written = False

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        """A write transaction on the target: every row the copy writes goes through one."""
        with self.t.log_transaction(commit=True) as c:
            yield c
        self.written = True

    def run(self, started: float, resume: bool) -> CopyReport:
        stopped = self.stopped() if resume else None
        if stopped is None:
            self.check_empty(resume)
        try:
            size, source_root, commands, checkpoints, kept = self.move(stopped)
        except (PersistenceError, LogMismatch) as e:
            if not self.written:
                raise CopyRefused(
                    f"the copy stopped ({_sentence(e)}); nothing was written to the target at "
                    f"{self.target_name}."
                ) from None
            raise CopyRefused(
                f"the copy stopped ({_sentence(e)}), so the target at {self.target_name} holds "
                f"part of the ledger: finish it with oneruler copy --resume --from "
                f"{self.source_name} --to {self.target_name}."
            ) from None
        target_root = self.prove(size, source_root, checkpoints)
        self.prove_documents(kept)
        with self.writing() as c:
            self._unmark(c)
        built = self.target.read_models.rebuild()
        return CopyReport(
            self.source_name,
            self.target_name,
            size,
            commands,
            checkpoints,
            size,
            source_root,
            target_root,
            built,
            time.perf_counter() - started,
            resumed=stopped is not None,
            documents=kept[0],
            uploads=kept[1],
        )

    def stopped(self) -> marker.Copying | None:
        """The copy into the target that stopped, if one did."""
        with self.t.log_transaction(commit=False) as c:
            c.execute(f"SELECT key, value FROM {marker.TABLE}")
            return marker.copying(dict(c.fetchall()))

    def check_empty(self, resume: bool) -> None:
        d = self.t.log.dialect
        held: list[str] = []
        with self.t.log_transaction(commit=False) as c:
            for table, what in (
                (d.events_table, "events"),
                ("applied_commands", "applied command ids"),
                ("checkpoints", "checkpoints"),
                ("merkle_leaves", "a log"),
            ):
                c.execute(f"SELECT 1 FROM {table} LIMIT 1")
                if c.fetchone() is not None:
                    held.append(what)
            # Made on first use: a store without them holds no documents.
            if identity_tables.columns(c, d, documents.TABLE):
                c.execute(f"SELECT 1 FROM {documents.TABLE} LIMIT 1")
                if c.fetchone() is not None:
                    held.append("scanned documents")
        if held:
            nothing = " and no copy into it stopped: there is nothing to resume" if resume else ""
            raise CopyRefused(
                f"the target at {self.target_name} is not empty (it holds {_listed(held)})"
                f"{nothing}; copy only into an empty store: a new file, or a new database or "
                "schema."
            )

    def move(self, stopped: marker.Copying | None) -> tuple[int, bytes, int, int, tuple[int, int]]:
        """Everything, read from one snapshot of the source (which may go on being
        written meanwhile), written to the target a page to a transaction."""
        s, t = self.s, self.t
        with s.log_transaction(commit=False) as sc:
            checked = verify_snapshot(s.log, sc)
            if not checked.ok:
                first = checked.problems[0].message if checked.problems else "it stopped early."
                raise CopyRefused(
                    f"the ledger at {self.source_name} does not verify, so it was not copied: "
                    f"{first}"
                )
            size = checked.tree_size
            source_root = s.log.root(sc, size)
            # Before anything is written: every kept document holds its digest's bytes.
            batches = self.check_documents(sc)
            if stopped is not None:
                self.check_same_source(sc, stopped, size)
            with self.writing() as tc:
                self._unmark(tc)
                t.log.dialect.insert_rows(
                    tc,
                    marker.TABLE,
                    ("key", "value"),
                    [
                        (marker.COPY_FROM, self.source_name),
                        (marker.COPY_SIZE, str(size)),
                        (marker.COPY_ROOT, source_root.hex()),
                    ],
                )
            after, events = self.target_end() if stopped is not None else (-(1 << 63), 0)
            for rows in _event_pages(sc, s.log.dialect, self.page, after):
                with self.writing() as tc:
                    tc.execute(t.log.dialect.write_lock)
                    _insert_events(tc, t.log.dialect, rows)
                    # The target's log, built from the copied rows as they are
                    # inserted, in the same transaction (as any write extends it).
                    t.log.append(tc, rows)
                    t.resume_numbering(tc)
                events += len(rows)
                if self.progress is not None:
                    self.progress(events, size)
            commands = 0
            digests = "digest" in identity_tables.columns(sc, s.log.dialect, "applied_commands")
            for page in _command_pages(sc, s.log.dialect, self.page, digests):
                commands += len(page)
                if stopped is not None:
                    page = self.lacking(page)
                with self.writing() as tc:
                    t.log.dialect.insert_rows(tc, "applied_commands", ("id", "digest"), page)
            kept = self.copy_documents(sc, batches, stopped is not None)
            self.copy_credentials(sc)
            stored = s.log.checkpoints(sc)
            with self.writing() as tc:
                if stopped is not None:
                    tc.execute("SELECT id FROM checkpoints")
                    there = {int(row[0]) for row in tc.fetchall()}
                else:
                    there = set()
                t.log.dialect.insert_rows(
                    tc,
                    "checkpoints",
                    (
                        "id",
                        "origin",
                        "size",
                        "root",
                        "note",
                        "key_name",
                        "verifier_key",
                        "created_at",
                    ),
                    [
                        (
                            cp.id,
                            cp.origin,
                            cp.size,
                            cp.root,
                            cp.note,
                            cp.key_name,
                            cp.verifier_key,
                            cp.created_at,
                        )
                        for cp in stored
                        if cp.id not in there
                    ],
                )
                t.resume_numbering(tc)
        return size, source_root, commands, len(stored), kept

    def check_same_source(self, sc: Cursor, stopped: marker.Copying, size: int) -> None:
        """A resumed copy goes on only from the ledger it began with: the source's log
        still has, at the size the copy began with, the root it had then."""
        root = self.s.log.root(sc, stopped.size) if stopped.size <= size else None
        if root != stopped.root:
            found = f"has root {root.hex()}" if root is not None else f"holds only {size} events"
            raise CopyRefused(
                f"{self.source_name} is not the ledger being copied to {self.target_name}: its "
                f"log at size {stopped.size} {found}, not the root {stopped.root.hex()} the "
                f"copy began with (from {stopped.source}); resume with that ledger, or delete "
                "the target and copy again."
            )

    def target_end(self) -> tuple[int, int]:
        """The target's last notification id and how many events it holds."""
        d = self.t.log.dialect
        with self.t.log_transaction(commit=False) as c:
            c.execute(f"SELECT MAX({d.notification_id}), COUNT(*) FROM {d.events_table}")
            last, count = c.fetchone()
        return (-(1 << 63) if last is None else int(last)), int(count)

    def lacking(self, page: list[tuple[str, bytes | None]]) -> list[tuple[str, bytes | None]]:
        """Of a page of command ids in order, those the target does not hold yet."""
        with self.t.log_transaction(commit=False) as c:
            c.execute(
                self.t.log.dialect.sql("SELECT id FROM applied_commands WHERE id >= ? AND id <= ?"),
                [page[0][0], page[-1][0]],
            )
            there = {str(row[0]) for row in c.fetchall()}
        return [row for row in page if row[0] not in there]

    def check_documents(self, sc: Cursor) -> list[tuple[str, str]]:
        """Every scanned document of the source, hashed: one whose bytes are not its
        digest's (changed in the database, where no event covers them) refuses the copy
        before anything is written. Its batches (first and last digest) to copy."""
        d = self.s.log.dialect
        batches = _document_batches(sc, d)
        for first, last in batches:
            for digest, size, content, _ in _documents_between(sc, d, first, last):
                problem = _document_problem(digest, size, content)
                if problem is not None:
                    raise CopyRefused(
                        f"the scanned document kept in {self.source_name} under SHA-256 "
                        f"{digest} {problem}, so the ledger was not copied; restore that "
                        "document's bytes from a backup, then copy again."
                    )
        return batches

    def copy_documents(
        self, sc: Cursor, batches: list[tuple[str, str]], resumed: bool
    ) -> tuple[int, int]:
        """The scanned documents a batch to a transaction, then the households each was
        uploaded for a page to a transaction (a resumed copy takes only those the target
        lacks); how many of each the source holds."""
        s, t = self.s.log.dialect, self.t.log.dialect
        count = 0
        for first, last in batches:
            rows = _documents_between(sc, s, first, last)
            count += len(rows)
            with self.writing() as tc:
                _make_document_tables(tc, t)
                if resumed:
                    tc.execute(
                        t.sql(f"SELECT sha256 FROM {documents.TABLE} WHERE sha256 BETWEEN ? AND ?"),
                        [first, last],
                    )
                    there = {str(row[0]) for row in tc.fetchall()}
                    rows = [row for row in rows if row[0] not in there]
                t.insert_rows(tc, documents.TABLE, documents.COLUMNS, rows)
        uploads = 0
        for page in _upload_pages(sc, s, self.page):
            uploads += len(page)
            with self.writing() as tc:
                _make_document_tables(tc, t)
                if resumed:
                    tc.execute(
                        t.sql(
                            f"SELECT household, sha256 FROM {documents.UPLOADS} "
                            "WHERE household BETWEEN ? AND ?"
                        ),
                        [page[0][0], page[-1][0]],
                    )
                    there_uploads = {(str(h), str(g)) for h, g in tc.fetchall()}
                    page = [row for row in page if row not in there_uploads]
                t.insert_rows(tc, documents.UPLOADS, documents.UPLOAD_COLUMNS, page)
        return count, uploads

    def prove_documents(self, kept: tuple[int, int]) -> None:
        """The target holds as many documents and uploads as the source, and every
        document's bytes hash to its digest."""
        d = self.t.log.dialect
        with self.t.log_transaction(commit=False) as c:
            count = uploads = 0
            for first, last in _document_batches(c, d):
                for digest, size, content, _ in _documents_between(c, d, first, last):
                    count += 1
                    problem = _document_problem(digest, size, content)
                    if problem is not None:
                        raise CopyRefused(
                            f"the copy at {self.target_name} does not hold the source's "
                            f"documents: the one under SHA-256 {digest} {problem}."
                        )
            if identity_tables.columns(c, d, documents.UPLOADS):
                c.execute(f"SELECT COUNT(*) FROM {documents.UPLOADS}")
                uploads = int(c.fetchone()[0])
        if (count, uploads) != kept:
            raise CopyRefused(
                f"the copy at {self.target_name} does not hold the source's documents: "
                f"{_count(count, 'document')} uploaded {_count(uploads, 'time')} against "
                f"{_count(kept[0], 'document')} uploaded {_count(kept[1], 'time')}."
            )

    def copy_credentials(self, sc: Cursor) -> None:
        """The staff's password hashes, tokens (as their hashes) and failed logins, as
        the source holds them, in one transaction (a resumed copy takes them again)."""
        d = self.t.log.dialect
        with self.writing() as tc:
            for table in identity_tables.TABLES:
                tc.execute(f"DELETE FROM {table}")
                if identity_tables.columns(sc, self.s.log.dialect, table):
                    rows = identity_tables.rows_of(sc, table)
                    d.insert_rows(tc, table, identity_tables.COLUMNS[table], rows)

    def _unmark(self, c: Cursor) -> None:
        c.execute(
            self.t.log.dialect.sql(f"DELETE FROM {marker.TABLE} WHERE key IN (?, ?, ?)"),
            [marker.COPY_FROM, marker.COPY_SIZE, marker.COPY_ROOT],
        )

    def prove(self, size: int, source_root: bytes, checkpoints: int) -> bytes:
        """The target's whole log recomputed from its stored rows, and its root at the
        source's size equal to the source's: the same leaves in the same order."""
        result = verify(self.t)
        if not result.ok:
            first = result.problems[0].message if result.problems else "it stopped early."
            raise CopyRefused(f"the copy at {self.target_name} does not verify: {first}")
        with self.t.log_transaction(commit=False) as c:
            target_size = self.t.log.size(c)
            target_root = self.t.log.root(c, target_size)
        if (target_size, target_root) != (size, source_root) or len(
            result.checkpoints
        ) != checkpoints:
            raise CopyRefused(
                f"the copy at {self.target_name} does not hold the source's log: size "
                f"{target_size} and root {target_root.hex()} against size {size} and root "
                f"{source_root.hex()}."
            )
        return target_root


def _event_pages(c: Cursor, d: Dialect, page: int, after: int) -> Iterator[list[LeafRow]]:
    nid = d.notification_id
    statement = d.sql(
        f"SELECT {nid}, originator_id, originator_version, topic, state FROM {d.events_table} "
        f"WHERE {nid} > ? ORDER BY {nid} LIMIT ?"
    )
    while True:
        c.execute(statement, [after, page])
        rows = c.fetchall()
        if not rows:
            return
        yield [(int(n), d.originator_bytes(o), int(v), t, bytes(s)) for n, o, v, t, s in rows]
        after = rows[-1][0]


def _insert_events(c: Cursor, d: Dialect, rows: list[LeafRow]) -> None:
    """The events with their own notification ids, so every leaf's bytes are the same."""
    d.insert_rows(
        c,
        d.events_table,
        (d.notification_id, "originator_id", "originator_version", "topic", "state"),
        [(n, d.originator_param(UUID(bytes=o)), v, t, s) for n, o, v, t, s in rows],
    )


def _command_pages(
    c: Cursor, d: Dialect, page: int, digests: bool
) -> Iterator[list[tuple[str, bytes | None]]]:
    """The applied command ids with their digests (none for a source of an earlier
    format that was opened read-only, never brought up to date)."""
    digest = "digest" if digests else "NULL"
    statement = d.sql(f"SELECT id, {digest} FROM applied_commands WHERE id > ? ORDER BY id LIMIT ?")
    after = ""
    while True:
        c.execute(statement, [after, page])
        rows = [(str(i), None if g is None else bytes(g)) for i, g in c.fetchall()]
        if not rows:
            return
        yield rows
        after = rows[-1][0]


DocumentRow = tuple[str, int, bytes, str]  # sha256, size, content, kept_at


def _make_document_tables(c: Cursor, d: Dialect) -> None:
    for statement in documents.create_statements(d.blob):
        c.execute(statement)


def _document_batches(c: Cursor, d: Dialect) -> list[tuple[str, str]]:
    """The kept documents in digest order, as batches of about DOCUMENT_BATCH_BYTES
    (first and last digest of each); none for a store that has never kept one."""
    if not identity_tables.columns(c, d, documents.TABLE):
        return []
    c.execute(f"SELECT sha256, LENGTH(content) FROM {documents.TABLE} ORDER BY sha256")
    batches: list[tuple[str, str]] = []
    first, last, total = "", "", 0
    for digest, length in c.fetchall():
        if not first:
            first, total = str(digest), 0
        last, total = str(digest), total + int(length)
        if total >= DOCUMENT_BATCH_BYTES:
            batches.append((first, last))
            first = ""
    if first:
        batches.append((first, last))
    return batches


def _documents_between(c: Cursor, d: Dialect, first: str, last: str) -> list[DocumentRow]:
    c.execute(
        d.sql(
            f"SELECT {', '.join(documents.COLUMNS)} FROM {documents.TABLE} "
            "WHERE sha256 BETWEEN ? AND ? ORDER BY sha256"
        ),
        [first, last],
    )
    return [(str(g), int(n), _bytes(b), str(k)) for g, n, b, k in c.fetchall()]


def _bytes(value: bytes | memoryview | str) -> bytes:
    """A stored document's content as bytes: SQLite gives back text for a row whose
    content was set to text (by hand: the ledger writes only bytes)."""
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _document_problem(digest: str, size: int, content: bytes) -> str | None:
    """What is wrong with a kept document's row, as the end of a sentence (None: its
    bytes hash to its digest, and its size is theirs)."""
    actual = documents.digest_of(content)
    if actual != digest:
        return f"does not hold that digest's bytes (its {len(content):,} bytes hash to {actual})"
    if size != len(content):
        return f"is recorded as {size:,} bytes but holds {len(content):,}"
    return None


def _upload_pages(c: Cursor, d: Dialect, page: int) -> Iterator[list[tuple[str, str]]]:
    """Which household each document was uploaded for, in key order, a page at a time."""
    if not identity_tables.columns(c, d, documents.UPLOADS):
        return
    statement = d.sql(
        f"SELECT household, sha256 FROM {documents.UPLOADS} WHERE household > ? "
        "OR (household = ? AND sha256 > ?) ORDER BY household, sha256 LIMIT ?"
    )
    after = ("", "")
    while True:
        c.execute(statement, [after[0], after[0], after[1], page])
        rows = [(str(h), str(g)) for h, g in c.fetchall()]
        if not rows:
            return
        yield rows
        after = rows[-1]


def _sentence(error: Exception) -> str:
    """An error's first line, to quote inside a sentence."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return (lines[0][:1].lower() + lines[0][1:]).rstrip(".")
