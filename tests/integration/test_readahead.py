"""A rebuild reads the ledger's file into the cache ahead of itself (ledger/readahead.py):
what it relies on is that the whole file is read, that a file too large for the
machine's memory is left alone, and that the reading stops when the rebuild ends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ledger import readahead, recorder
from ledger.ingest import ingest
from ledger.readahead import ReadAhead
from ledger.store import open_ledger


def test_the_whole_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readahead, "_STEP", 1000)
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(10_005))
    with ReadAhead(path, memory=1 << 20) as ahead:
        ahead._thread.join()
    assert ahead.bytes_read == 10_005


def test_a_file_larger_than_half_the_memory_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(10_005))
    with ReadAhead(path, memory=2 * 10_004) as ahead:
        ahead._thread.join()
    assert ahead.bytes_read == 0
    with ReadAhead(path, memory=2 * 10_005) as ahead:
        ahead._thread.join()
    assert ahead.bytes_read == 10_005


def test_the_reading_stops_when_the_scan_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readahead, "_STEP", 1)
    path = tmp_path / "ledger.db"
    path.write_bytes(bytes(1 << 20))
    with ReadAhead(path, memory=1 << 30) as ahead:
        pass
    assert not ahead._thread.is_alive()
    assert ahead.bytes_read < 1 << 20
    assert "read-ahead" not in {thread.name for thread in threading.enumerate()}


def test_a_missing_file_reads_nothing_and_raises_nothing(tmp_path: Path) -> None:
    with ReadAhead(tmp_path / "gone.db", memory=1 << 30) as ahead:
        ahead._thread.join()
    assert ahead.bytes_read == 0


def test_a_rebuild_reads_the_ledgers_file_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[ReadAhead] = []

    class Watched(ReadAhead):
        def __enter__(self) -> ReadAhead:
            opened.append(self)
            return super().__enter__()

    monkeypatch.setattr(recorder, "ReadAhead", Watched)
    sample = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
    path = tmp_path / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}")
    try:
        ingest(ledger, sample.read_text(encoding="utf-8").splitlines())
        opened.clear()
        ledger.projector.rebuild()
    finally:
        ledger.close()
    assert [ahead.path for ahead in opened] == [path]
    assert not opened[0]._thread.is_alive()
