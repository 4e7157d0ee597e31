"""Moves a whole ledger between stores (SQLite and PostgreSQL, either way): every
event with its notification id, the applied command ids and the signed checkpoints,
page by page; then proves the copy by its log and builds its read models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from domain.errors import RuleViolation
from ledger.application import Clock, Ledger, utc_now
from ledger.log.leaf import LeafRow
from ledger.log.store import Cursor, Dialect, LogMismatch
from ledger.log.verification import verify, verify_snapshot
from ledger.recorder import LedgerRecorder
from ledger.store import display_url, open_ledger, resolve_url

# Events (or command ids) per transaction: memory holds one page at a time.
PAGE = 2_000

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
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        return [
            f"copied {_count(self.events, 'event')}, {_count(self.commands, 'command id')} "
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
    page: int = PAGE,
    progress: Progress | None = None,
    clock: Clock = utc_now,
) -> CopyReport:
    """Copy the ledger at source_url into the empty store at target_url and prove it."""
    started = time.perf_counter()
    source_name = display_url(resolve_url(source_url))
    target_name = display_url(target_url)
    source = open_ledger(source_url, must_exist=True, clock=clock)
    try:
        target = open_ledger(target_url, clock=clock)
        try:
            copier = _Copy(source, target, source_name, target_name, page, progress)
            return copier.run(started)
        finally:
            target.close()
    finally:
        source.close()


class _Copy:
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

    def run(self, started: float) -> CopyReport:
        self.check_empty()
        try:
            size, source_root, events, commands, checkpoints = self.move()
        except (PersistenceError, LogMismatch) as e:
            if not self.written:
                raise CopyRefused(
                    f"the copy stopped ({_sentence(e)}); nothing was written to the target at "
                    f"{self.target_name}."
                ) from None
            raise CopyRefused(
                f"the copy stopped ({_sentence(e)}), so the target at {self.target_name} holds "
                "part of the ledger: empty it (delete the file, or drop and create the schema) "
                "and copy again."
            ) from None
        target_root = self.prove(size, source_root, checkpoints)
        built = self.target.projector.rebuild()
        return CopyReport(
            self.source_name,
            self.target_name,
            events,
            commands,
            checkpoints,
            size,
            source_root,
            target_root,
            built,
            time.perf_counter() - started,
        )

    def check_empty(self) -> None:
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
            raise CopyRefused(
                f"the target at {self.target_name} is not empty (it holds {_listed(held)}); "
                "copy only into an empty store: a new file, or a new database or schema."
            )

    def move(self) -> tuple[int, bytes, int, int, int]:
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
            events = 0
            for rows in _event_pages(sc, s.log.dialect, self.page):
                with t.log_transaction(commit=True) as tc:
                    tc.execute(t.log.dialect.write_lock)
                    _insert_events(tc, t.log.dialect, rows)
                    # The target's log, built from the copied rows as they are
                    # inserted, in the same transaction (as any write extends it).
                    t.log.append(tc, rows)
                    t.resume_numbering(tc)
                self.written = True
                events += len(rows)
                if self.progress is not None:
                    self.progress(events, size)
            commands = 0
            for ids in _command_pages(sc, s.log.dialect, self.page):
                with t.log_transaction(commit=True) as tc:
                    t.log.dialect.insert_rows(tc, "applied_commands", ("id",), [(i,) for i in ids])
                commands += len(ids)
            stored = s.log.checkpoints(sc)
            with t.log_transaction(commit=True) as tc:
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
                    ],
                )
                t.resume_numbering(tc)
        return size, source_root, events, commands, len(stored)

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


def _event_pages(c: Cursor, d: Dialect, page: int) -> Iterator[list[LeafRow]]:
    nid = d.notification_id
    statement = d.sql(
        f"SELECT {nid}, originator_id, originator_version, topic, state FROM {d.events_table} "
        f"WHERE {nid} > ? ORDER BY {nid} LIMIT ?"
    )
    after = -(1 << 63)
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


def _command_pages(c: Cursor, d: Dialect, page: int) -> Iterator[list[str]]:
    statement = d.sql("SELECT id FROM applied_commands WHERE id > ? ORDER BY id LIMIT ?")
    after = ""
    while True:
        c.execute(statement, [after, page])
        ids = [str(row[0]) for row in c.fetchall()]
        if not ids:
            return
        yield ids
        after = ids[-1]


def _sentence(error: Exception) -> str:
    """An error's first line, to quote inside a sentence."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return (lines[0][:1].lower() + lines[0][1:]).rstrip(".")
