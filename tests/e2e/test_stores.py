"""What may hold a ledger: a store is a oneruler ledger by its own marker, and anything
else (another program's SQLite file, a schema with other tables, PostgreSQL's own
schemas) is refused by every command, in one sentence, and left exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.store import parse_postgres_url
from tests.conftest import POSTGRES, SAMPLE, postgres_schema


def oneruler(*args: Any, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        input=input,
        env={"ONERULER_DB": None, "ONERULER_ACTOR": None},
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
