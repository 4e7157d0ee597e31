"""Bulk ingest of JSON Lines commands (specs/ingest.md): streamed, many commands
to a transaction, each line applied whole or not at all, idempotent by id."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import DomainError
from ledger.application import ConflictError, Ledger
from ledger.collector import Collector, collected_between_units
from ledger.commands import Command, parse_command
from ledger.commands.declaration import check_same
from ledger.session import Session
from ledger.workers.follower import Follower

# Commands per transaction: every commit is durable (an fsync), so fewer, larger ones.
# At 20,000 households 5,000 ingested 5,095 commands/s against 4,720 with 1,000.
DEFAULT_BATCH = 5000
# Tries of a batch that others' commits keep conflicting with: each try skips the lines
# they applied meanwhile, so a conflict seldom comes twice.
_RETRIES = 5
# The cache of aggregates, when the read models are kept by a second process, and for
# how long an ingest says it keeps them: ledger/settings.py.


@dataclass(frozen=True)
class Rejection:
    line: int
    id: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "id": self.id, "reason": self.reason}


@dataclass
class IngestReport:
    applied: int = 0
    skipped: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    # What a person should know that is not about a line (shown on standard error).
    notes: list[str] = field(default_factory=list)

    def reject(self, line: int, command_id: str | None, reason: str) -> None:
        self.rejected += 1
        self.rejections.append(Rejection(line, command_id, reason))

    def stopped(self, said: str) -> str:
        """The sentence saying why the ingest stopped early (raised), as said of this
        ingest: the lines applied before it stay applied, so never "nothing was
        appended" once anything was."""
        if not self.applied or "nothing was appended" not in said:
            return said
        return said.replace(
            "nothing was appended",
            f"nothing of the batch it was applying was appended (the {self.applied} lines "
            "applied before it stay applied: run the same file again to apply the rest, "
            "applied lines are skipped)",
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "rejections": [r.as_json() for r in sorted(self.rejections, key=lambda r: r.line)],
        }

    def summary(self) -> str:
        return (
            f"applied {self.applied}, skipped {self.skipped} (already applied), "
            f"rejected {self.rejected}"
        )


def _line_id(raw: Any) -> str | None:
    command_id = raw.get("id") if isinstance(raw, dict) else None
    return command_id if isinstance(command_id, str) else None


def _decode(data: bytes | str) -> Any:
    """The JSON value of one line, or ValueError saying why it has none."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the line is not UTF-8 text; save the file as UTF-8.") from None
    else:
        text = data
    # A byte-order mark, as spreadsheets write at the start of a file, is not data.
    text = text.lstrip("\ufeff").rstrip("\r\n")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"the line is not valid JSON ({e.msg} at column {e.colno}).") from None
    except ValueError:  # an integer of thousands of digits
        raise ValueError("the line holds a number too long to read; fix the line.") from None
    except RecursionError:
        raise ValueError("the line is nested too deeply to read; fix the line.") from None


def ingest(
    ledger: Ledger,
    lines: Iterable[bytes | str],
    session: Session,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    second_process: bool = True,
    report: IngestReport | None = None,
) -> IngestReport:
    """Apply every line, entered by the session's staff member (authenticated once
    for the whole run: the lines' actors must be them, unless they are the built-in
    admin); report what was applied, skipped and rejected. The read models are caught
    up when it returns; past settings.follower_after commands a second
    process keeps them meanwhile (unless second_process is False, or the store is in
    memory), else this one does, every settings.follow_every commands. Counted in report, if
    given: so that what was done is known when it stops early (raises)."""
    report = IngestReport() if report is None else report
    with (
        collected_between_units() as collector,
        _ReadModels(ledger, second_process, report) as read_models,
    ):
        _ingest(ledger, lines, session, batch_size, progress, report, read_models, collector)
    return report


class _ReadModels:
    """Who keeps the read models up to date during an ingest: this process, from the
    events as it commits them (ReadModels.offer), or, once the ingest is long enough
    to be worth it, a follower process (ledger/workers/follower.py)."""

    def __init__(self, ledger: Ledger, second_process: bool, report: IngestReport) -> None:
        self.ledger = ledger
        self.report = report
        self.settings = ledger.settings
        self.second_process = second_process and ledger.sharable_settings is not None
        self.follower: Follower | None = None
        self.done = 0  # commands, in all
        self.since = 0  # commands since this process last caught up

    def __enter__(self) -> _ReadModels:
        # Caught up first, here: from nothing that is a rebuild, one long write
        # transaction, which would keep the ingest's commits waiting.
        self.ledger.read_models.catch_up()
        self._keep()
        return self

    def _keep(self) -> None:
        self.ledger.read_models.keep(self.settings.keeping)
        self.kept_at = time.monotonic()

    def advanced(self, commands: int) -> None:
        """After a batch of so many commands."""
        self.done += commands
        if time.monotonic() - self.kept_at > self.settings.keeping / 3:
            self._keep()
        if self.follower is not None:
            if self.follower.running():
                return
            # It stopped early: this process takes the read models (and checkpoints) back.
            self._finish_follower()
        self.since += commands
        if self.second_process and self.done >= self.settings.follower_after:
            self.ledger.read_models.catch_up()
            self.second_process = False
            try:
                launch = self.ledger.sharable_settings
                assert launch is not None
                self.follower = Follower(launch)
            except OSError as e:
                self.report.notes.append(
                    f"a second process to keep the read models could not be started ({e}); "
                    "this one kept them."
                )
                return
            self.ledger.offering = False
            self.ledger.ledger_recorder.leave_checkpoints(True)
        elif self.since >= self.settings.follow_every:
            self.ledger.read_models.catch_up()
            self.since = 0

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            if self.follower is not None:
                self.follower.stop()
                self._taken_back()
            with contextlib.suppress(Exception):  # else it runs out by itself
                self.ledger.read_models.keep(0)
            return
        if self.follower is not None:
            self._finish_follower()
        # Whatever a follower left (all of it, if it failed) is applied here.
        self.ledger.read_models.catch_up()
        self.ledger.read_models.keep(0)

    def _finish_follower(self) -> None:
        assert self.follower is not None
        failed = self.follower.finish()
        self._taken_back()
        if failed is not None:
            self.report.notes.append(
                f"the second process keeping the read models stopped ({failed}); "
                "this one brought them up to date instead."
            )

    def _taken_back(self) -> None:
        self.follower = None
        self.ledger.offering = True
        self.ledger.ledger_recorder.leave_checkpoints(False)


def _settle(
    ledger: Ledger,
    session: Session,
    batch: list[tuple[int, Command]],
    report: IngestReport,
    read_models: _ReadModels,
) -> None:
    """Apply a batch: skip the commands already applied, refuse an applied id sent
    with another command, run the rest in one transaction, and report each line's
    outcome. Another process ingesting the same lines at once is no rejection: a
    command it applied before this batch committed is skipped, whether the batch
    conflicted with it (then tried again without it) or refused it by a rule (it
    found the other's events)."""
    todo = _not_applied(ledger, session, batch, report)
    tries = 0
    while todo:
        tries += 1
        try:
            outcomes = ledger.execute_batch([command for _, command in todo], session)
        except ConflictError:
            if tries == _RETRIES:
                first, last = todo[0][0], todo[-1][0]
                raise ConflictError(
                    f"other writers changed the ledger each of the {_RETRIES} times lines "
                    f"{first} to {last} were tried, so those lines were not appended (the "
                    f"{report.applied} lines applied before them stay applied): run the "
                    "same file again; applied lines are skipped."
                ) from None
            todo = _not_applied(ledger, session, todo, report)
            continue
        refused = []
        for (number, command), refusal in zip(todo, outcomes, strict=True):
            if refusal is None:
                report.applied += 1
            else:
                refused.append((number, command, refusal))
        if refused:
            _refused_or_applied(ledger, session, refused, report)
        break
    read_models.advanced(len(batch))


def _not_applied(
    ledger: Ledger, session: Session, batch: list[tuple[int, Command]], report: IngestReport
) -> list[tuple[int, Command]]:
    """The commands not applied yet; those applied are counted skipped (or rejected,
    if their id was applied to another command)."""
    already = ledger.applied_commands([command.id for _, command in batch])
    todo: list[tuple[int, Command]] = []
    for number, command in batch:
        if command.id in already:
            _already_applied(command, session, already[command.id], number, report)
        else:
            todo.append((number, command))
    return todo


def _already_applied(
    command: Command, session: Session, digest: bytes | None, number: int, report: IngestReport
) -> None:
    try:
        check_same(command, command.actor or session.staff, digest)
    except DomainError as reused:
        report.reject(number, command.id, str(reused))
    else:
        report.skipped += 1


def _refused_or_applied(
    ledger: Ledger,
    session: Session,
    refused: list[tuple[int, Command, DomainError]],
    report: IngestReport,
) -> None:
    """Commands a rule refused: those another process applied before this batch read
    the ledger (so the rule saw their events) are skipped; the rest are rejected."""
    applied = ledger.applied_commands([command.id for _, command, _ in refused])
    for number, command, refusal in refused:
        if command.id in applied:
            _already_applied(command, session, applied[command.id], number, report)
        else:
            report.reject(number, command.id, str(refusal))


def _ingest(
    ledger: Ledger,
    lines: Iterable[bytes | str],
    session: Session,
    batch_size: int,
    progress: Callable[[int], None] | None,
    report: IngestReport,
    read_models: _ReadModels,
    collector: Collector,
) -> None:
    # Keep recently used aggregates between batches: a programme's commands come
    # household by household, stage by stage. Bounded, so memory is too.
    ledger.cache_size = max(ledger.cache_size, ledger.settings.ingest_cache)
    batch: list[tuple[int, Command]] = []

    def flush() -> None:
        _settle(ledger, session, batch, report, read_models)
        if progress is not None:
            progress(len(batch))
        batch.clear()
        # The batch's objects are let go: what is left is what the caches kept.
        collector.between_units()

    pending_ids: set[str] = set()
    for number, data in enumerate(lines, start=1):
        if not data.strip():
            continue
        raw: Any = None
        try:
            raw = _decode(data)
            command = parse_command(raw)
        except (ValueError, DomainError) as e:
            report.reject(number, _line_id(raw), str(e))
            continue
        if command.id in pending_ids:
            # Whether a repeated id is "already applied" depends on how the earlier
            # line fares: settle the batch first.
            flush()
            pending_ids.clear()
        batch.append((number, command))
        pending_ids.add(command.id)
        if len(batch) >= batch_size:
            flush()
            pending_ids.clear()
    if batch:
        flush()
    report.rejections.sort(key=lambda r: r.line)
