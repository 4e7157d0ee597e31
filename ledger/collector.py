"""Python's cyclic garbage collector, for long runs that hold large caches."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The ledger's objects seldom form reference cycles: a whole 5,000-household ingest
# (69,273 commands) left 30 objects of cyclic garbage, from the store's start-up. Yet
# automatic collection, which runs every few thousand allocations and so walks each
# batch's objects while they are still in use, took 17% of that ingest's CPU (1.47 of
# 8.50 s; 8.5% of the ingest and 14% of its follower at a million households, py-spy).
# So a long run switches it off and collects between units of work (a batch of
# commands, a page of events), once the unit has let its own objects go: the youngest
# generation then holds little more than what the unit put into a cache, and any cycle
# the unit made is freed before the next begins, so memory stays bounded by the unit.
# Every OLDER_EVERY units the next generation is collected too, for cycles among the
# objects a cache let go.
OLDER_EVERY = 100


class Collector:
    """Collects between the units of work of a long run (see between_units)."""

    def __init__(self) -> None:
        self.units = 0

    def between_units(self) -> None:
        """Collect the cycles the unit of work just finished left behind."""
        self.units += 1
        gc.collect(1 if self.units % OLDER_EVERY == 0 else 0)


@contextmanager
def collected_between_units() -> Iterator[Collector]:
    """Switch automatic cycle collection off for a long run, which collects by calling
    between_units() when a unit of work is done; on again after (unless it was off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield Collector()
    finally:
        if enabled:
            gc.enable()
