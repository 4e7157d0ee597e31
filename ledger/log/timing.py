"""When an event was recorded at the earliest, as the log and its witnesses bound it,
and the sentence that names an event entered late. An event was recorded after the
map head before it (the office's time, fixed in the log once the checkpoint is out),
and after the checkpoint that ends there, by the time a quorum of witnesses cosigned
it (their time, which the office does not set). Pure: the auditor's side (audit.py)
and the ledger's reports (recorded.py) use it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.checkpoint import (
    CheckpointError,
    Verifier,
    parse_checkpoint_unverified,
    verify_checkpoint,
)
from ledger.cosignature import (
    CosignatureError,
    CosignerVerifier,
    QuorumError,
    check_quorum,
    quorum_time,
)
from ledger.log.record import MapHead

__all__ = [
    "Bound",
    "BoundMissing",
    "TimeBounds",
    "Witnessed",
    "carried",
    "late",
    "made_at",
    "witnessed",
]


class BoundMissing(ValueError):
    """A bundle lacks what bounds an event's recording, or carries it altered."""


@dataclass(frozen=True)
class Bound:
    """A moment an event was recorded after (or by), and what fixed it, for a sentence."""

    at: datetime
    source: str


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint that a quorum of the witnesses given cosigned: its size, and the time
    by which the quorum had (ledger.cosignature.quorum_time)."""

    size: int
    at: datetime
    quorum: int

    @property
    def source(self) -> str:
        return (
            f"the checkpoint of size {self.size}, which {self.quorum} of the witnesses given "
            f"had cosigned by {self.at.isoformat()}"
        )


def witnessed(note: str, witnesses: Sequence[CosignerVerifier], quorum: int) -> Witnessed:
    """The checkpoint of a cosigned note, with its quorum time; QuorumError if fewer than
    quorum of the witnesses cosigned it, CosignatureError if a cosignature by one of them
    does not verify. Each witness counts at its earliest cosignature, so that fewer than
    quorum witnesses cannot move the time earlier than an honest one saw it."""
    found = check_quorum(note, witnesses, quorum)
    at = datetime.fromtimestamp(quorum_time(found, quorum), UTC)
    return Witnessed(parse_checkpoint_unverified(note).size, at, quorum)


def carried(
    heads: Sequence[tuple[int, MapHead]],
    keys: Sequence[Verifier],
    origin: str,
    witnesses: Sequence[CosignerVerifier],
    quorum: int,
) -> dict[int, Witnessed]:
    """The checkpoints that map heads carry (`witnessed`: the one that ends at the map
    head before each) that a quorum of the witnesses cosigned, by the carrying map
    head's leaf index. Each must be a checkpoint of the log, signed by one of its keys,
    ending at that map head; one with too few cosignatures bounds nothing."""
    found: dict[int, Witnessed] = {}
    for index, head in heads:
        if head.witnessed is None or head.previous is None:
            continue
        where = f"the checkpoint the map head at leaf {index} carries"
        stated = None
        for key in keys:
            with suppress(CheckpointError):
                stated = verify_checkpoint(head.witnessed, key)
                break
        if stated is None or stated.origin != origin or stated.size != head.previous[0] + 1:
            raise BoundMissing(
                f"{where} is not the log's checkpoint of size {head.previous[0] + 1}, signed by "
                "its key: the map head was not written by the ledger."
            )
        try:
            found[index] = witnessed(head.witnessed, witnesses, quorum)
        except QuorumError:
            continue
        except CosignatureError as e:
            raise BoundMissing(f"{where}: {str(e)[:1].lower()}{str(e)[1:]}") from None
    return found


def made_at(index: int, moment: datetime) -> Bound:
    """The bound a map head gives the events after it: the time it was made."""
    return Bound(
        moment, f"the checkpoint made at {moment.isoformat()} (its map head is leaf {index})"
    )


def later(*bounds: Bound | None) -> Bound | None:
    """The latest of the bounds given (None: none bounds it)."""
    found = [bound for bound in bounds if bound is not None]
    return max(found, key=lambda bound: bound.at) if found else None


class TimeBounds:
    """When each leaf of a bundle was recorded at the earliest: after the map head before
    it, and after the checkpoint that ends there, if a quorum of the witnesses cosigned
    it. The first map head after a leaf names the one before it (`previous`) and
    carries that checkpoint with its cosignatures (`witnessed`), so a bundle carries
    both: neither can be left out to hide a late entry, and the witnesses' time is one
    the office does not set."""

    def __init__(
        self,
        heads: Sequence[tuple[int, MapHead]],
        witnessed: Mapping[int, Witnessed] | None = None,
    ) -> None:
        self.heads = sorted(heads, key=lambda pair: pair[0])
        self.witnessed = witnessed or {}

    def _after(self, index: int, where: str) -> tuple[int, MapHead] | None:
        after = next(((at, head) for at, head in self.heads if at > index), None)
        if after is None or after[1].previous is None:
            return None  # before the log's first map head: nothing bounds it
        if after[1].previous[0] > index:
            raise BoundMissing(
                f"the bundle lacks the map head that bounds when {where} was recorded (leaf "
                f"{index}): the map head at leaf {after[0]} is not the first after it."
            )
        return after

    def recorded_after(self, index: int, where: str) -> tuple[Bound | None, bool]:
        """The bound, and whether a quorum of witnesses fixed it (False: only the
        office's own time bounds it, or nothing does)."""
        after = self._after(index, where)
        if after is None:
            return None, False
        at, head = after
        assert head.previous is not None
        by_office = made_at(*head.previous)
        cosigned = self.witnessed.get(at)
        if cosigned is None:
            return by_office, False
        return later(by_office, Bound(cosigned.at, cosigned.source)), True


def late(where: str, occurred: datetime, bound: Bound, window: timedelta) -> str | None:
    """The sentence naming an event entered late, if its business time is earlier than
    the moment it was recorded after by more than the window; else None."""
    if occurred >= bound.at - window:
        return None
    return (
        f"{where} says it happened at {occurred.isoformat()}, but it was recorded after "
        f"{bound.source}: {_days(bound.at - occurred)} later, past the {_window(window)} "
        "window, so it was entered late or backdated."
    )


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86_400
    return f"{days:,.0f} days" if days >= 2 else f"{delta.total_seconds() / 3600:,.0f} hours"


def _window(delta: timedelta) -> str:
    days = delta.total_seconds() / 86_400
    return f"{days:g}-day"
