"""Shared fixtures: a fresh ledger file per test, a fresh store of either kind (a SQLite
file, or a PostgreSQL schema of its own), the sample programme, and a hypothesis
profile that keeps CI fast."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from ledger.application import Ledger
from ledger.store import open_ledger, parse_postgres_url

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
SAMPLE = EXAMPLES / "xingcheng-small.jsonl"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def ledger(db_path: Path) -> Iterator[Ledger]:
    app = open_ledger(str(db_path))
    yield app
    app.close()


@pytest.fixture
def sample_lines() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


# The PostgreSQL server the tests use (each test in a schema of its own); CI starts it.
POSTGRES = os.environ.get("ONERULER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty schema in the test database, dropped afterwards; its store URL.
    Close every ledger opened on it first: dropping waits for their locks."""
    server = parse_postgres_url(POSTGRES)
    try:
        admin = psycopg.connect(
            host=server.host,
            port=server.port,
            dbname=server.dbname,
            user=server.user,
            password=server.password or None,
            connect_timeout=3,
            autocommit=True,
        )
    except psycopg.OperationalError as e:
        reason = f"PostgreSQL is not reachable at {server.where}: {str(e).strip()}"
        if os.environ.get("CI"):  # CI has a server: not reaching it is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{POSTGRES.partition('?')[0]}?schema={schema}"
        finally:
            admin.execute("SET lock_timeout = '10s'")
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema of its own."""
    with postgres_schema() as url:
        yield url
