"""A rebuild reads the ledger's file into the cache ahead of itself
(ledger/workers/readahead.py):
what it relies on is that the whole file is read, that a file too large for the
machine's memory (or too small to be worth it) is left alone, that the reading stops
when the rebuild ends, and that it never loosens SQLite's hold on the file."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import recorder
from ledger.application import Ledger
from ledger.ingest import ingest
from ledger.settings import Settings
from ledger.store import open_ledger
from ledger.workers import launcher, readahead
from ledger.workers.launcher import Worker
from ledger.workers.readahead import ReadAhead
from tests.credentials import ADMIN

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"


# Files of any size read ahead (the ledger's are small here).
ANY_SIZE = Settings(read_ahead_smallest=1)


def test_the_whole_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(20_000_005))
    with ReadAhead(path, ANY_SIZE, memory=1 << 30) as ahead:
        assert ahead.wait() == 20_000_005


def test_a_file_larger_than_half_the_memory_or_too_small_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(10_005))
    with ReadAhead(path, ANY_SIZE, memory=2 * 10_004) as ahead:
        assert ahead.wait() == 0
    with ReadAhead(path, ANY_SIZE, memory=2 * 10_005) as ahead:
        assert ahead.wait() == 10_005
    with ReadAhead(path, Settings(read_ahead_smallest=10_006), memory=1 << 30) as ahead:
        assert ahead.wait() == 0


def test_the_reading_is_stopped_when_the_scan_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Slow(Worker):
        def command(self, name: str) -> list[str]:
            return [sys.executable, "-c", "import time; time.sleep(60)"]

    monkeypatch.setattr(readahead, "Worker", Slow)
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(1 << 20))
    with ReadAhead(path, ANY_SIZE, memory=1 << 30) as ahead:
        reader = ahead._reader
        assert reader is not None
    status = reader.exit_status
    assert status is not None and status < 0  # killed, and reaped


def test_a_memory_ledger_rebuilds_without_reading_ahead() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"})
    try:
        assert isinstance(ledger.recorder.read_ahead(), contextlib.nullcontext)
        ingest(ledger, SAMPLE.read_text(encoding="utf-8").splitlines(), ADMIN)
        assert ledger.read_models.rebuild() > 0
    finally:
        ledger.close()


def test_a_missing_file_reads_nothing_and_raises_nothing(tmp_path: Path) -> None:
    with ReadAhead(tmp_path / "gone.db", ANY_SIZE, memory=1 << 30) as ahead:
        assert ahead.wait() == 0


def test_a_reader_that_cannot_start_reads_nothing_and_raises_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cannot_start(*_: object, **__: object) -> None:
        raise OSError("no processes left")

    monkeypatch.setattr(launcher.subprocess, "Popen", cannot_start)
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(10_005))
    with ReadAhead(path, ANY_SIZE, memory=1 << 30) as ahead:
        assert ahead.wait() == 0


def test_reading_ahead_keeps_this_process_s_hold_on_the_file(tmp_path: Path) -> None:
    # Closing a descriptor of the file in this process would drop SQLite's POSIX
    # locks on it: another process's connection, closing, would then believe itself
    # the last one and remove the WAL under this one's open transaction.
    path = tmp_path / "ledger.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.execute("BEGIN")
    assert connection.execute("SELECT x FROM t").fetchall() == [(1,)]
    with ReadAhead(path, ANY_SIZE, memory=1 << 30) as ahead:
        assert ahead.wait() == path.stat().st_size
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1])\n"
            "c.execute('SELECT x FROM t').fetchall()\n"
            "c.close()",
            str(path),
        ],
        check=True,
    )
    assert other.returncode == 0
    assert Path(f"{path}-wal").exists()
    connection.execute("COMMIT")
    connection.close()


def test_a_rebuild_reads_the_ledgers_file_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[Path, int]] = []

    class Watched(ReadAhead):
        def __enter__(self) -> ReadAhead:
            super().__enter__()
            opened.append((self.path, self.wait()))
            return self

    monkeypatch.setattr(recorder, "ReadAhead", Watched)
    path = tmp_path / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}", settings=ANY_SIZE)
    try:
        ingest(ledger, SAMPLE.read_text(encoding="utf-8").splitlines(), ADMIN)
        opened.clear()
        ledger.read_models.rebuild()
    finally:
        ledger.close()
    assert [read for read, _ in opened] == [path]
    assert opened[0][1] > 0
