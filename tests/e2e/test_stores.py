"""What may hold a ledger: a store is a oneruler ledger by its own marker, and anything
else (another program's SQLite file, a schema with other tables, PostgreSQL's own
schemas) is refused by every command, in one sentence, and left exactly as it was."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.store import parse_postgres_url
from tests.conftest import POSTGRES, SAMPLE, postgres_schema
from tests.credentials import logged_in


def oneruler(*args: Any, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        input=input,
        env=logged_in(args, {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None}),
    )


def admin_connection(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    store = parse_postgres_url(url)
    try:
        return psycopg.connect(
            host=store.host,
            port=store.port,
            dbname=store.dbname,
            user=store.user,
            password=store.password or None,
            connect_timeout=3,
            autocommit=True,
        )
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL is not reachable: {e}")


@pytest.fixture
def server() -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with admin_connection(POSTGRES) as conn:
        yield conn


# --- PostgreSQL's own schemas ------------------------------------------------------


def catalogue(conn: psycopg.Connection[tuple[Any, ...]], schema: str) -> list[tuple[Any, ...]]:
    """Every relation of a schema with its kind: what a ledger's tables would add to."""
    return conn.execute(
        "SELECT c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1",
        [schema],
    ).fetchall()


@pytest.mark.parametrize(
    "schema", ["information_schema", "pg_catalog", "pg_toast", "pg_temp_1", "pg_anything"]
)
def test_a_system_schema_is_refused_by_name_and_left_as_it_was(
    server: psycopg.Connection[tuple[Any, ...]], schema: str
) -> None:
    url = f"{POSTGRES.partition('?')[0]}?schema={schema}"
    before = catalogue(server, schema)
    sentence = (
        f"Error: the schema {schema} is one of PostgreSQL's own (a system schema); "
        "keep a ledger in a schema of its own, such as ?schema=xingcheng.\n"
    )
    for args in (
        ("ingest", SAMPLE, "--db", url),
        ("household", "show", "XC-0001", "--db", url),
        ("verify", "--db", url),
        ("copy", "--from", url, "--to", "unused.db"),
    ):
        result = oneruler(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", sentence), args
    assert catalogue(server, schema) == before


# --- another program's store ----------------------------------------------------------

# An eventsourcing application of someone else's, run as a script: its events' topics
# are __main__:Dog.Registered and so on, in the library's own stored_events table.
DOG_SCHOOL = """
import sys
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name):
        self.name = name
        self.tricks = []

    @event("TrickAdded")
    def add_trick(self, trick):
        self.tricks.append(trick)

class DogSchool(Application):
    pass

school = DogSchool(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": sys.argv[1]})
dog = Dog("Fido")
dog.add_trick("roll over")
school.save(dog)
"""


def dog_school(path: Path) -> Path:
    subprocess.run([sys.executable, "-c", DOG_SCHOOL, str(path)], check=True, timeout=60)
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of a folder and the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sample_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    assert oneruler("ingest", SAMPLE, "--db", path).exit_code == 0
    return path


def refused_everywhere(db: str, sentence: str, ledger: Path, elsewhere: Path) -> None:
    """Every kind of command, reading or writing db, or copying it or into it, refused."""
    for args in (
        ("ingest", SAMPLE, "--db", db),
        ("group", "create", "--group", "G9", "--name", "九组", "--db", db, "--actor", "admin"),
        ("household", "show", "XC-0001", "--db", db),
        ("household", "history", "XC-0001", "--db", db),
        ("report", "groups", "--db", db),
        ("complaint", "list", "--db", db),
        ("verify", "--db", db),
        ("projections", "rebuild", "--db", db),
        ("copy", "--from", db, "--to", elsewhere / "copy.db"),
        ("copy", "--from", ledger, "--to", db),
    ):
        result = oneruler(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", sentence), args
    assert not (elsewhere / "copy.db").exists()


def test_another_eventsourcing_applications_file_is_refused_and_left_as_it_was(
    tmp_path: Path, sample_ledger: Path
) -> None:
    folder = tmp_path / "school"
    folder.mkdir()
    school = dog_school(folder / "school.db")
    with closing(sqlite3.connect(f"file:{school}?immutable=1", uri=True)) as conn:
        assert conn.execute("SELECT topic FROM stored_events").fetchall() == [
            ("__main__:Dog.Registered",),
            ("__main__:Dog.TrickAdded",),
        ]
    before = snapshot(folder)
    refused_everywhere(
        str(school),
        f"Error: {school} is not a oneruler ledger (it holds another program's tables: "
        "stored_events); oneruler leaves it as it is: check --db, or give a new file.\n",
        sample_ledger,
        tmp_path,
    )
    assert snapshot(folder) == before


def test_a_file_with_a_table_named_like_the_ledgers_is_refused_and_left_as_it_was(
    tmp_path: Path, sample_ledger: Path
) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    other = folder / "other.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE stored_events (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("CREATE TABLE merkle_leaves (x)")
        conn.execute("INSERT INTO stored_events (body) VALUES ('keep me')")
    before = snapshot(folder)
    refused_everywhere(
        str(other),
        f"Error: {other} is not a oneruler ledger (it holds another program's tables: "
        "merkle_leaves and stored_events); oneruler leaves it as it is: check --db, or give "
        "a new file.\n",
        sample_ledger,
        tmp_path,
    )
    assert snapshot(folder) == before


def schema_contents(conn: psycopg.Connection[tuple[Any, ...]], schema: str) -> list[Any]:
    """The schema's relations, and every row of each of its tables."""
    contents: list[Any] = catalogue(conn, schema)
    for name, kind in catalogue(conn, schema):
        if kind == "r":
            rows = conn.execute(f'SELECT * FROM "{schema}"."{name}" ORDER BY 1').fetchall()
            contents.append((name, rows))
    return contents


def test_a_schema_holding_another_programs_tables_is_refused_and_left_as_it_was(
    tmp_path: Path, sample_ledger: Path
) -> None:
    with postgres_schema() as url, admin_connection(url) as conn:
        schema = parse_postgres_url(url).schema
        conn.execute(f'CREATE TABLE "{schema}".stored_events (id serial PRIMARY KEY, body text)')
        conn.execute(f"INSERT INTO \"{schema}\".stored_events (body) VALUES ('keep me')")
        before = schema_contents(conn, schema)
        refused_everywhere(
            url,
            f"Error: schema {schema} of database test on 127.0.0.1:5432 is not a oneruler ledger "
            "(it holds another program's tables: stored_events); oneruler leaves it as it is: "
            "check --db, or give a new schema.\n",
            sample_ledger,
            tmp_path,
        )
        assert schema_contents(conn, schema) == before


# --- ledgers made before the marker ------------------------------------------------


def drop_marker(url: str) -> None:
    """What a ledger made before the marker looks like: everything else is the same."""
    if url.startswith("postgresql"):
        with admin_connection(url) as conn:
            conn.execute(f'DROP TABLE "{parse_postgres_url(url).schema}".oneruler_ledger')
    else:
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
            conn.execute("DROP TABLE oneruler_ledger")


def marker(url: str) -> list[tuple[str, str]] | None:
    if url.startswith("postgresql"):
        with admin_connection(url) as conn:
            schema = parse_postgres_url(url).schema
            found = conn.execute("SELECT to_regclass(%s)", [f'"{schema}".oneruler_ledger'])
            if found.fetchone() == (None,):
                return None
            rows = conn.execute(f'SELECT key, value FROM "{schema}".oneruler_ledger ORDER BY 1')
            return rows.fetchall()
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        try:
            return conn.execute("SELECT key, value FROM oneruler_ledger ORDER BY 1").fetchall()
        except sqlite3.OperationalError:
            return None


def test_a_new_ledger_carries_its_marker_and_one_made_before_it_keeps_working(
    store_url: str,
) -> None:
    assert oneruler("ingest", SAMPLE, "--db", store_url).exit_code == 0
    assert marker(store_url) == [("format", "oneruler"), ("version", "2")]
    root = oneruler("prove-consistency", 1, 38, "--db", store_url, "--json").stdout
    drop_marker(store_url)
    shown = oneruler("household", "show", "XC-0001", "--db", store_url, "--json")
    assert shown.exit_code == 0, shown.output
    assert oneruler("verify", "--db", store_url).exit_code == 0
    assert oneruler("prove-consistency", 1, 38, "--db", store_url, "--json").stdout == root
    # Opened with the right to write (as a read is, to keep its read models), it was
    # marked as a new ledger is.
    assert marker(store_url) == [("format", "oneruler"), ("version", "2")]
    written = oneruler(
        "group", "create", "--group", "G9", "--name", "九组", "--db", store_url, "--actor", "admin"
    )
    assert written.exit_code == 0, written.output


def test_a_ledger_of_a_later_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    assert oneruler("ingest", SAMPLE, "--db", path).exit_code == 0
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE oneruler_ledger SET value = '3' WHERE key = 'version'")
    result = oneruler("household", "show", "XC-0001", "--db", path)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {path} is a ledger of format version 3, made by a later oneruler than this "
        "one (which reads version 2); open it with that version.\n",
    )


def test_an_empty_file_or_schema_becomes_a_ledger_and_is_no_ledger_to_read(
    store_url: str, tmp_path: Path
) -> None:
    if not store_url.startswith("postgresql"):
        path = store_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA user_version = 7")  # a file with no tables, not zero bytes
        assert Path(path).stat().st_size > 0
    shown = oneruler("household", "show", "XC-0001", "--db", store_url)
    assert (shown.exit_code, shown.stdout) == (2, "")
    assert shown.stderr.endswith(
        "; check --db (or ONERULER_DB), or begin a new ledger with oneruler staff "
        "set-password admin.\n"
    )
    assert oneruler("ingest", SAMPLE, "--db", store_url).exit_code == 0
    assert marker(store_url) == [("format", "oneruler"), ("version", "2")]


def test_a_ledger_made_before_the_marker_reads_on_a_replica_which_cannot_mark_it() -> None:
    """A user whose transactions are read-only meets what a hot standby imposes: the
    ledger is read as it is, and the primary marks it when it next writes."""
    with postgres_schema() as url, admin_connection(url) as conn:
        assert oneruler("ingest", SAMPLE, "--db", url).exit_code == 0
        drop_marker(url)
        server, schema = parse_postgres_url(url), parse_postgres_url(url).schema
        role = f"ro_{schema}"
        conn.execute(f"CREATE ROLE {role} LOGIN")
        try:
            conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
            replica = f"postgresql://{role}@{server.where}/{server.dbname}?schema={schema}"
            verified = oneruler("verify", "--db", replica)
            assert verified.stdout.startswith("OK: 46 events"), verified.output
            assert oneruler("household", "history", "XC-0001", "--db", replica).exit_code == 0
            assert marker(url) is None
        finally:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
        assert oneruler("verify", "--db", url).exit_code == 0
        assert marker(url) == [("format", "oneruler"), ("version", "2")]
