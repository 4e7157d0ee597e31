"""The read models kept by a second process while a long ingest stores events, so
that on a machine with two cores folding the events overlaps storing them.

The follower is `python -m ledger.follower`, started with the store's settings in
its environment. It catches up (ReadModels.catch_up: each page worked out in a read
transaction and written in a short write transaction) until its standard input is
closed, then catches up once more and exits. After each page it also copies the WAL
into the database file (a checkpoint), which the ingest's commits leave to it meanwhile.
The read models stay exactly-once by their tracking row whoever applies a page, so
the ingest's own catch-up at the end, after the follower has finished, is cheap, and
complete even if the follower failed."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Mapping

# The store's settings (the Ledger's env), as JSON: not on the command line, where
# every user of the machine could read a PostgreSQL password.
SETTINGS = "ONERULER_FOLLOWER_SETTINGS"
# Seconds the follower waits for new events when it has caught up.
PAUSE = 0.05


def can_follow(settings: Mapping[str, str]) -> bool:
    """Whether another process can open the same store (an in-memory SQLite cannot)."""
    name = settings.get("SQLITE_DBNAME", "")
    return ":memory:" not in name and "mode=memory" not in name


class Follower:
    """A running follower process."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.follower"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, SETTINGS: json.dumps(dict(settings))},
        )

    def finish(self) -> str | None:
        """Tell the follower to catch up one last time and stop; wait for it. Returns
        None, or why it failed."""
        _, err = self._process.communicate()  # closes its standard input first
        if self._process.returncode == 0:
            return None
        lines = err.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"it exited with status {self._process.returncode}"

    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """End the follower at once (the ingest failed or was interrupted): a page it
        was applying is rolled back with its transaction."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def _finishing(timeout: float) -> bool:
    """Whether standard input was closed, waiting up to timeout for it."""
    readable, _, _ = select.select([sys.stdin.fileno()], [], [], timeout)
    return bool(readable) and not os.read(sys.stdin.fileno(), 4096)


def main() -> int:
    from ledger.application import Ledger
    from ledger.collector import collected_between_units

    ledger = Ledger(env=json.loads(os.environ[SETTINGS]))
    try:
        read_models = ledger.read_models
        recorder = ledger.ledger_recorder

        with collected_between_units() as collector:
            # The ingest leaves the WAL's checkpoints to this process: one after each
            # page, since a catch-up can run for minutes while the ingest goes on (with
            # one after each catch-up the WAL grew past 700 MB at a million households).
            def after_page(_: int) -> None:
                recorder.checkpoint_wal()
                collector.between_units()

            while True:
                applied = read_models.catch_up(after_page)
                if _finishing(0 if applied else PAUSE):
                    read_models.catch_up()
                    return 0
    except Exception as e:  # reported to the ingest, which catches up itself
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
