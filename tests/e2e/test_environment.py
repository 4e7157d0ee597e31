"""What a command runs on failing under it: a read-only file, folder or mount, a full
disk, a lost connection to PostgreSQL, a key's path already taken, a JSON file nested
without end. Each is one sentence naming the cause and the remedy, exit 2, never a
traceback; reads and verify still work on a ledger that cannot be written."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.application import Ledger
from ledger.recorder import LedgerSQLiteRecorder
from ledger.store import parse_postgres_url
from simulation.programme import Programme
from tests.conftest import SAMPLE, postgres_schema
from tests.credentials import logged_in, token_for

ONERULER = [sys.executable, "-c", "from cli.main import main; main()"]
AS_OF = ("--as-of", "2018-03-31")
READS = (
    ("household", "show", "XC-0001", "--json", *AS_OF),
    ("household", "history", "XC-0003", "--json"),
    ("report", "groups", "--json", *AS_OF),
    ("report", "consistency", "--json", *AS_OF),
    ("dispute", "XC-0002", "--json", *AS_OF),
    ("verify",),
)


def oneruler(*args: Any, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        input=input,
        env=logged_in(args, {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None}),
    )


def timeless(output: str) -> str:
    """A command's output without how long it took (verify says), which varies."""
    return re.sub(r" in \d+\.\d\d s", " in … s", output)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "town.db"
    assert oneruler("ingest", SAMPLE, "--db", path).exit_code == 0
    return path


def read_only_sentence(path: Any) -> str:
    return (
        f"Error: {path} cannot be written here (a read-only file, folder or mount): make it "
        f"writable, or copy it to where it can be (oneruler copy --from {path} --to NEW.db); "
        "reads and verify work on it as it is.\n"
    )


def group_create(db: Any) -> tuple[str, ...]:
    return ("group", "create", "--group", "G9", "--name", "九组", "--actor", "admin", "--db", db)


# --- read-only ------------------------------------------------------------------------


def test_a_ledger_opened_read_only_reads_and_verifies_and_is_never_written(
    ledger_file: Path,
) -> None:
    before = digest(ledger_file)
    read_only = f"sqlite:///{ledger_file}?mode=ro"
    for args in READS:
        expected = oneruler(*args, "--db", ledger_file)
        result = oneruler(*args, "--db", read_only)
        assert (result.exit_code, timeless(result.stdout)) == (0, timeless(expected.stdout)), args
    line = {"id": "g9", "cmd": "create_group", "actor": "admin", "at": "2018-03-20T10:00:00+08:00"}
    for args in (group_create(read_only), ("ingest", "-", "--db", read_only)):
        result = oneruler(*args, input=json.dumps({**line, "group": "G9", "name": "九组"}))
        assert (result.exit_code, result.stdout, result.stderr) == (
            2,
            "",
            read_only_sentence(ledger_file),
        ), args
    assert digest(ledger_file) == before


def test_read_only_read_models_that_are_behind_say_how_to_bring_them_up(
    ledger_file: Path,
) -> None:
    assert oneruler(*group_create(ledger_file)).exit_code == 0  # the read models lag
    result = oneruler("report", "groups", "--db", f"sqlite:///{ledger_file}?mode=ro")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: {ledger_file} is opened read-only, and its read models are behind its "
        "events: bringing them up to date writes, so read it once where it can be written, "
        f"or copy it (oneruler copy --from {ledger_file} --to NEW.db builds them); verify, "
        "prove and household history work read-only.\n"
    )
    assert oneruler("verify", "--db", f"sqlite:///{ledger_file}?mode=ro").exit_code == 0


def test_a_ledger_made_before_the_marker_opened_read_only_is_not_marked(
    ledger_file: Path,
) -> None:
    with closing(sqlite3.connect(ledger_file)) as conn, conn:
        conn.execute("DROP TABLE oneruler_ledger")
    before = digest(ledger_file)
    assert oneruler("verify", "--db", f"sqlite:///{ledger_file}?mode=ro").exit_code == 0
    assert digest(ledger_file) == before


def unprivileged() -> list[str]:
    """A prefix that runs a command without the right to write what its mode forbids:
    nothing for an ordinary user; for root, without the capability that overrides it."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root writes any file, and setpriv is not here to drop that")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def run(
    *args: Any, prefix: list[str] | None = None, token: str | None = None, input: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONERULER_")}
    if token is not None:
        env["ONERULER_TOKEN"] = token
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [*(prefix or []), *ONERULER, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        input=input,
    )


@contextmanager
def read_only_mount(folder: Path) -> Iterator[Path]:
    """A small file system of its own, mounted read-only once the ledger is in it."""
    mount = folder / "mount"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount], check=False)
    if made.returncode != 0:
        pytest.skip("this machine does not let the tests mount a file system")
    try:
        yield mount
    finally:
        subprocess.run(["umount", mount], check=False)


@pytest.mark.parametrize("how", ["file and folder", "mount"])
def test_a_ledger_that_cannot_be_written_reads_verifies_and_says_why_it_takes_no_write(
    tmp_path: Path, ledger_file: Path, how: str
) -> None:
    expected = {args: timeless(oneruler(*args, "--db", ledger_file).stdout) for args in READS}
    with (
        read_only_mount(tmp_path)
        if how == "mount"
        else contextmanager(lambda: (yield tmp_path / "ro"))() as folder
    ):
        folder.mkdir(exist_ok=True)
        ledger = folder / "town.db"
        shutil.copy(ledger_file, ledger)
        prefix: list[str] = []
        if how == "mount":
            subprocess.run(["mount", "-o", "remount,ro", folder], check=True)
        else:
            ledger.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
            prefix = unprivileged()
        try:
            before = digest(ledger)
            for args in READS:
                result = run(*args, "--db", ledger, prefix=prefix)
                assert (result.returncode, timeless(result.stdout), result.stderr) == (
                    0,
                    expected[args],
                    "",
                ), args
            written = run(*group_create(ledger), prefix=prefix)
            assert (written.returncode, written.stdout, written.stderr) == (
                2,
                "",
                read_only_sentence(ledger),
            )
            # What begins a new ledger: the holder setting the built-in admin's password.
            made = run(
                "staff", "set-password", "admin", "--password-stdin", "--db", folder / "new.db",
                prefix=prefix, input="correct horse battery staple\n",
            )  # fmt: skip
            assert (made.returncode, made.stderr) == (
                2,
                f"Error: cannot create the ledger {folder / 'new.db'}: its folder {folder} "
                "cannot be written here (a read-only folder or mount); give a --db where it "
                "can be.\n",
            )
            assert digest(ledger) == before
            assert sorted(p.name for p in folder.iterdir()) == ["town.db"]
        finally:
            if how != "mount":
                folder.chmod(stat.S_IRWXU)


# --- a full disk ------------------------------------------------------------------------


def full(where: Any) -> str:
    return (
        f"Error: the disk holding {where} is full (database or disk is full); free some "
        "space there, then run the command again (what was stored before stays, and "
        "nothing is applied twice).\n"
    )


def events_in(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def test_a_full_disk_is_one_sentence_whatever_was_writing(
    ledger_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Injected where the events are written, and where the read models are."""

    def no_space(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    new = ledger_file.parent / "new.db"
    with monkeypatch.context() as disk:
        disk.setattr(LedgerSQLiteRecorder, "_insert_rows", no_space)
        for args in (group_create(ledger_file), ("ingest", SAMPLE, "--db", new)):
            result = oneruler(*args)
            assert (result.exit_code, result.stdout, result.stderr) == (
                2,
                "",
                full(args[-1]),
            ), args
    assert (events_in(ledger_file), events_in(new)) == (46, 0)
    assert oneruler(*group_create(ledger_file)).exit_code == 0
    with monkeypatch.context() as disk:
        disk.setattr(LedgerSQLiteRecorder, "record_tracking", no_space)
        result = oneruler("report", "groups", "--db", ledger_file)
        assert (result.exit_code, result.stderr) == (2, full(ledger_file))
    assert oneruler("report", "groups", "--db", ledger_file).exit_code == 0


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    mount = folder / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount])
    if made.returncode != 0:
        pytest.skip("this machine does not let the tests mount a file system")
    try:
        yield mount
    finally:
        subprocess.run(["umount", mount], check=False)


def test_a_disk_that_fills_up_is_said_so_and_the_ledger_reads_again_once_freed(
    tmp_path: Path,
) -> None:
    programme = tmp_path / "programme.jsonl"
    with programme.open("w", encoding="utf-8") as out:
        for command in Programme(1000, 4, 3):
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
    with small_disk(tmp_path, "4m") as disk:
        ledger = disk / "full.db"
        token = token_for(str(ledger))  # logged in before the disk filled up
        filled = run("ingest", programme, "--db", ledger, "--batch-size", "500", token=token)
        assert (filled.returncode, filled.stdout, filled.stderr) == (2, "", full(ledger))
        stored = events_in(ledger)
        assert stored > 0
        # Full to the last byte, and without the index of the write-ahead log, which
        # SQLite must then make and cannot: what used to be called an unreadable ledger.
        Path(f"{ledger}-shm").unlink(missing_ok=True)
        filler = disk / "filler"
        with filler.open("wb", buffering=0) as out:
            try:
                while True:
                    out.write(b"\0" * 4096)
            except OSError:
                pass
        for args in (("verify",), ("report", "groups"), ("household", "show", "XC-0000001")):
            result = run(*args, "--db", ledger)
            assert (result.returncode, result.stdout, result.stderr) == (
                2,
                "",
                full(ledger).replace("database or disk is full", "disk I/O error"),
            ), args
        # The room an operator makes once told the disk is full.
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,size=64m", disk], check=True)
        verified = run("verify", "--db", ledger)
        assert (verified.returncode, verified.stderr) == (0, ""), verified.stderr
        assert verified.stdout.startswith(f"OK: {stored} events")
        shown = run("report", "groups", "--db", ledger)
        assert (shown.returncode, shown.stderr) == (0, "")


# --- a lost connection ----------------------------------------------------------------


def test_a_killed_postgresql_backend_is_one_sentence_and_the_command_runs_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"oneruler-test-{uuid.uuid4().hex[:12]}"
    with postgres_schema() as url:
        assert oneruler("ingest", SAMPLE, "--db", url).exit_code == 0
        server = parse_postgres_url(url)
        execute = Ledger.execute

        def killed_first(ledger: Ledger, command: Any, session: Any) -> Any:
            # pg_terminate_backend on this process's own connections, as an
            # administrator (or a server restart, or a failover) would.
            with psycopg.connect(
                host=server.host, port=server.port, dbname=server.dbname,
                user=server.user, autocommit=True, application_name="oneruler-test-killer",
            ) as admin:  # fmt: skip
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    [name],
                )
            return execute(ledger, command, session)

        with monkeypatch.context() as server_side:
            server_side.setenv("PGAPPNAME", name)  # this command's connections, and no other
            server_side.setattr(Ledger, "execute", killed_first)
            result = oneruler(*group_create(url))
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"Error: the connection to PostgreSQL at {server.where} was lost (terminating "
            "connection due to administrator command); once the server is reachable, run "
            "the command again (what was stored before stays, and nothing is applied twice).\n"
        )
        again = oneruler(*group_create(url))
        assert again.exit_code == 0, again.output


# --- a key's path already taken ---------------------------------------------------------


@pytest.mark.parametrize("taken", ["key", "pub"])
@pytest.mark.parametrize("how", ["a link to nowhere", "a link to a file", "a file"])
def test_a_key_is_never_written_over_or_through_a_link(
    tmp_path: Path, taken: str, how: str
) -> None:
    path = tmp_path / f"office.{taken}"
    elsewhere = tmp_path / "elsewhere.txt"
    if how == "a file":
        path.write_text("mine\n", encoding="utf-8")
    else:
        if how == "a link to a file":
            elsewhere.write_text("mine\n", encoding="utf-8")
        path.symlink_to(elsewhere)
    result = oneruler("key", "generate", "office", "--dir", tmp_path)
    link = f" (a link to {elsewhere})" if how != "a file" else ""
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"Error: {path} already exists{link} and a key is never overwritten; choose another "
        "NAME or --dir.\n",
    )
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted({path.name, *(["elsewhere.txt"] if how == "a link to a file" else [])})
    if how == "a link to a file":
        assert elsewhere.read_text(encoding="utf-8") == "mine\n"


def test_a_key_path_taken_while_the_pair_is_written_leaves_no_half_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = os.open

    def public_taken_meanwhile(path: Any, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(".pub"):
            Path(path).symlink_to(tmp_path / "nowhere")
        return opened(path, flags, mode)

    monkeypatch.setattr(os, "open", public_taken_meanwhile)
    result = oneruler("key", "generate", "office", "--dir", tmp_path)
    monkeypatch.undo()
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: {tmp_path / 'office.pub'} already exists (a link to {tmp_path / 'nowhere'}) "
        "and a key is never overwritten; choose another NAME or --dir.\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["office.pub"]


# --- JSON nested without end --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000, "is nested too deeply to read"),
        ("[" * 65 + "]" * 65, "is nested more than 64 levels deep"),
        ('{"a": ' * 500 + "1" + "}" * 500, "is nested more than 64 levels deep"),
        ("9" * 5000, "holds a number too long to read"),
    ],
    ids=["unreadable", "65-lists", "500-objects", "long-number"],
)
def test_json_nested_without_end_is_refused_in_one_sentence(
    ledger_file: Path, tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    published = oneruler(
        "policy", "publish", path, "--actor", "admin", "--db", ledger_file,
        "--at", "2018-03-20T10:00:00+08:00",
    )  # fmt: skip
    assert (published.exit_code, published.stdout, published.stderr) == (
        2,
        "",
        f"Error: {path} {reason}; give a policy document (DOMAIN.md, the policy as data).\n",
    )
    verified = oneruler("audit-verify", path)
    assert (verified.exit_code, verified.stdout, verified.stderr) == (
        2,
        "",
        f"Error: {path} {reason}; give the file oneruler prove wrote.\n",
    )
    assert events_in(ledger_file) == 46
