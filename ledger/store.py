"""Where the ledger lives: a store URL (or a bare path) turned into the library's
persistence settings, and the ledger opened there."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from eventsourcing.persistence import PersistenceError

from domain.errors import InvalidInput
from ledger import environment, marker
from ledger.application import Clock, Ledger, utc_now
from ledger.environment import StoreProblem
from ledger.settings import DEFAULT, Settings

DEFAULT_URL = "sqlite:///oneruler.db"

# Seconds to wait for a PostgreSQL server: a wrong port or a stopped server is
# reported at once rather than after the library's default of 30.
CONNECT_TIMEOUT = 3

# What to do where a command finds no ledger: a mistyped --db, or a ledger to begin (its
# administrator's password first; an ingest needs a credential, which a ledger that does
# not exist cannot give).
BEGIN_ONE = (
    "check --db (or ONERULER_DB), or begin a new ledger with oneruler staff set-password admin."
)
POSTGRES_USAGE = "write postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]"
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StoreUnavailable(StoreProblem):
    """The store cannot be reached or refused the connection (exit 2)."""


@dataclass(frozen=True)
class PostgresStore:
    """A PostgreSQL store URL, taken apart."""

    user: str
    password: str
    host: str
    port: int
    dbname: str
    schema: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def display(self) -> str:
        """The URL as it may be shown: never the password."""
        secret = ":***" if self.password else ""
        query = "" if self.schema == "public" else f"?schema={self.schema}"
        return f"postgresql://{self.user}{secret}@{self.where}/{self.dbname}{query}"

    def env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": "ledger.postgres:LedgerPostgresRecorder",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            # A command needs one connection, now and then a second; the pool would
            # otherwise open five per process.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "4",
            # The library ends a session idle inside a transaction after 5 s; reports
            # compute between the statements of one read.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
        }


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("ONERULER_DB") or DEFAULT_URL


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def parse_postgres_url(url: str) -> PostgresStore:
    """postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        raise InvalidInput(f"the store URL's port is not a number; {POSTGRES_USAGE}.") from None
    dbname = unquote(parts.path.removeprefix("/"))
    if not parts.username or not parts.hostname or not dbname or "/" in dbname:
        missing = "user" if not parts.username else "host" if not parts.hostname else "database"
        raise InvalidInput(f"the store URL names no {missing}; {POSTGRES_USAGE}.")
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"schema"})
    if unknown or len(options.get("schema", [])) > 1:
        what = ", ".join(unknown) or "schema twice"
        raise InvalidInput(
            f"the store URL has an option the ledger does not know ({what}); "
            "the one option is ?schema=NAME."
        )
    schema = options.get("schema", ["public"])[0]
    if is_system_schema(schema):
        raise InvalidInput(
            f"the schema {schema} is one of PostgreSQL's own (a system schema); keep a ledger "
            "in a schema of its own, such as ?schema=xingcheng."
        )
    if not _SCHEMA.fullmatch(schema):
        raise InvalidInput(
            f"the schema {schema!r} is not a name the ledger takes; use lower-case letters, "
            "digits and _ (not starting with a digit), such as ?schema=xingcheng."
        )
    return PostgresStore(
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        host=parts.hostname,
        port=port,
        dbname=dbname,
        schema=schema,
    )


def is_system_schema(schema: str) -> bool:
    """PostgreSQL's own schemas: its catalogue, the SQL standard's views of it, and
    every name it reserves (pg_toast, pg_temp_N, ...). A ledger's tables there would
    sit among the server's own."""
    return schema.lower() == "information_schema" or schema.lower().startswith("pg_")


def _sqlite_path(url: str) -> str:
    return _sqlite_target(url)[0]


def _sqlite_target(url: str) -> tuple[str, bool]:
    """The file a SQLite URL (or a bare path) names, and whether it asks to be opened
    read-only (sqlite:///PATH?mode=ro; a bare path has no options, as a file's name
    may hold a '?')."""
    if url.startswith("sqlite://"):
        path, _, query = url.removeprefix("sqlite://").partition("?")
        path = path.removeprefix("/") if path.startswith("/") else path
        if not path:
            raise InvalidInput(f"the store URL {url} names no file; write sqlite:///PATH.")
        if query not in ("", "mode=ro"):
            raise InvalidInput(
                f"the store URL {url} has an option the ledger does not know ({query}); "
                "the one option is ?mode=ro, to open the ledger read-only."
            )
        return path, query == "mode=ro"
    if "://" in url:
        raise InvalidInput(
            f"the store URL {url} is not one the ledger knows; "
            "use sqlite:///PATH (or a bare path) or postgresql://..."
        )
    return url, False


def store_env(url: str) -> dict[str, str]:
    """The persistence settings for a store URL: sqlite:///PATH, a bare path, or
    postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]."""
    if is_postgres(url):
        return parse_postgres_url(url).env()
    path, read_only = _sqlite_target(url)
    return _sqlite_env(path, read_only)


def _sqlite_env(path: str, read_only: bool) -> dict[str, str]:
    """The library's settings for a SQLite file. Read-only: opened through a URI that
    never writes (mode=ro), with no table created; immutable as well where nothing can
    be written beside the file (a read-only folder or mount, with no write-ahead log
    there), since SQLite could not make its shared-memory file there, and nothing else
    can write the file meanwhile either."""
    if not read_only:
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK) and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": uri,
        "CREATE_TABLE": "no",
    }


def writable(file: Path) -> bool:
    """Whether this process may write a SQLite ledger file: the file, and the folder
    for the write-ahead log and its index unless both are there already. False on a
    read-only mount too (the system refuses writing there, whoever asks)."""
    if not os.access(file, os.W_OK):
        return False
    beside = Path(f"{file}-wal").exists() and Path(f"{file}-shm").exists()
    return beside or os.access(file.parent, os.W_OK)


def display_url(url: str) -> str:
    """A store URL as it may be printed (a PostgreSQL password is never shown)."""
    return parse_postgres_url(url).display() if is_postgres(url) else url


def store_name(url: str) -> str:
    """A short name for the ledger: the file's name without extension, or the
    PostgreSQL schema (the database's name for the public schema)."""
    if is_postgres(url):
        store = parse_postgres_url(url)
        return store.dbname if store.schema == "public" else store.schema
    return Path(_sqlite_path(url)).stem


def connection_problem(store: PostgresStore, message: str) -> str:
    """One sentence for a failed connection: what went wrong and what to check."""
    text = message.lower()
    if "connection refused" in text or "no such file or directory" in text:
        return (
            f"could not connect to PostgreSQL at {store.where}: is the server running? "
            "check the host and port in --db."
        )
    if "timeout expired" in text or "timed out" in text:
        return (
            f"could not connect to PostgreSQL at {store.where} within {CONNECT_TIMEOUT} "
            "seconds: is the server running and reachable from here? check the host and "
            "port in --db."
        )
    if "could not translate host name" in text or "name or service not known" in text:
        return f"there is no host {store.host}: check the host in --db."
    if "password authentication failed" in text or "no password supplied" in text:
        return (
            f"PostgreSQL at {store.where} refused the password of user {store.user}; "
            "check the user and password in --db."
        )
    if "role" in text and "does not exist" in text:
        return (
            f"PostgreSQL at {store.where} has no user {store.user}; check the user in --db, "
            f"or create the role (createuser {store.user})."
        )
    if "database" in text and "does not exist" in text:
        return (
            f"database {store.dbname} does not exist on {store.where}; create it "
            f"(createdb {store.dbname}) or check --db."
        )
    detail = message.strip().splitlines()[-1].split("FATAL:")[-1].strip().rstrip(".")
    return f"could not connect to PostgreSQL at {store.where} ({detail}); check --db."


def check_postgres(
    store: PostgresStore,
    *,
    must_exist: bool,
    allow_incomplete: bool = False,
) -> None:
    """Connect once, directly, so that a wrong URL or a stopped server is one clear
    sentence (the library's pool would retry until its timeout and say less); and
    look at what the schema holds before the ledger is opened there, which would
    create its tables."""
    import psycopg  # here: only a postgresql:// store pays for importing it
    from psycopg.sql import SQL, Identifier

    try:
        with psycopg.connect(
            host=store.host,
            port=store.port,
            dbname=store.dbname,
            user=store.user,
            password=store.password or None,
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
        ) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                    [store.schema],
                )
            ]
            rows = None
            if marker.TABLE in tables:
                rows = conn.execute(
                    SQL("SELECT key, value FROM {0}.{1}").format(
                        Identifier(store.schema), Identifier(marker.TABLE)
                    )
                ).fetchall()
    except psycopg.OperationalError as e:
        raise StoreUnavailable(connection_problem(store, str(e))) from None
    found = marker.recognise(
        tables, dict(rows) if rows is not None else None, marker.LEGACY_POSTGRES
    )
    where = f"schema {store.schema} of database {store.dbname} on {store.where}"
    _check_found(
        found,
        where,
        "a new schema",
        name=store.display(),
        delete="drop the schema",
        must_exist=must_exist,
        allow_incomplete=allow_incomplete,
        missing=f"there is no ledger in {where}; {BEGIN_ONE}",
    )


def _check_found(
    found: marker.Found,
    where: str,
    remedy: str,
    *,
    name: str,
    delete: str,
    must_exist: bool,
    allow_incomplete: bool,
    missing: str,
) -> None:
    """Refuse what no command may open: another program's store, a later format's
    ledger, nothing at all to read."""
    refused = marker.refusal(found, where, remedy)
    if refused is not None:
        raise InvalidInput(refused)
    if found.kind == "empty" and must_exist:
        raise InvalidInput(missing)
    if found.copying is not None and not allow_incomplete:
        raise InvalidInput(marker.unfinished(found.copying, name, delete))


def open_ledger(
    url: str | None = None,
    *,
    must_exist: bool = False,
    clock: Clock = utc_now,
    allow_incomplete: bool = False,
    settings: Settings = DEFAULT,
) -> Ledger:
    """Open (or, for writing, create) the ledger at a store URL, tuned by settings
    (ledger/settings.py). A store that holds anything but a oneruler ledger is refused
    before anything is written to it."""
    resolved = resolve_url(url)
    if is_postgres(resolved):
        store = parse_postgres_url(resolved)
        check_postgres(store, must_exist=must_exist, allow_incomplete=allow_incomplete)
        try:
            return Ledger(env=store.env(), clock=clock, settings=settings)
        except PersistenceError as e:
            raise StoreUnavailable(
                environment.problem(e, resolved)
                or f"the ledger at {store.display()} cannot be opened ({e}); check --db."
            ) from None
    path, read_only = _sqlite_target(resolved)
    if path == ":memory:" or "mode=memory" in path:
        raise InvalidInput(
            "an in-memory ledger keeps nothing; give a file such as sqlite:///oneruler.db."
        )
    file = Path(path)
    if must_exist and not file.exists():
        raise InvalidInput(f"there is no ledger at {path}; {BEGIN_ONE}")
    if not file.parent.is_dir():
        raise InvalidInput(
            f"the folder {file.parent} does not exist; create it or give another --db."
        )
    if file.is_dir():
        raise InvalidInput(f"{path} is a folder; give a ledger file with --db.")
    if file.exists() and not file.is_file():
        # Looked at without opening it: opening a named pipe waits for a writer forever.
        raise InvalidInput(
            f"{path} is {_kind_of(file)}, not a ledger file; give a ledger file with --db."
        )
    if not file.exists() and not os.access(file.parent, os.W_OK):
        raise StoreProblem(
            f"cannot create the ledger {path}: its folder {file.parent} cannot be written here "
            "(a read-only folder or mount); give a --db where it can be."
        )
    if file.exists() and (must_exist or file.stat().st_size > 0):
        _check_found(
            check_sqlite_ledger(path),
            path,
            "a new file",
            name=resolved,
            delete="delete the file",
            must_exist=must_exist,
            allow_incomplete=allow_incomplete,
            missing=f"{path} holds no oneruler ledger; {BEGIN_ONE}",
        )
    # A ledger that cannot be written here (a read-only file or mount) is opened
    # read-only: reads and verify work, and a write says why it cannot be made.
    read_only = read_only or (file.exists() and not writable(file))
    return Ledger(env=_sqlite_env(path, read_only), clock=clock, settings=settings)


def _kind_of(file: Path) -> str:
    """What a path that is not a regular file is, in words."""
    mode = file.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"  # pragma: no cover - no other kind is made by hand


def read_only_uri(path: str) -> str:
    """A URI that opens a SQLite file without writing to it or beside it. Without a
    write-ahead log beside it the file is the whole database, read as it is
    (immutable: no lock, no shared-memory file created next to it); with one, SQLite
    reads the log too, through the files already there."""
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    return uri if Path(f"{path}-wal").exists() else f"{uri}&immutable=1"


def check_sqlite_ledger(path: str) -> marker.Found:
    """What an existing file holds, read without changing a byte of it: a ledger is
    opened, anything else is refused, never given the ledger's tables."""
    try:
        with closing(sqlite3.connect(read_only_uri(path), uri=True)) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                    "AND name NOT LIKE 'sqlite^_%' ESCAPE '^'"
                )
            ]
            rows = None
            if marker.TABLE in tables:
                rows = conn.execute(f"SELECT key, value FROM {marker.TABLE}").fetchall()
    except sqlite3.Error as e:
        # A full disk or a failing one is said as such: the ledger is not unreadable.
        said = environment.problem(e, path)
        if said is not None:
            raise StoreProblem(said) from None
        raise InvalidInput(
            f"{path} is not a ledger the ledger can read ({e}); check --db."
        ) from None
    return marker.recognise(tables, dict(rows) if rows is not None else None, marker.LEGACY_SQLITE)
