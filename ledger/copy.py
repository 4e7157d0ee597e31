"""Moves a whole ledger between stores (SQLite and PostgreSQL, either way): every
event with its notification id, the applied command ids (with their digests), the
signed checkpoints and the staff's credentials, page by page; then proves the copy by
its log and builds its read models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from domain.errors import RuleViolation
from ledger import identity_tables, marker
from ledger.application import Clock, Ledger, LedgerRecorder, utc_now
from ledger.log.leaf import LeafRow
from ledger.log.store import Cursor, Dialect, LogMismatch
from ledger.log.verification import verify, verify_snapshot
from ledger.settings import DEFAULT, Settings
from ledger.store import display_url, open_ledger, resolve_url

# Events (or command ids) per transaction, settings.copy_page: memory holds one page
# at a time.

Progress = Callable[[int, int], None]  # (events copied so far, events to copy)


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

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "events": self.events,
            "commands": self.commands,
            "checkpoints": self.checkpoints,
            "source_log": {"size": self.size, "root": self.source_root.hex()},
            "target_log": {"size": self.size, "root": self.target_root.hex()},
            "read_models": self.read_models,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        finished = "finished the stopped copy: " if self.resumed else ""
        return [
            f"{finished}copied {_count(self.events, 'event')}, "
            f"{_count(self.commands, 'command id')} "
            f"and {_count(self.checkpoints, 'checkpoint')} from {self.source} to {self.target} "
            f"in {self.seconds:.2f} s",
            f"source  size {self.size}  root {self.source_root.hex()}",
            f"target  size {self.size}  root {self.target_root.hex()}",
            f"OK: the target's log has the same root at the same size and verifies, with "
            f"{_count(self.checkpoints, 'copied checkpoint')}; its read models were built "
            f"from {_count(self.read_models, 'event')}.",
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
            size, source_root, commands, checkpoints = self.move(stopped)
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
        if held:
            nothing = " and no copy into it stopped: there is nothing to resume" if resume else ""
            raise CopyRefused(
                f"the target at {self.target_name} is not empty (it holds {_listed(held)})"
                f"{nothing}; copy only into an empty store: a new file, or a new database or "
                "schema."
            )

    def move(self, stopped: marker.Copying | None) -> tuple[int, bytes, int, int]:
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
        return size, source_root, commands, len(stored)

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


def _sentence(error: Exception) -> str:
    """An error's first line, to quote inside a sentence."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return (lines[0][:1].lower() + lines[0][1:]).rstrip(".")
