"""The ledger's tuning in one place: batch sizes, page sizes and levels, thresholds
past which a second process helps, caches. One Settings object is given where the
ledger is opened (ledger.store.open_ledger(url, settings=...), as cosmicpython's
bootstrap is given its dependencies), kept by the Ledger, and passed from there to
what needs it: the read models, the recorder, the log's verification, the ingest, the
copy, and every second process (ledger/workers/), which gets the same settings as the
process that started it. Tests pass settings instead of patching globals.

Nothing here changes what the ledger records or what a read shows; only how fast,
in how much memory, and when a second process starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    # --- the read models (ledger/read_models.py) ------------------------------------
    # Events per page when following the log; rows per page a rebuild reads.
    page: int = 10_000
    # Aggregates folded and written at a time in a rebuild.
    rebuild_rows: int = 5_000
    # Events from which a rebuild folds some aggregates in a second process (it takes
    # about 0.3 s to start; ledger/workers/rebuild.py).
    rebuild_second_process_from: int = 200_000
    # Aggregates the rebuild's second process is let fold before this one starts its
    # own: none, but for tests, which see the two meet at every point.
    rebuild_head_start: int = 0
    # Aggregates this process folds between two looks at what the second one sent.
    rebuild_look_every: int = 64
    # Aggregates the second process folded that this one writes once so many wait.
    rebuild_write_from: int = 500
    # What the rebuild's second process may have sent and this one not taken in yet,
    # in chunks of about 4,000 households: bounded, so that memory is.
    rebuild_buffered_chunks: int = 32
    # Households a rebuild's second process folds between two collections of garbage.
    rebuild_collect_every: int = 5_000
    # Events missing from the read models that a read brings in itself even while
    # another process keeps them (about 70 ms of folding); more, and it reads them as
    # they are (docs/design.md, "What a read sees").
    read_catch_up: int = 1_000

    # --- ingest (ledger/ingest.py) -----------------------------------------------------
    # Aggregates kept between batches, bounded so that memory plateaus (about 20 KB a
    # household across this cache and the read models'), whatever the size of the
    # file. A night's work that touches more aggregates than this reads them back
    # once per batch (in bulk: Ledger.prefetch).
    ingest_cache: int = 24_000
    # Commands between two catch-ups of the read models by the ingest itself.
    follow_every: int = 10_000
    # Commands past which a second process keeps the read models (about 0.2 s to start).
    follower_after: int = 10_000
    # Seconds the follower waits for new events once it has caught up.
    follower_pause: float = 0.05
    # Seconds for which an ingest says it keeps the read models, said again each third.
    keeping: float = 30.0

    # --- the log's verification (ledger/log/pages.py, verification.py) --------------------
    # Levels of a page of leaves checked at a time (a page holds 2**page_levels).
    page_levels: int = 12
    # Leaves from which the second half of the log is checked by a second process.
    verify_split_from: int = 64 * 4096

    # --- copy (ledger/copy.py) ------------------------------------------------------------
    # Events (or command ids) per transaction of a copy.
    copy_page: int = 2_000

    # --- SQLite (ledger/recorder.py) and reading a file ahead (ledger/workers/readahead.py) ---
    # SQLite's page cache per connection, KiB.
    sqlite_cache_kib: int = 16_384
    # A WAL file past this is cut back when it restarts.
    wal_limit_bytes: int = 64 << 20
    # Pages past which a checkpoint waits to restart the WAL.
    wal_bound_pages: int = 16_384
    # Read a file ahead only if at most this share of the machine's memory ...
    read_ahead_share: float = 0.5
    # ... and at least this large.
    read_ahead_smallest: int = 64 << 20

    @property
    def page_leaves(self) -> int:
        """Leaves in a page of the log's verification."""
        return 1 << self.page_levels

    @property
    def offered(self) -> int:
        """Events committed by this process kept for the read models (ReadModels.offer)."""
        return 3 * self.page

    def but(self, **changes: Any) -> Settings:
        """These settings with some changed."""
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> Settings:
        return cls(**found)


DEFAULT = Settings()
