"""`oneruler bench`: a generated programme measured phase by phase, side by side
with plain sqlite3 inserting rows of the same sizes. Each phase runs in a process
of its own, so that its peak memory (RSS) is its own."""

from __future__ import annotations

import contextlib
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

PHASES = (
    "generate",
    "ingest",
    "raw",
    "rebuild",
    "verify",
    "audit",
    "latency",
    "startup",
    "reads_during_ingest",
)
# Households whose audit bundles the audit phase writes and checks.
AUDITED = 200
RAW_BATCH = 1000


Figures = dict[str, Any]


# --- the phases, each run as `python -m simulation.bench PHASE DIR HOUSEHOLDS [DB]` ----


def generate(directory: Path, households: int, _db: str) -> Figures:
    from simulation.programme import Programme

    started = time.perf_counter()
    lines = 0
    with (directory / "programme.jsonl").open("w", encoding="utf-8") as out:
        for command in Programme(households, max(1, min(12, households // 100) or 1), seed=7):
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
            lines += 1
    return dict(commands=lines, seconds=time.perf_counter() - started)


def ingest(directory: Path, _households: int, db: str) -> Figures:
    import secrets

    from ledger.identity import Identity
    from ledger.ingest import ingest as run_ingest
    from ledger.reads import Reads
    from ledger.store import open_ledger
    from simulation.programme import last_day

    ledger = open_ledger(db)
    # The bench holds the database: it sets the built-in admin's password and logs in,
    # as a person would before ingesting (oneruler login admin); the ingest proper
    # then authenticates the token, once.
    identity = Identity(ledger)
    password = secrets.token_urlsafe(16)
    identity.set_password("admin", password, by=None)
    token, _ = identity.login("admin", password)
    wal = _WalWatch(db)
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with wal, (directory / "programme.jsonl").open("rb") as lines:
        report = run_ingest(ledger, lines, identity.authenticate(token))
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    events = ledger.recorder.max_notification_id() or 0
    bulletin = Reads(ledger).group_report(last_day())
    ledger.close()
    return dict(
        commands=report.applied,
        rejected=report.rejected,
        events=events,
        seconds=seconds,
        commands_per_second=report.applied / seconds,
        events_per_second=events / seconds,
        bulletin_total=bulletin["total"],
        # The read models' second process, past settings.follower_after commands (0: none):
        # the peak of the children this process waited for.
        follower_peak_rss_mb=_children_peak_rss_mb(),
        # Processor time (user and system) of this process and of the follower: how busy
        # each was, against `seconds`.
        cpu_seconds=cpu,
        follower_cpu_seconds=_cpu_seconds(resource.RUSAGE_CHILDREN),
        # The largest the SQLite WAL file was seen (sampled; 0 on PostgreSQL).
        wal_peak_mb=wal.peak / (1 << 20),
    )


class _WalWatch:
    """Samples the size of a SQLite ledger's WAL file while a phase runs."""

    def __init__(self, db: str) -> None:
        self.path = Path(_sqlite_path(db) + "-wal") if _is_sqlite(db) else None
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while True:
            self._sample()
            if self._done.wait(0.25):
                return

    def _sample(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.peak = max(self.peak, self.path.stat().st_size)

    def __enter__(self) -> _WalWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self._sample()


def raw(directory: Path, _households: int, db: str) -> Figures:
    """Plain sqlite3: the same number of rows, of the same sizes, into a table of the
    same shape and indexes, 1,000 rows a transaction, WAL, synchronous=FULL."""
    source = sqlite3.connect(_sqlite_path(db))
    target_path = directory / "raw.db"
    target_path.unlink(missing_ok=True)
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=FULL")
    target.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    rng = random.Random(1)
    timed = 0.0
    rows_done = 0
    cursor = source.execute(
        "SELECT originator_id, originator_version, topic, length(state) FROM stored_events "
        "ORDER BY rowid"
    )
    while page := cursor.fetchmany(RAW_BATCH):
        rows = [(o, v, t, rng.randbytes(n)) for o, v, t, n in page]
        started = time.perf_counter()
        target.execute("BEGIN")
        target.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
        target.execute("COMMIT")
        timed += time.perf_counter() - started
        rows_done += len(rows)
    target.close()
    source.close()
    target_path.unlink(missing_ok=True)
    return dict(rows=rows_done, seconds=timed, rows_per_second=rows_done / timed)


def rebuild(_directory: Path, _households: int, db: str) -> Figures:
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    events = ledger.read_models.rebuild()
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    notes = ledger.read_models.notes
    elsewhere = ledger.read_models.folded_elsewhere
    ledger.close()
    if notes:  # a figure measured with the work done otherwise would mislead
        raise RuntimeError(notes[0])
    return dict(
        events=events,
        seconds=seconds,
        events_per_second=events / seconds,
        # The share of the events the second process folded (0: none started).
        worker_share=elsewhere / events if events else 0.0,
        worker_peak_rss_mb=_children_peak_rss_mb(),
        cpu_seconds=cpu,
        # The children this process waited for: the second process, and for a rebuild
        # also the read-ahead's (about 0.2 s for an 8.6 GB file).
        worker_cpu_seconds=_cpu_seconds(resource.RUSAGE_CHILDREN),
    )


def verify(_directory: Path, _households: int, db: str) -> Figures:
    from ledger.log import verification
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    events, seconds = verification.timed_verify(ledger.ledger_recorder, ledger.sharable_settings)
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    ledger.close()
    return dict(
        events=events,
        seconds=seconds,
        events_per_second=events / seconds,
        worker_peak_rss_mb=_children_peak_rss_mb(),
        cpu_seconds=cpu,
        worker_cpu_seconds=_cpu_seconds(resource.RUSAGE_CHILDREN),
    )


def audit(_directory: Path, households: int, db: str) -> Figures:
    """The completeness map and the auditor's side: the first checkpoint (its map head
    built over the whole log), AUDITED households' bundles written and checked, and
    verify again, now with a map head to recompute."""
    from ledger.checkpoint import generate_key, parse_signer
    from ledger.log import audit as auditing
    from ledger.log import verification
    from ledger.reads import Reads
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    signer = parse_signer(generate_key("bench.oneruler.example/log")[0])
    started = time.perf_counter()
    checkpoint = ledger.sign_checkpoint([signer])
    checkpoint_seconds = time.perf_counter() - started
    reads = Reads(ledger)
    rng = random.Random(5)
    codes = [_code(n, households) for n in rng.sample(range(1, households + 1), AUDITED)]
    sizes, proving, checking = [], [], []
    for code in codes:
        started = time.perf_counter()
        _, document = reads.bundle(code)
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        proving.append(time.perf_counter() - started)
        sizes.append(len(text.encode("utf-8")) + 1)  # as prove writes it, with its newline
        started = time.perf_counter()
        auditing.audit_verify(json.loads(text), signer.verifier())
        checking.append(time.perf_counter() - started)
    events, seconds = verification.timed_verify(ledger.ledger_recorder, ledger.sharable_settings)
    ledger.close()
    ordered = sorted(sizes)
    return dict(
        checkpoint_seconds=checkpoint_seconds,
        log_size=checkpoint.size,
        bundle_bytes={
            "median": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "max": ordered[-1],
        },
        prove=_percentiles(proving),
        audit_verify=_percentiles(checking),
        # verify as in the verify phase, plus the map head's map recomputed from the log.
        verify_events=events,
        verify_seconds=seconds,
        worker_peak_rss_mb=_children_peak_rss_mb(),
    )


def _code(number: int, households: int) -> str:
    return f"XC-{number:04d}" if households < 10_000 else f"XC-{number:07d}"


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _children_peak_rss_mb() -> float:
    """The peak memory of the second process this phase waited for (0: none), MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"median_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000}


def latency(_directory: Path, households: int, db: str) -> Figures:
    from ledger.reads import Reads
    from ledger.store import open_ledger
    from simulation.programme import START, last_day

    ledger = open_ledger(db)
    ledger.read_models.catch_up()
    rng = random.Random(3)
    codes = [_code(rng.randint(1, households), households) for _ in range(1000)]
    now = last_day()
    reads = Reads(ledger)
    show = _timed(lambda code: reads.household(code, now), codes)
    first = last_day() - timedelta(days=(last_day().date() - START).days)
    moments = [first + timedelta(seconds=rng.randrange(0, 30 * 86_400)) for _ in range(1000)]
    report = _timed(reads.group_report, moments)
    ledger.close()
    return dict(household_show=_percentiles(show), report_groups=_percentiles(report))


def _timed(call: Callable[[Any], object], arguments: list[Any]) -> list[float]:
    samples = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        samples.append(time.perf_counter() - started)
    return samples


def startup(_directory: Path, households: int, db: str) -> Figures:
    """`oneruler household show` as a whole process, start-up included."""
    code = "XC-0001" if households < 10_000 else "XC-0000001"
    script = Path(sys.executable).parent / "oneruler"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "cli"]
    command = [*program, "household", "show", code, "--db", db, "--json"]
    samples = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return dict(household_show_process=_percentiles(samples))


def reads_during_ingest(directory: Path, households: int, db: str) -> Figures:
    """`household show` (the read, in a process that keeps the ledger open, as a web
    server would) again and again while the same programme is ingested into a second,
    empty store by another process: how long a read takes while a long ingest and its
    follower write (issue 19: reads waited for the ingest to end)."""
    from domain.errors import NotFound
    from ledger.reads import Reads
    from simulation.programme import last_day

    url = _second_store(directory, db)
    try:
        ingesting = subprocess.Popen(
            [sys.executable, "-m", "simulation.bench", "ingest", str(directory), "0", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ledger = _opened_once_there(url, ingesting)
        rng = random.Random(11)
        now = last_day()
        reads = Reads(ledger)
        samples: list[float] = []
        found = 0
        # At least one read, should a small ingest end before the first.
        while not samples or ingesting.poll() is None:
            code = _code(rng.randint(1, households), households)
            started = time.perf_counter()
            try:
                reads.household(code, now)
                found += 1
            except NotFound:  # not registered yet: a read all the same
                pass
            samples.append(time.perf_counter() - started)
            time.sleep(0.01)
        out, err = ingesting.communicate()
        ledger.close()
        if ingesting.returncode != 0:
            last = err.strip().splitlines()[-1] if err.strip() else "no message"
            raise RuntimeError(f"the ingest read during failed: {last}")
        ingested = json.loads(out.strip().splitlines()[-1])
    finally:
        _drop_second_store(directory, db, url)
    return dict(
        household_show=_percentiles(samples),
        reads=len(samples),
        found=found,
        ingest_seconds=ingested["seconds"],
        ingest_commands_per_second=ingested["commands_per_second"],
    )


def _opened_once_there(url: str, ingesting: subprocess.Popen[str]) -> Any:
    """The ledger at url, opened as soon as the ingesting process has made it."""
    from domain.errors import DomainError
    from ledger.store import open_ledger

    while True:
        ended = ingesting.poll() is not None
        try:
            return open_ledger(url, must_exist=True)
        except DomainError:
            if ended:
                raise
            time.sleep(0.05)


def _second_store(directory: Path, db: str) -> str:
    """An empty store beside the bench's own for the ingest the reads run during: a
    SQLite file in the folder, or a schema of its own on the same PostgreSQL server."""
    if _is_sqlite(db):
        path = directory / "reads-during-ingest.db"
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return str(path)
    from ledger.store import parse_postgres_url

    store = parse_postgres_url(db)
    url = f"{db.partition('?')[0]}?schema={store.schema}_reads"[:200]
    _check_empty(url)
    return url


def _drop_second_store(directory: Path, db: str, url: str) -> None:
    if _is_sqlite(db):
        for leftover in (Path(url), Path(f"{url}-wal"), Path(f"{url}-shm")):
            leftover.unlink(missing_ok=True)
        return
    import psycopg
    from psycopg.sql import SQL, Identifier

    from ledger.store import parse_postgres_url

    store = parse_postgres_url(url)
    with psycopg.connect(
        host=store.host,
        port=store.port,
        dbname=store.dbname,
        user=store.user,
        password=store.password or None,
        autocommit=True,
    ) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(store.schema)))


def _sqlite_path(db: str) -> str:
    return db.removeprefix("sqlite:///") if db.startswith("sqlite:///") else db


# --- the parent: runs every phase and gathers the figures ---------------------------


def run(
    households: int,
    directory: Path,
    db: str | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every phase in a child process; return the figures, with each phase's
    peak memory (RSS, in MB)."""
    directory.mkdir(parents=True, exist_ok=True)
    url = db or str(directory / "bench.db")
    if db is not None:
        _check_empty(db)
    figures: dict[str, Any] = {"households": households, "store": _store_name(url)}
    for phase in PHASES:
        if phase == "raw" and not _is_sqlite(url):
            continue  # the baseline is plain sqlite3
        if on_phase is not None:
            on_phase(phase)
        process = subprocess.Popen(
            [sys.executable, "-m", "simulation.bench", phase, str(directory), str(households), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out, err = process.communicate()
        if process.returncode != 0:
            last = err.strip().splitlines()[-1] if err.strip() else "no message"
            raise RuntimeError(f"the {phase} phase failed: {last}")
        figures[phase] = json.loads(out.strip().splitlines()[-1])
    if "raw" in figures:
        figures["ingest_vs_raw"] = (
            figures["ingest"]["events_per_second"] / figures["raw"]["rows_per_second"]
        )
    return figures


def _check_empty(db: str) -> None:
    """Ingest would skip every command already applied: measure an empty store only."""
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    try:
        events = ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()
    if events:
        raise RuntimeError(
            f"the store at {db} already holds {events:,} events; give an empty one "
            "(for PostgreSQL a new ?schema=NAME)"
        )


def _is_sqlite(url: str) -> bool:
    return not url.startswith(("postgresql://", "postgres://"))


def _store_name(url: str) -> str:
    return "sqlite" if _is_sqlite(url) else "postgresql"


def _main(argv: list[str]) -> None:
    phase, directory, households, db = argv[0], Path(argv[1]), int(argv[2]), argv[3]
    functions: dict[str, Callable[[Path, int, str], Figures]] = {
        "generate": generate,
        "ingest": ingest,
        "raw": raw,
        "rebuild": rebuild,
        "verify": verify,
        "audit": audit,
        "latency": latency,
        "startup": startup,
        "reads_during_ingest": reads_during_ingest,
    }
    figures = functions[phase](directory, households, db)
    # The phase's own peak memory, as the kernel counts it (kilobytes on Linux).
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
