"""A copy that stops anywhere (killed, or failing at any write) leaves a target that every
command refuses until `copy --resume` finishes it, with the source's log and every
command id, so that ingesting the source's file again applies nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import ledger.copy
from cli.main import cli
from ledger.settings import Settings
from simulation.programme import Programme
from tests.conftest import SAMPLE, postgres_schema
from tests.credentials import logged_in

ONERULER = [sys.executable, "-c", "from cli.main import main; main()"]


def oneruler(*args: Any) -> Result:
    env = logged_in(args, {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None})
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample programme with a signed checkpoint: every kind of row a copy takes."""
    folder = tmp_path_factory.mktemp("source")
    path = str(folder / "town.db")
    assert oneruler("ingest", SAMPLE, "--db", path).exit_code == 0
    # A log's key is named as its origin; its files are office.key and office.pub.
    assert oneruler("key", "generate", "ledger.town.example/office", "--dir", folder).exit_code == 0
    signed = oneruler("checkpoint", "--key", folder / "office.key", "--db", path)
    assert signed.exit_code == 0, signed.output
    return path


class Killed(BaseException):
    """The process dying: no handler of the copy's runs, as none would after kill -9."""


@contextmanager
def dying_at(monkeypatch: pytest.MonkeyPatch, step: int, committed: bool) -> Iterator[None]:
    """The copy's step-th write to the target dies before its commit (its rows rolled
    back), or just after it."""
    original = ledger.copy.Copier.writing
    count = 0

    @contextmanager
    def writing(self: ledger.copy.Copier) -> Iterator[Any]:
        nonlocal count
        count += 1
        with original(self) as c:
            yield c
            if count == step and not committed:
                raise Killed
        if count == step and committed:
            raise Killed

    monkeypatch.setattr(ledger.copy.Copier, "writing", writing)
    yield
    monkeypatch.setattr(ledger.copy.Copier, "writing", original)


def stop_copy(
    monkeypatch: pytest.MonkeyPatch, source: str, target: str, step: int, committed: bool
) -> bool:
    """Copy, dying at a step; whether it died (a step past the last write does not)."""
    with dying_at(monkeypatch, step, committed):
        try:
            ledger.copy.copy_ledger(source, target, settings=Settings(copy_page=10))
        except Killed:
            return True
    return False


def refusal(source: str, target: str) -> str:
    remedy = "drop the schema" if target.startswith("postgresql") else "delete the file"
    return (
        f"Error: {target} holds a copy of {source} that did not finish (it stopped before "
        "its last rows and their proof were in); finish it with oneruler copy --resume "
        f"--from {source} --to {target}, or {remedy} and copy again.\n"
    )


def resumed_and_whole(source: str, target: str) -> None:
    finished = oneruler("copy", "--resume", "--from", source, "--to", target, "--json")
    assert finished.exit_code == 0, finished.output
    report = json.loads(finished.stdout)
    assert report["target_log"] == report["source_log"]
    # The sample's 46 events, and a checkpoint's map head where the source has one.
    source_log = json.loads(oneruler("verify", "--db", source, "--json").stdout)
    assert report["source_log"]["size"] == source_log["tree_size"] in (46, 47)
    whole(source, target)


def whole(source: str, target: str) -> None:
    """The target holds what the source holds: its log verifies, the source's file
    applies nothing twice, and its figures are the source's."""
    assert oneruler("verify", "--db", target).exit_code == 0
    again = oneruler("ingest", SAMPLE, "--db", target, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) | {"rejections": []} == {
        "applied": 0,
        "skipped": 41,
        "rejected": 0,
        "rejections": [],
    }
    for what in (
        ("household", "show", "XC-0003", "--json", "--as-of", "2018-03-31"),
        ("report", "groups", "--json", "--as-of", "2018-03-31"),
    ):
        assert oneruler(*what, "--db", target).stdout == oneruler(*what, "--db", source).stdout


# 1 write marks the target, 5 pages of 10 events, 5 pages of command ids, 1 of the
# staff's credentials, 1 of the checkpoints, 1 unmarks it once proved: 14 steps, each
# died in before or after its commit.
STEPS = 14


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
@pytest.mark.parametrize("step", range(1, STEPS + 2))
def test_a_copy_stopped_at_any_write_is_refused_then_resumed_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str, step: int, committed: bool
) -> None:
    target = str(tmp_path / "county.db")
    assert stop_copy(monkeypatch, source, target, step, committed) == (step <= STEPS)
    if step == 1 and not committed:
        # Stopped before its first write: an empty ledger, which a copy may fill.
        assert oneruler("verify", "--db", target).stdout.startswith("OK: 0 events")
        resumed_and_whole(source, target)
        return
    if step > STEPS or (step == STEPS and committed):
        # Proved and unmarked: a whole ledger (its read models are built on first read).
        whole(source, target)
        return
    for args in (
        ("verify", "--db", target),
        ("household", "show", "XC-0001", "--db", target),
        ("ingest", SAMPLE, "--db", target),
        ("copy", "--from", source, "--to", target),
        ("copy", "--from", target, "--to", tmp_path / "onwards.db"),
    ):
        result = oneruler(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (
            2,
            "",
            refusal(source, target),
        ), args
    resumed_and_whole(source, target)


@pytest.mark.parametrize(("step", "committed"), [(1, True), (4, False), (7, True), (11, False)])
def test_a_copy_into_postgresql_stopped_midway_is_refused_then_resumed(
    monkeypatch: pytest.MonkeyPatch, source: str, step: int, committed: bool
) -> None:
    with postgres_schema() as target:
        assert stop_copy(monkeypatch, source, target, step, committed)
        result = oneruler("report", "groups", "--db", target)
        assert (result.exit_code, result.stderr) == (2, refusal(source, target))
        resumed_and_whole(source, target)


def test_resuming_refuses_a_source_that_is_not_the_one_copied(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    target = str(tmp_path / "county.db")
    assert stop_copy(monkeypatch, source, target, 5, False)
    other = str(tmp_path / "other.db")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    (tmp_path / "other.jsonl").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    assert oneruler("ingest", tmp_path / "other.jsonl", "--db", other).exit_code == 0
    result = oneruler("copy", "--resume", "--from", other, "--to", target)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {other} is not the ledger being copied to {target}: its log "
    )
    assert oneruler("verify", "--db", target).stderr == refusal(source, target)


def test_resuming_into_a_whole_ledger_or_nothing_at_all(tmp_path: Path, source: str) -> None:
    empty = str(tmp_path / "new.db")
    made = oneruler("copy", "--resume", "--from", source, "--to", empty)
    assert made.exit_code == 0, made.output  # nothing there yet: the whole copy
    again = oneruler("copy", "--resume", "--from", source, "--to", empty)
    assert again.exit_code == 1
    assert again.stderr == (
        f"Error: the target at {empty} is not empty (it holds events, applied command ids, "
        "checkpoints and a log) and no copy into it stopped: there is nothing to resume; "
        "copy only into an empty store: a new file, or a new database or schema.\n"
    )


# --- a real process, killed -----------------------------------------------------------


@pytest.fixture(scope="module")
def larger_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A programme long enough that its copy is still writing when it is killed."""
    folder = tmp_path_factory.mktemp("larger")
    programme = folder / "programme.jsonl"
    with programme.open("w", encoding="utf-8") as out:
        for command in Programme(600, 4, 7):
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
    path = str(folder / "town.db")
    assert oneruler("ingest", programme, "--db", path).exit_code == 0
    return path


def events_in(path: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)) as conn:
            return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("after", [1, 4_000])
def test_a_copy_killed_with_sigkill_is_refused_then_resumed(
    tmp_path: Path, larger_source: str, after: int
) -> None:
    target = tmp_path / "county.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONERULER_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    copying = subprocess.Popen(
        [*ONERULER, "copy", "--from", larger_source, "--to", str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while events_in(target) < after and copying.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(copying.pid, signal.SIGKILL)
    assert copying.wait() == -signal.SIGKILL, "the copy finished before it could be killed"
    result = oneruler("verify", "--db", target)
    assert (result.exit_code, result.stderr) == (2, refusal(larger_source, str(target)))
    finished = oneruler("copy", "--resume", "--from", larger_source, "--to", target, "--json")
    assert finished.exit_code == 0, finished.output
    report = json.loads(finished.stdout)
    assert report["target_log"] == report["source_log"]
    assert oneruler("verify", "--db", target).exit_code == 0
    for what in (
        ("report", "groups", "--json", "--as-of", "2018-04-30"),
        ("household", "show", "XC-0000300", "--json", "--as-of", "2018-04-30"),
    ):
        assert (
            oneruler(*what, "--db", target).stdout == oneruler(*what, "--db", larger_source).stdout
        )


def test_resuming_takes_what_the_source_gained_since_the_copy_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    first, later = tmp_path / "first.jsonl", tmp_path / "later.jsonl"
    first.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    later.write_text("\n".join(lines[30:]) + "\n", encoding="utf-8")
    town, county = str(tmp_path / "town.db"), str(tmp_path / "county.db")
    assert oneruler("ingest", first, "--db", town).exit_code == 0
    assert stop_copy(monkeypatch, town, county, 4, False)
    assert oneruler("ingest", later, "--db", town).exit_code == 0  # the town went on
    resumed_and_whole(town, county)
