"""A witness's memory: per log, the last checkpoint it cosigned, written so that a crash
at any moment leaves the old record or the new one whole, and read by one writer at a time."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint_unverified

FORMAT = "oneruler-witness-state/1"
EVIDENCE_FORMAT = "oneruler-witness-evidence/1"


class StateError(Exception):
    """The witness's state cannot be read or written; it must not cosign until it can."""


def origin_hash(origin: str) -> str:
    """The lower-case hex SHA-256 of a log's origin: its files' names, and its path in the
    monitoring URL of C2SP tlog-witness (GET /<origin hash>/checkpoint)."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Cosigned:
    """The last checkpoint a witness cosigned for a log."""

    checkpoint: Checkpoint
    # The witness's cosignature's time: a later one for this log must not be earlier.
    timestamp: int
    # The checkpoint with the log's signatures that the witness verified and its own
    # cosignature, as the monitoring URL serves it.
    note: str


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, data: bytes) -> None:
    """Replace path by data so that after a crash it holds the old bytes or the new ones:
    a temporary file beside it, fsynced, renamed over it, and the folder fsynced."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    _fsync_directory(path.parent)


class WitnessState:
    """The state folder: ORIGIN_HASH.json per log, ORIGIN_HASH.lock beside it, and
    evidence/ for the validly signed checkpoints the witness refused."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise StateError(
                f"the state folder {directory} does not exist; create it (an empty folder "
                "for a new witness), or give the folder that holds this witness's state."
            )
        self.directory = directory

    def _file(self, hashed: str, suffix: str) -> Path:
        return self.directory / f"{hashed}{suffix}"

    @contextmanager
    def locked(self, origin: str) -> Iterator[None]:
        """Hold the log's lock file: one writer at a time, across threads and processes,
        so that checking the old size and recording the new checkpoint are one step."""
        descriptor = os.open(
            self._file(origin_hash(origin), ".lock"), os.O_RDWR | os.O_CREAT, 0o644
        )
        try:
            # flock belongs to this open file description, so two threads of one
            # process exclude each other just as two processes do; the kernel drops
            # it when the process dies, so a killed witness leaves no stale lock.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def read(self, origin: str) -> Cosigned | None:
        """The last checkpoint cosigned for origin, or None if there is none."""
        found = self.read_hashed(origin_hash(origin))
        if found is not None and found.checkpoint.origin != origin:
            raise StateError(
                f"the state file {self._file(origin_hash(origin), '.json')} holds the log "
                f"{found.checkpoint.origin!r}, not {origin!r}; restore it from a backup."
            )
        return found

    def read_hashed(self, hashed: str) -> Cosigned | None:
        """The last checkpoint cosigned for the log whose origin hash is given."""
        path = self._file(hashed, ".json")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StateError(f"the state file {path} cannot be read ({e.strerror}).") from None
        try:
            document = json.loads(data)
            if document["format"] != FORMAT:
                raise ValueError(f"format {document['format']!r}")
            timestamp = document["time"]
            note = document["note"]
            if not isinstance(timestamp, int) or not isinstance(note, str):
                raise ValueError("time or note of the wrong type")
            checkpoint = parse_checkpoint_unverified(note)
        except (ValueError, KeyError, TypeError, CheckpointError) as e:
            # Fail closed: a witness that took a damaged record for no record would
            # trust the next checkpoint it is shown, which could be a fork.
            raise StateError(
                f"the state file {path} is damaged ({e}); restore it from a backup, as a "
                "witness that forgot what it cosigned could be made to cosign a fork."
            ) from None
        return Cosigned(checkpoint, timestamp, note)

    def write(self, cosigned: Cosigned) -> None:
        """Record the last cosigned checkpoint durably; call it holding the log's lock."""
        document = {"format": FORMAT, "time": cosigned.timestamp, "note": cosigned.note}
        path = self._file(origin_hash(cosigned.checkpoint.origin), ".json")
        try:
            write_durably(path, json.dumps(document, ensure_ascii=False, indent=1).encode())
        except OSError as e:
            raise StateError(f"the state file {path} cannot be written ({e.strerror}).") from None

    def keep_evidence(self, held: Cosigned | None, refused: str, reason: str) -> Path:
        """Keep a validly signed checkpoint that was refused, beside the one the witness
        held: signed by the log's key, the two may prove that the log forked."""
        folder = self.directory / "evidence"
        checkpoint = parse_checkpoint_unverified(refused)
        stamp = time.time_ns()
        digest = hashlib.sha256(refused.encode("utf-8")).hexdigest()[:12]
        path = folder / f"{origin_hash(checkpoint.origin)}-{stamp}-{digest}.json"
        document: dict[str, Any] = {
            "format": EVIDENCE_FORMAT,
            "origin": checkpoint.origin,
            "reason": reason,
            "seen_at": stamp // 1_000_000_000,
            "held": held.note if held is not None else None,
            "refused": refused,
        }
        try:
            folder.mkdir(exist_ok=True)
            write_durably(path, json.dumps(document, ensure_ascii=False, indent=1).encode())
        except OSError as e:
            raise StateError(f"the evidence {path} cannot be written ({e.strerror}).") from None
        return path
