"""The read models kept by a second process while a long ingest stores events, so
that on a machine with two cores folding the events overlaps storing them.

It catches up (ReadModels.catch_up: each page worked out in a read transaction and
written in a short write transaction) until its input is closed, then catches up once
more and ends. After each page it also copies the WAL into the database file (a
checkpoint), which the ingest's commits leave to it meanwhile. The read models stay
exactly-once by their tracking row whoever applies a page, so the ingest's own
catch-up at the end, after the follower has finished, is cheap, and complete even if
the follower failed."""

from __future__ import annotations

from typing import Any

from ledger.collector import collected_between_units
from ledger.workers.launcher import Channel, Launch, Worker

OPENS_LEDGER = True


class Follower:
    """A running follower process."""

    def __init__(self, launch: Launch) -> None:
        self._worker = Worker("follower", launch, keep_input_open=True)

    def finish(self) -> str | None:
        """Tell the follower to catch up one last time and stop; wait for it. Returns
        None, or why it failed."""
        self._worker.finish()
        return self._worker.failure

    def running(self) -> bool:
        return self._worker.running()

    def stop(self) -> None:
        """End the follower at once (the ingest failed or was interrupted): a page it
        was applying is rolled back with its transaction."""
        self._worker.stop()


def serve(ledger: Any, _request: Any, channel: Channel) -> None:
    read_models = ledger.read_models
    recorder = ledger.ledger_recorder
    pause = ledger.settings.follower_pause
    with collected_between_units() as collector:
        # The ingest leaves the WAL's checkpoints to this process: one after each
        # page, since a catch-up can run for minutes while the ingest goes on (with
        # one after each catch-up the WAL grew past 700 MB at a million households).
        def after_page(_: int) -> None:
            recorder.checkpoint_wal()
            collector.between_units()

        while True:
            applied = read_models.catch_up(after_page)
            if channel.finishing(0 if applied else pause):
                read_models.catch_up()
                return
