"""Verification of the whole log, in one read transaction: every stored checkpoint's
signature, a checkpoint kept outside the ledger (`verify --against`), and the page
checks (pages.py) over every leaf, in this process or, for a long log, with its
second half in a second process (ledger/workers/verify.py) at the same time."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    StoredCheckpoint,
    Verifier,
    parse_checkpoint_unverified,
    parse_verifier,
    verify_checkpoint,
)
from ledger.log.pages import Expected, PageCheck, Problem, Verification, node_problem
from ledger.log.store import Cursor, LogMismatch, LogStore, TransparencyLog
from ledger.workers.launcher import Launch
from ledger.workers.verify import VerifyWorker

if TYPE_CHECKING:
    from ledger.cosignature import CosignerVerifier

__all__ = [
    "Problem",
    "Verification",
    "timed_verify",
    "verify",
    "verify_snapshot",
]

# Logs of settings.verify_split_from leaves or more are verified in two processes,
# each checking half of the pages: a second process takes about 0.3 s to start, about
# 100,000 leaves' worth of checking.


def verify(
    store: LogStore,
    *,
    against: str | None = None,
    pubkey: Verifier | None = None,
    progress: Callable[[int], None] | None = None,
    second_process: Launch | None = None,
    witnesses: Sequence[CosignerVerifier] = (),
    quorum: int | None = None,
) -> Verification:
    """Verify the whole log in one read transaction (one consistent snapshot), and,
    for a long log with second_process given (what it needs to open the store), its second half
    in a second process's; see _verify_stream."""
    started = time.perf_counter()
    with store.log_transaction(commit=False) as c:
        result = verify_snapshot(
            store.log,
            c,
            against=against,
            pubkey=pubkey,
            progress=progress,
            second_process=second_process,
            witnesses=witnesses,
            quorum=quorum,
        )
    result.seconds = time.perf_counter() - started
    return result


def timed_verify(store: LogStore, second_process: Launch | None = None) -> tuple[int, float]:
    """Verify the log and return (events verified, seconds), for the bench; a log that
    does not verify raises LogMismatch, since its speed would mean nothing, and a
    second process that failed RuntimeError, since the speed would be another's."""
    result = verify(store, second_process=second_process)
    if not result.ok:
        raise LogMismatch(result.problems[0].message if result.problems else "verify stopped.")
    if result.notes:
        raise RuntimeError(result.notes[0])
    return result.events, result.seconds


def verify_snapshot(
    log: TransparencyLog,
    c: Cursor,
    *,
    against: str | None = None,
    pubkey: Verifier | None = None,
    progress: Callable[[int], None] | None = None,
    second_process: Launch | None = None,
    witnesses: Sequence[CosignerVerifier] = (),
    quorum: int | None = None,
) -> Verification:
    """Recompute, as the cursor's transaction sees the store, every leaf from the
    stored rows, every node and every checkpoint's root from the recomputed leaves,
    and every signature; see docs/integrity.md. With second_process (what it needs to
    open the store), a log of settings.verify_split_from leaves or more has its second
    half checked by a second process (ledger/workers/verify.py). With witnesses (their
    keys), a quorum of them (all, unless quorum says how many) must have cosigned the
    `against` note."""
    result = Verification()
    stored = log.checkpoints(c)
    result.checkpoints = stored
    expected: dict[int, list[tuple[int | None, bytes]]] = {}
    for cp in stored:
        stated = _check_stored_checkpoint(cp, result)
        if stated is not None:
            expected.setdefault(stated.size, []).append((cp.id, stated.root))
    unchecked: Problem | None = None
    if against is not None:
        theirs, unchecked = _open_against(log, c, against, pubkey, stored)
        if witnesses and unchecked is None:
            unchecked = _witnessed(against, witnesses, quorum)
        if theirs is not None:
            result.against = theirs
            expected.setdefault(theirs.size, []).append((None, theirs.root))
    result.tree_size = log.size(c)
    # The log's own record, read from the stored events: what it finds counts only once
    # every leaf is shown to be its stored event. With a second process it runs while
    # that one checks the second half.
    own = Verification()
    check: Callable[[], None] | None = None
    if _has_own_record(log, c):
        from ledger.log.ownrecord import check_own_record  # for a log that has made one

        check = functools.partial(check_own_record, log, c, own)
    _verify_stream(log, c, expected, result, progress, second_process, check or _nothing)
    if check is not None and result.complete and not result.problems:
        if not own.complete:
            check()
        result.problems.extend(own.problems)
        result.map_heads = own.map_heads
    if unchecked is not None:
        result.problems.append(unchecked)
    return result


def _nothing() -> None:
    pass


def _has_own_record(log: TransparencyLog, c: Cursor) -> bool:
    """Whether the log's own record holds any event (a log that made a checkpoint)."""
    from ledger.log.record import LOG_RECORD_ID

    d = log.dialect
    c.execute(
        d.sql(f"SELECT 1 FROM {d.events_table} WHERE originator_id = ? LIMIT 1"),
        [d.originator_param(LOG_RECORD_ID)],
    )
    return c.fetchone() is not None


# --- the checkpoints --------------------------------------------------------------


def _check_stored_checkpoint(cp: StoredCheckpoint, result: Verification) -> Checkpoint | None:
    where = f"checkpoint {cp.id} (size {cp.size})"
    stated = None
    try:
        # Signed with several keys, it keeps each (one a line): each must verify.
        for text in cp.verifier_keys or [""]:
            stated = verify_checkpoint(cp.note, parse_verifier(text))
    except CheckpointError as e:
        result.problems.append(
            Problem(f"{where} does not verify: {_lower_first(str(e))}", checkpoint=cp.id)
        )
        return None
    assert stated is not None
    if (stated.origin, stated.size, stated.root) != (cp.origin, cp.size, cp.root):
        result.problems.append(
            Problem(
                f"{where} was changed after it was signed: its stored origin, size or root "
                f"differs from its signed note (size {stated.size}).",
                checkpoint=cp.id,
            )
        )
    return stated


def _open_against(
    log: TransparencyLog,
    c: Cursor,
    note: str,
    pubkey: Verifier | None,
    stored: Sequence[StoredCheckpoint],
) -> tuple[Checkpoint | None, Problem | None]:
    """What the outside checkpoint states, to check the log against, and a problem
    to report after those checks (the signature, when it could not be checked)."""
    unverified = parse_checkpoint_unverified(note)
    if pubkey is not None:
        candidates = [pubkey]
    else:
        names = _signer_names(note)
        candidates = []
        for cp in stored:
            if cp.key_name in names:
                for text in cp.verifier_keys:
                    with suppress(CheckpointError):  # a bad stored key is reported already
                        candidates.append(parse_verifier(text))
        if not candidates:
            # Still worth checking what it states: deleting the stored checkpoints
            # (and their keys) must not hide a deleted tail.
            return unverified, Problem(
                "the ledger holds no public key of the checkpoint given (signed by "
                f"{', '.join(sorted(names)) or 'no one'}), so its signature was not "
                "checked; give the key with --pubkey FILE."
            )
    failure = ""
    for verifier in dict.fromkeys(candidates):
        try:
            theirs = verify_checkpoint(note, verifier)
        except CheckpointError as e:
            failure = _lower_first(str(e))
            continue
        origin = log.origin(c)
        if origin is not None and theirs.origin != origin:
            return None, Problem(
                f"the checkpoint given is for the log {theirs.origin}, not this "
                f"ledger's log {origin}; give one of this ledger's checkpoints."
            )
        return theirs, None
    return None, Problem(
        f"the checkpoint given (size {unverified.size}) does not verify: {failure}"
    )


def _witnessed(
    note: str, witnesses: Sequence[CosignerVerifier], quorum: int | None
) -> Problem | None:
    """Whether a quorum of the witnesses cosigned the outside checkpoint: without it,
    the office may have shown this history to the one who kept it and another to
    everyone else (a problem reported after the leaves' checks, which still run)."""
    from ledger.cosignature import CosignatureError, QuorumError, check_quorum

    needed = len(set(witnesses)) if quorum is None else quorum
    size = parse_checkpoint_unverified(note).size
    try:
        check_quorum(note, witnesses, needed)
    except QuorumError as e:
        said = str(e).removeprefix("The checkpoint ")
        return Problem(f"the checkpoint given (size {size}) {said}")
    except CosignatureError as e:
        return Problem(f"the checkpoint given (size {size}): {_lower_first(str(e))}")
    return None


def _signer_names(note: str) -> set[str]:
    return {line[2:].partition(" ")[0] for line in note.splitlines() if line.startswith("\u2014 ")}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- the leaves, in one process or two ----------------------------------------------


def _verify_stream(
    log: TransparencyLog,
    c: Cursor,
    expected: Expected,
    result: Verification,
    progress: Callable[[int], None] | None,
    second_process: Launch | None,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Check every page, in order, or, for a long log, the first half here and the
    second half (from a page boundary to the store's end) in a second process at
    the same time: the pages' checks are independent but for the subtrees before
    each page (the frontier). The second process takes those of its first page
    from the stored nodes, as it reads them, and this process then compares them
    with the ones it recomputed from the first half: the second half is checked
    against the same recomputed tree as when one process checks it all. That
    process reads its own snapshot, a moment later than this one's: events stored
    meanwhile are verified too; a change to the first half meanwhile shows as a
    changed node."""
    check = PageCheck(log)
    check.check_roots(expected, 0, {}, result)
    half = None if second_process is None else _second_half(log, c)
    if second_process is None or half is None:
        frontier: dict[merkle.NodeKey, bytes] = {}
        if check.check_pages(c, expected, result, progress, frontier=frontier):
            check.check_end(c, expected, result)
        return
    split, after = half
    worker = VerifyWorker(
        second_process,
        start=split,
        after=after,
        expected={size: cps for size, cps in expected.items() if size > split},
    )

    def both(count: int) -> None:
        if progress is not None:
            progress(count + worker.progressed())

    try:
        frontier = {}
        checked = check.check_pages(c, expected, result, both, frontier=frontier, end=split)
        if not checked:
            return  # the first bad leaf or node is in the first half
        meanwhile()
        rest = worker.result(progress)
    finally:
        worker.stop()
    if rest is None:
        result.notes.append(
            f"the second process that checked the second half failed ({worker.failure}); "
            "this one checked it."
        )
        if check.check_pages(
            c, expected, result, progress, frontier=frontier, start=split, after=after
        ):
            check.check_end(c, expected, result)
        return
    theirs, events, tree_size, problems, complete = rest
    for key in merkle.subtree_keys(0, split):
        if theirs.get(key) != frontier[key]:
            # It read the stored subtrees before its half as this process had
            # checked them, unless the store changed in between.
            result.problems.append(node_problem(key))
            result.events = split
            return
    result.events = events
    result.tree_size = tree_size
    result.problems.extend(problems)
    result.complete = complete


def _second_half(log: TransparencyLog, c: Cursor) -> tuple[int, int] | None:
    """Where a second process should take over (a leaf index at a page boundary,
    and the notification id of the leaf before it), or None to check it all here."""
    size = log.size(c)
    if size < log.settings.verify_split_from:
        return None
    levels = log.settings.page_levels
    split = size // 2 >> levels << levels
    if split == 0:
        return None
    leaf = "SELECT notification_id FROM merkle_leaves WHERE idx = ?"
    c.execute(log.dialect.sql(leaf), [split - 1])
    row = c.fetchone()
    if row is None:
        return None  # a leaf was deleted: found as this process checks the first half
    return split, int(row[0])
