"""A ledger written by the code before identity (tests/data/README.md), opened after
it: the same leaves and roots (its signed checkpoint still verifies), its history
readable with every event entered by its actor, brought up to the current format
when opened to write, and written to again with credentials, on both stores."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from domain.ids import household_id
from ledger.identity import Identity
from ledger.store import open_ledger, parse_postgres_url
from tests.conftest import postgres_schema
from tests.credentials import PASSWORD

DATA = Path(__file__).resolve().parents[1] / "data"
PUBKEY = DATA / "old-office.pub"
ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None}


def oneruler(*args: Any, input: str | None = None, token: str | None = None) -> Result:
    env = {**ENV, "ONERULER_TOKEN": token}
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env)


@pytest.fixture(params=["sqlite", "postgres"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A copy of the old ledger and the checkpoint it was signed at."""
    if request.param == "sqlite":
        path = tmp_path / "old.db"
        shutil.copy(DATA / "ledger-before-identity.db", path)
        yield str(path), DATA / "ledger-before-identity.checkpoint"
        return
    with postgres_schema() as url:
        schema = url.rpartition("schema=")[2]
        dump = (DATA / "postgres-before-identity.sql").read_text(encoding="utf-8")
        dump = dump.replace("CREATE SCHEMA before_identity;", "")
        server = parse_postgres_url(url)
        with psycopg.connect(
            host=server.host, port=server.port, dbname=server.dbname, user=server.user,
            password=server.password or None, autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(dump.replace("before_identity", schema).encode())
        yield url, DATA / "postgres-before-identity.checkpoint"


def root_in(checkpoint: Path) -> tuple[int, bytes]:
    lines = checkpoint.read_text(encoding="utf-8").splitlines()
    return int(lines[1]), base64.b64decode(lines[2])


def test_an_old_ledger_keeps_its_roots_reads_as_entered_by_its_actors_and_takes_writes(
    old: tuple[str, Path], tmp_path: Path
) -> None:
    db, checkpoint = old
    size, root = root_in(checkpoint)
    verified = oneruler("verify", "--db", db, "--against", checkpoint, "--pubkey", PUBKEY)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith(f"OK: {size} events")

    history = oneruler("household", "history", "XC-0001", "--db", db, "--json")
    events = json.loads(history.stdout)["events"]
    assert len(events) == 14
    assert all(e["entered_by"] == e["actor"] for e in events)
    assert {e["actor"] for e in events} == {"admin", "s-001", "s-010", "s-040"}

    # A filing stored before callers were kept reads as one without a caller (its
    # event upcast, its bytes as they were); its record and the payouts read back.
    complaint = json.loads(oneruler("complaint", "show", "C-0001", "--db", db, "--json").stdout)
    assert (complaint["caller"], complaint["finding"]) == (None, "substantiated")
    assert [e["event"] for e in complaint["record"]] == ["filed", "resolved"]
    paid = json.loads(oneruler("payout", "list", "--paid", "--db", db, "--json").stdout)
    assert [p["payout"] for p in paid["payouts"]] == ["P-0001"]

    ledger = open_ledger(db)
    try:
        recorder = ledger.ledger_recorder
        with recorder.log_transaction(commit=False) as c:
            assert recorder.log.root(c, size) == root
            c.execute("SELECT key, value FROM oneruler_ledger ORDER BY key")
            assert c.fetchall() == [("format", "oneruler"), ("version", "2")]
        stored = ledger.events_of(household_id("XC-0001"))
        assert [(e.actor, e.entered_by) for e in stored][:2] == [("admin", "admin")] * 1 + [
            ("s-001", "s-001")
        ]
        # Its command ids have no digest: a resend is skipped as it was, whatever it holds.
        assert ledger.applied_commands(["xc-0014"]) == {"xc-0014": None}
        # Whoever holds it sets the admin's password; the admin logs in.
        identity = Identity(ledger)
        identity.set_password("admin", PASSWORD, None)
        token, _ = identity.login("admin", PASSWORD)
    finally:
        ledger.close()

    line = {"id": "new-1", "cmd": "create_group", "actor": "admin",
            "at": "2018-03-20T10:00:00+08:00", "group": "G03", "name": "第三工作组"}  # fmt: skip
    resent = {"id": "xc-0002", "cmd": "create_group", "actor": "admin",
              "at": "2018-03-01T08:10:00+08:00", "group": "G09", "name": "另一组"}  # fmt: skip
    lines = tmp_path / "more.jsonl"
    lines.write_text(f"{json.dumps(line)}\n{json.dumps(resent)}\n", encoding="utf-8")
    ingested = oneruler("ingest", lines, "--db", db, "--json", token=token)
    assert json.loads(ingested.stdout) == {
        "applied": 1, "skipped": 1, "rejected": 0, "rejections": [],
    }  # fmt: skip
    # The old checkpoint still holds: the new events extend the log it signed.
    again = oneruler("verify", "--db", db, "--against", checkpoint, "--pubkey", PUBKEY)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"OK: {size + 2} events")  # the password, the group
    ledger = open_ledger(db)
    try:
        with ledger.ledger_recorder.log_transaction(commit=False) as c:
            assert ledger.ledger_recorder.log.root(c, size) == root
    finally:
        ledger.close()


def test_an_old_ledger_opened_read_only_reads_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-before-identity.db", path)
    before = path.read_bytes()
    url = f"sqlite:///{path}?mode=ro"
    checkpoint = DATA / "ledger-before-identity.checkpoint"
    verified = oneruler("verify", "--db", url, "--against", checkpoint, "--pubkey", PUBKEY)
    assert verified.exit_code == 0, verified.output
    history = oneruler("household", "history", "XC-0003", "--db", url, "--json")
    assert history.exit_code == 0, history.output
    assert all(e["entered_by"] == e["actor"] for e in json.loads(history.stdout)["events"])
    written = oneruler("group", "create", "--group", "G3", "--name", "三组", "--db", url)
    assert (written.exit_code, written.stderr) == (
        2,
        f"Error: {path} cannot be written here (a read-only file, folder or mount): make it "
        f"writable, or copy it to where it can be (oneruler copy --from {path} --to NEW.db); "
        "reads and verify work on it as it is.\n",
    )
    assert path.read_bytes() == before
