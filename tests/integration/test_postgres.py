"""PostgreSQL with real processes: clerks racing on one household, many ingests at once,
a copy SQLite -> PostgreSQL -> SQLite that keeps every leaf's bytes, and connection
problems told in one sentence."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from eventsourcing.persistence import IntegrityError

from cli.main import cli
from domain.values import LEDGER_TZ, id_number_check
from ledger.application import ConflictError
from ledger.checkpoint import generate_key, parse_signer
from ledger.commands import UnitOfWork, parse_command
from ledger.copy import recorder_of
from ledger.ingest import ingest
from ledger.log import audit, keys, verification
from ledger.reads import Reads
from ledger.store import connection_problem, open_ledger, parse_postgres_url, store_name
from tests.conftest import POSTGRES
from tests.credentials import ADMIN, execute_as_actor, logged_in, session_of, token_for
from tests.integration.test_contract import read_models

ONERULER = [sys.executable, "-c", "from cli.main import main; main()"]
CONFLICT = (
    "Error: the ledger was changed by someone else while this ran; nothing was appended: "
    "re-read and retry.\n"
)
END = datetime(2018, 3, 31, 23, 59, 59, 999999, tzinfo=LEDGER_TZ)
SAMPLE_EVENTS = 46


def environment() -> dict[str, str]:
    """The tests' environment, minus what would choose the ledger or the actor."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ONERULER_DB", "ONERULER_ACTOR", "ONERULER_TOKEN")
    }
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ONERULER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in logged_in(args, environment()).items() if v is not None},
    )


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in logged_in(args, environment()).items() if v is not None}
    return subprocess.run([*ONERULER, *args], capture_output=True, text=True, env=env, timeout=60)


def oneruler(*args: str, env: dict[str, str | None] | None = None) -> Result:
    env = logged_in(
        args, {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None, **(env or {})}
    )
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def sample(postgres_url: str, sample_lines: list[str]) -> Iterator[str]:
    """The sample programme in a fresh PostgreSQL schema; its URL."""
    ledger = open_ledger(postgres_url)
    try:
        assert ingest(ledger, sample_lines, ADMIN).applied == 41
    finally:
        ledger.close()
    yield postgres_url


def admin(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    store = parse_postgres_url(url)
    return psycopg.connect(
        host=store.host, port=store.port, dbname=store.dbname, user=store.user, autocommit=True
    )


def schema_of(url: str) -> str:
    return parse_postgres_url(url).schema


# --- the tables -------------------------------------------------------------------


def test_a_ledger_in_a_schema_keeps_every_table_there(sample: str) -> None:
    with admin(sample) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [schema_of(sample)],
            )
        }
    assert tables == {
        "oneruler_events",
        "oneruler_tracking",
        "applied_commands",
        "merkle_leaves",
        "merkle_nodes",
        "checkpoints",
        "oneruler_ledger",
        "staff_credentials",
        "staff_tokens",
        "login_failures",
        "complaint_contacts",
        "rm_policy_versions",
        "rm_groups",
        "rm_staff",
        "rm_staff_ids",
        "rm_staff_groups",
        "rm_on_behalf",
        "rm_households",
        "rm_household_complaints",
        "rm_complaints",
        "rm_progress_daily",
        "rm_progress_hourly",
        "rm_progress_moment",
        "rm_progress_sources",
        "rm_household_search",
        "rm_payouts",
        "rm_complaint_records",
    }
    # A ledger's short name (a checkpoint's default origin): the schema, or the file.
    assert store_name(sample) == schema_of(sample)
    assert store_name(POSTGRES) == parse_postgres_url(POSTGRES).dbname
    assert store_name("sqlite:///towns/xingcheng.db") == store_name("xingcheng.db") == "xingcheng"


# --- clerks racing ----------------------------------------------------------------


def test_clerks_signing_one_household_at_once_record_one_agreement(sample: str) -> None:
    ledger = open_ledger(sample)
    try:
        signing = datetime(2018, 3, 20, 10, tzinfo=LEDGER_TZ)
        amount = Reads(ledger).household("XC-0004", signing)["entitlement"]
    finally:
        ledger.close()
    events_table = f"{schema_of(sample)}.oneruler_events"
    clerks = 4
    with admin(sample) as holder:
        # Hold the writers' lock, so every clerk has read the household and waits to
        # commit: then let them all go at once.
        holder.autocommit = False
        holder.execute(f"LOCK TABLE {events_table} IN EXCLUSIVE MODE")
        sign = [
            "agreement",
            "sign",
            "--household",
            "XC-0004",
            "--method",
            "monetary",
            "--actor",
            "s-002",
        ]
        at = ["--at", "2018-03-20T10:00:00+08:00", "--amount", amount, "--db", sample]
        racing = [start(*sign, *at, "--agreement", f"A-90{n}") for n in range(clerks)]
        deadline = time.monotonic() + 30
        waiting = 0
        while waiting < clerks:
            assert time.monotonic() < deadline, "the clerks never all reached the commit"
            assert all(p.poll() is None for p in racing), [p.communicate() for p in racing]
            time.sleep(0.05)
            row = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(%s) AND NOT granted",
                [events_table],
            ).fetchone()
            waiting = row[0] if row else 0
        holder.rollback()
    results = [(p.wait(timeout=30), *p.communicate()) for p in racing]
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    assert winners[0][1].startswith("recorded agreement ")
    assert [(code, out, err) for code, out, err in losers] == [(1, "", CONFLICT)] * (clerks - 1)
    ledger = open_ledger(sample)
    try:
        own, _ = ledger.household_record("XC-0004")
        assert [type(e).__name__ for e in own].count("AgreementSigned") == 1
        assert Reads(ledger).household("XC-0004", END)["status"] == "signed"
        assert verification.verify(recorder_of(ledger)).ok
        with recorder_of(ledger).log_transaction(commit=False) as c:
            c.execute("SELECT count(*) FROM applied_commands")
            assert c.fetchone() == (42,)
    finally:
        ledger.close()


# --- many ingests at once ----------------------------------------------------------


def setup_lines(groups: list[str]) -> list[dict[str, Any]]:
    sample = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
    policy = json.loads(sample.read_text(encoding="utf-8").splitlines()[0])
    admin_at = "2018-03-01T08:30:00+08:00"
    lines: list[dict[str, Any]] = [
        policy,
        {"id": "set-village", "cmd": "add_village", "actor": "admin", "at": admin_at,
         "village": "一村"},
    ]  # fmt: skip
    for group in groups:
        lines.append(
            {"id": f"set-{group}", "cmd": "create_group", "actor": "admin", "at": admin_at,
             "group": group, "name": f"工作组 {group}"}
        )  # fmt: skip
        lines.append(
            {"id": f"set-c-{group}", "cmd": "enroll_staff", "actor": "admin", "at": admin_at,
             "staff": f"c-{group}", "name": f"文员 {group}", "role": "clerk", "group": group}
        )  # fmt: skip
    lines.append(
        {"id": "set-s-010", "cmd": "enroll_staff", "actor": "admin", "at": admin_at,
         "staff": "s-010", "name": "赵评", "role": "appraiser"}
    )  # fmt: skip
    return lines


def group_lines(group: str, households: int) -> list[dict[str, Any]]:
    """A group's own file: each household registered, surveyed, valued, signed and
    its ID card filed."""
    clerk = f"c-{group}"
    lines: list[dict[str, Any]] = []
    for n in range(households):
        code = f"{group}-{n:03d}"
        base = {"household": code}
        lines += [
            {"id": f"{code}-r", "cmd": "register_household", "actor": "admin",
             "at": f"2018-03-01T09:{n % 60:02d}:00+08:00", **base, "group": group,
             "village": "一村", "head": f"户主 {code}",
             "id_number": id_number_with_check(f"2114811970{n:07d}"),
             "address": f"兴城镇 {code}"},
            {"id": f"{code}-s", "cmd": "record_survey", "actor": clerk,
             "at": "2018-03-03T10:00:00+08:00", **base, "residents": 3,
             "building_area_m2": {"brick_concrete": "100.00"}, "land_area_m2": "20.00"},
            {"id": f"{code}-v", "cmd": "record_valuation", "actor": "s-010",
             "at": "2018-03-06T10:00:00+08:00", **base, "valuation": f"V-{code}",
             "policy": "XC-2018", "policy_version": 1,
             "items": [{"item": "building:brick_concrete", "quantity": "100.00"},
                       {"item": "land:homestead", "quantity": "20.00"}]},
            {"id": f"{code}-a", "cmd": "sign_agreement", "actor": clerk,
             "at": f"2018-03-{10 + n % 15:02d}T15:00:00+08:00", **base,
             "agreement": f"A-{code}", "method": "monetary", "amount": "364000.00"},
            {"id": f"{code}-d", "cmd": "attach_document", "actor": clerk,
             "at": "2018-03-28T09:00:00+08:00", **base, "kind": "id_card",
             "sha256": f"{n:064x}", "filename": f"{code}-id_card.pdf"},
        ]  # fmt: skip
    return lines


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path


def follow(url: str, stop: Any, gave_way: Any) -> None:
    """A reader in a process of its own: the bulletin's figures, again and again, each
    read first bringing the read models up to date (a write of its own)."""
    ledger = open_ledger(url)
    count = 0
    try:
        store = ledger.read_models.store
        record = store.record_tracking

        def recording(c: Any, name: str, position: int) -> None:
            nonlocal count
            try:
                record(c, name, position)
            except IntegrityError:
                count += 1
                raise

        store.record_tracking = recording  # type: ignore[method-assign]
        while not stop.is_set():
            Reads(ledger).group_report(END)
    finally:
        ledger.close()
        gave_way.put(count)


def test_many_processes_ingesting_at_once_apply_every_command_once(
    postgres_url: str, tmp_path: Path
) -> None:
    groups = ["G1", "G2", "G3", "G4"]
    households = 30
    setup = write(tmp_path / "setup.jsonl", setup_lines(groups))
    files = [write(tmp_path / f"{g}.jsonl", group_lines(g, households)) for g in groups]
    assert run("ingest", str(setup), "--db", postgres_url).returncode == 0
    # Small batches, so the writers' commits interleave many times; readers in other
    # processes bring the read models up to date between them, racing each other.
    spawn = multiprocessing.get_context("spawn")
    stop, gave_way = spawn.Event(), spawn.Queue()
    readers = [spawn.Process(target=follow, args=(postgres_url, stop, gave_way)) for _ in range(3)]
    for reader in readers:
        reader.start()
    running = [start("ingest", str(f), "--db", postgres_url, "--batch-size", "7", "--json")
               for f in files]  # fmt: skip
    reports = []
    for process in running:
        out, err = process.communicate(timeout=60)
        assert (process.returncode, err) == (0, ""), err
        reports.append(json.loads(out))
    stop.set()
    given_way = sum(gave_way.get(timeout=30) for _ in readers)
    for reader in readers:
        reader.join(timeout=30)
        assert reader.exitcode == 0
    print(f"the readers gave way {given_way} times")
    assert [(r["applied"], r["rejected"]) for r in reports] == [(households * 5, 0)] * 4
    verified = run("verify", "--db", postgres_url)
    assert verified.returncode == 0, verified.stderr
    # One event a line, and two more for the publishing (the register opened, the policy
    # listed in it).
    events = len(setup_lines(groups)) + 2 + 4 * households * 5
    assert verified.stdout.startswith(f"OK: {events} events")

    total = len(setup_lines(groups)) + len(groups) * households * 5
    ledger = open_ledger(postgres_url)
    try:
        with recorder_of(ledger).log_transaction(commit=False) as c:
            c.execute("SELECT count(*), count(DISTINCT id) FROM applied_commands")
            assert c.fetchone() == (total, total)
            c.execute(
                f"SELECT count(*), max(originator_version) FROM {schema_of(postgres_url)}"
                ".oneruler_events GROUP BY originator_id"
            )
            per_aggregate = c.fetchall()
        assert sum(n for n, _ in per_aggregate) == total + 2  # the register's two
        assert all(n == last for n, last in per_aggregate)  # versions 1..n, none twice
        followed = read_models(ledger)
        report = Reads(ledger).group_report(END)
        ledger.read_models.rebuild()
        assert read_models(ledger) == followed
    finally:
        ledger.close()
    assert report["total"]["signed"] == len(groups) * households

    # The same files one after the other into a SQLite file: the same figures.
    serial = open_ledger(str(tmp_path / "serial.db"))
    try:
        for path in [setup, *files]:
            assert (
                ingest(serial, path.read_text(encoding="utf-8").splitlines(), ADMIN).rejected == 0
            )
        assert Reads(serial).group_report(END) == report
    finally:
        serial.close()


# --- copy SQLite -> PostgreSQL -> SQLite ---------------------------------------------


def leaves(url: str) -> list[bytes]:
    """Every stored event's leaf bytes, recomputed from the stored rows."""
    ledger = open_ledger(url, must_exist=True)
    try:
        recorder = recorder_of(ledger)
        d = recorder.log.dialect
        with recorder.log_transaction(commit=False) as c:
            c.execute(
                f"SELECT {d.notification_id}, originator_id, originator_version, topic, state "
                f"FROM {d.events_table} ORDER BY {d.notification_id}"
            )
            return [
                audit.leaf_bytes(n, d.originator_bytes(o), v, t, bytes(s))
                for n, o, v, t, s in c.fetchall()
            ]
    finally:
        ledger.close()


def held(url: str) -> dict[str, Any]:
    """The log's head, its root at the sample's size, checkpoints, command ids, figures."""
    ledger = open_ledger(url, must_exist=True)
    try:
        recorder = recorder_of(ledger)
        with recorder.log_transaction(commit=False) as c:
            size = recorder.log.size(c)
            c.execute("SELECT id FROM applied_commands")
            commands = {row[0] for row in c.fetchall()}
            return {
                "size": size,
                "root": recorder.log.root(c, size),
                "root_39": recorder.log.root(c, SAMPLE_EVENTS + 1),
                "checkpoints": recorder.log.checkpoints(c),
                "commands": commands,
                "report": Reads(ledger).group_report(END),
                "ok": verification.verify(recorder).ok,
            }
    finally:
        ledger.close()


def attach(kind: str, command_id: str) -> Any:
    return parse_command(
        {"id": command_id, "cmd": "attach_document", "actor": "s-002",
         "at": "2018-03-20T09:00:00+08:00", "household": "XC-0004", "kind": kind,
         "sha256": "ab" * 32, "filename": f"XC-0004-{kind}.pdf"}
    )  # fmt: skip


def test_a_copy_there_and_back_keeps_every_leaf(
    postgres_url: str, tmp_path: Path, sample_lines: list[str]
) -> None:
    town = f"sqlite:///{tmp_path / 'town.db'}"
    signer_text, _ = generate_key("ledger.xingcheng.example/town")
    signer = parse_signer(signer_text)
    ledger = open_ledger(town)
    try:
        ingest(ledger, sample_lines, ADMIN)
        # With its map head, leaf 38: the town's log holds 39 leaves.
        keys.make_checkpoint(recorder_of(ledger), [signer], origin=None, now=datetime.now(UTC))
    finally:
        ledger.close()

    there = oneruler("copy", "--from", town, "--to", postgres_url, "--json")
    assert there.exit_code == 0, there.output
    document = json.loads(there.stdout)
    assert document["source_log"] == document["target_log"]
    assert (document["events"], document["commands"], document["checkpoints"]) == (47, 41, 1)
    assert leaves(postgres_url) == leaves(town)

    # On the county's server: a conflicting write (its notification id is spent and
    # never used: a gap), more events after it, and the county's own checkpoint.
    one, two = open_ledger(postgres_url), open_ledger(postgres_url)
    try:
        late = UnitOfWork(two)
        late.run(attach("hukou", "late-1"), session_of("s-002"))
        execute_as_actor(one, attach("id_card", "first-1"))
        with pytest.raises(ConflictError):
            two.commit(late)
        execute_as_actor(two, attach("hukou", "late-1"))
        # Its map head is built over a log whose ids have a gap, from nothing kept (a copy
        # keeps the events, not the map's subtrees).
        keys.make_checkpoint(recorder_of(two), [signer], origin=None, now=datetime.now(UTC))
        assert recorder_of(two).max_notification_id() == SAMPLE_EVENTS + 5  # 48, (49), 50, 51
    finally:
        one.close()
        two.close()

    back = f"sqlite:///{tmp_path / 'back.db'}"
    returned = oneruler("copy", "--from", postgres_url, "--to", back)
    assert returned.exit_code == 0, returned.output
    lines = returned.stdout.splitlines()
    assert lines[0].startswith("copied 50 events, 43 command ids and 2 checkpoints from postgr")
    assert lines[1].replace("source", "target") == lines[2]
    assert lines[3].startswith("OK: ")

    county, town_held, home = held(postgres_url), held(town), held(back)
    assert leaves(back) == leaves(postgres_url)
    assert leaves(postgres_url)[: SAMPLE_EVENTS + 1] == leaves(town)
    assert [leaf[1] for leaf in leaves(back)[-3:]] == [48, 50, 51]
    assert home == county
    assert town_held["root"] == county["root_39"] == home["root_39"]
    assert county["checkpoints"][0] == town_held["checkpoints"][0]
    assert county["ok"] and home["ok"] and home["size"] == 50

    # The copy goes on numbering after the largest id it was given.
    ledger = open_ledger(back)
    try:
        execute_as_actor(ledger, attach("property_certificate", "home-1"))
        assert recorder_of(ledger).max_notification_id() == SAMPLE_EVENTS + 6
        assert verification.verify(recorder_of(ledger)).ok
    finally:
        ledger.close()

    again = oneruler("copy", "--from", town, "--to", postgres_url)
    assert again.exit_code == 1
    assert again.stderr == (
        f"Error: the target at {postgres_url} is not empty (it holds events, applied command "
        "ids, checkpoints and a log); copy only into an empty store: a new file, or a new "
        "database or schema.\n"
    )


# --- connection problems --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_stopped_server_is_one_sentence_and_quick() -> None:
    port = free_port()
    started = time.monotonic()
    result = run(
        "household", "show", "XC-0001", "--db", f"postgresql://postgres@127.0.0.1:{port}/test"
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: could not connect to PostgreSQL at 127.0.0.1:{port}: is the server running? "
        "check the host and port in --db.\n"
    )
    assert time.monotonic() - started < 10


def test_a_missing_database_is_one_sentence() -> None:
    server = parse_postgres_url(POSTGRES)
    url = f"postgresql://{server.user}@{server.where}/nosuch"
    for args in (("household", "show", "XC-0001"), ("ingest", "-")):
        result = oneruler(*args, "--db", url)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"Error: database nosuch does not exist on {server.where}; create it "
            "(createdb nosuch) or check --db.\n"
        )


def test_an_unknown_user_is_one_sentence_and_the_password_is_never_shown() -> None:
    # The test server trusts every connection from 127.0.0.1 (pg_hba.conf: trust), so
    # it takes any password: a wrong password cannot be made to fail here. A user that
    # does not exist is refused all the same, and the password sentence is checked
    # against libpq's own message below.
    server = parse_postgres_url(POSTGRES)
    url = f"postgresql://nobody_here:s3cret@{server.where}/{server.dbname}"
    result = run("report", "groups", "--db", url)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: PostgreSQL at {server.where} has no user nobody_here; check the user in --db, "
        "or create the role (createuser nobody_here).\n"
    )
    assert "s3cret" not in result.stderr
    store = parse_postgres_url(url)
    message = (
        f'connection failed: connection to server at "{store.host}", port {store.port} '
        'failed: FATAL:  password authentication failed for user "nobody_here"'
    )
    assert connection_problem(store, message) == (
        f"PostgreSQL at {server.where} refused the password of user nobody_here; check the "
        "user and password in --db."
    )


def test_an_empty_schema_is_no_ledger_to_read_and_a_bad_url_is_bad_usage(
    postgres_url: str,
) -> None:
    server = parse_postgres_url(POSTGRES)
    result = oneruler("household", "show", "XC-0001", "--db", postgres_url)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: there is no ledger in schema {schema_of(postgres_url)} of database "
        f"{server.dbname} on {server.where}; check --db (or ONERULER_DB), or begin a new "
        "ledger with oneruler staff set-password admin.\n"
    )
    for url, message in (
        (f"postgresql://{server.where}/test", "the store URL names no user"),
        (f"{postgres_url}&sslmode=require", "the store URL has an option the ledger does not"),
        (f"{POSTGRES}?schema=Town", "the schema 'Town' is not a name the ledger takes"),
    ):
        result = oneruler("report", "groups", "--db", url)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"Error: {message}")


def test_a_read_only_server_reads_the_record_and_says_why_reports_need_the_primary(
    sample: str,
) -> None:
    """A user whose transactions are read-only meets what a hot standby imposes."""
    server, schema = parse_postgres_url(sample), schema_of(sample)
    role = f"ro_{schema}"
    with admin(sample) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        try:
            conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            # Its privileges are those of the writers: only the server keeps it from writing.
            conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}")
            url = f"postgresql://{role}@{server.where}/{server.dbname}?schema={schema}"
            assert oneruler("verify", "--db", url).stdout.startswith("OK: 46 events")
            history = oneruler("household", "history", "XC-0001", "--db", url)
            assert history.exit_code == 0
            shown = oneruler("household", "show", "XC-0001", "--db", url)
            assert (shown.exit_code, shown.stdout) == (2, "")
            assert shown.stderr == (
                f"Error: the PostgreSQL server at {server.where} takes no writes here (a "
                "replica, or a user that may only read), and the read models are brought up "
                "to date by writing: ask the primary for household show, reports and "
                "bulletins; verify, prove and household history work read-only.\n"
            )
            signed = oneruler(
                "agreement", "sign", "--household", "XC-0004", "--agreement", "A-0004",
                "--method", "monetary", "--amount", "399100.00", "--actor", "s-002",
                "--at", "2018-03-20T10:00:00+08:00", "--db", url,
                # Logged in on the primary: the token is read here, the write refused.
                env={"ONERULER_TOKEN": token_for(sample, "s-002")},
            )  # fmt: skip
            assert (signed.exit_code, signed.stdout) == (2, "")
            assert signed.stderr == (
                f"Error: the PostgreSQL server at {server.where} takes no writes here (a "
                "replica, or a user that may only read); send the command to the primary.\n"
            )
        finally:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_read_models_follow_across_a_gap_in_notification_ids(sample: str) -> None:
    one, two = open_ledger(sample), open_ledger(sample)
    try:
        one.read_models.catch_up()
        late = UnitOfWork(two)
        late.run(attach("hukou", "late-1"), session_of("s-002"))
        execute_as_actor(one, attach("id_card", "first-1"))
        with pytest.raises(ConflictError):
            two.commit(late)
        execute_as_actor(two, attach("hukou", "late-1"))
        ids = [n.id for n in one.recorder.select_notifications(SAMPLE_EVENTS, 10)]
        assert ids == [SAMPLE_EVENTS, SAMPLE_EVENTS + 1, SAMPLE_EVENTS + 3]
        shown = Reads(one).household("XC-0004", END)
        assert shown["events"] == Reads(two).household("XC-0004", END)["events"] == 5
        assert verification.verify(recorder_of(one)).ok
        followed = read_models(one)
        one.read_models.rebuild()
        assert read_models(one) == followed
    finally:
        one.close()
        two.close()


def id_number_with_check(body: str) -> str:
    """17 digits and their GB 11643 check digit."""
    return body + id_number_check(body)
