"""The witnesses' cosignatures as the ledger keeps them, in SQLite and PostgreSQL alike:
kept on the stored checkpoint's note (which verify still reads), the size each witness
last cosigned read back from the notes, the next map head carrying the cosigned
checkpoint, and the recording bounds the ledger's reports read from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.checkpoint import generate_key, parse_signer
from ledger.cosignature import Cosigner, add_cosignatures
from ledger.ingest import ingest
from ledger.log.decode import decode_state
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.credentials import ADMIN
from tests.witnessing import new_witness

ORIGIN = "ledger.example-county.gov.cn/xingcheng-2018"
OFFICE = parse_signer(generate_key(ORIGIN)[0])


def cosign(note: str, cosigner: Cosigner, at: datetime) -> str:
    return cosigner.cosign(note.split("\n\n")[0] + "\n", int(at.timestamp())).line


def test_cosignatures_are_kept_read_back_and_carried_by_the_next_map_head(
    store_url: str, sample_lines: list[str]
) -> None:
    (a, a_key, _, _), (b, b_key, _, _) = new_witness("a.example"), new_witness("b.example")
    seen = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    ledger = open_ledger(store_url, clock=lambda: datetime(2018, 3, 20, tzinfo=UTC))
    try:
        assert ingest(ledger, sample_lines, ADMIN).applied == 41
        first = ledger.sign_checkpoint([OFFICE])
        reads = Reads(ledger)
        assert reads.cosigned_sizes([a_key, b_key]) == {}
        kept = ledger.add_cosignatures(first.id, [cosign(first.note, a, seen)])
        kept = ledger.add_cosignatures(
            first.id, [cosign(first.note, a, seen), cosign(first.note, b, seen)]
        )
        assert kept.note == add_cosignatures(
            first.note, [cosign(first.note, a, seen), cosign(first.note, b, seen)]
        )
        assert reads.latest_checkpoint() == (first.size, first.root.hex(), kept.note)
        assert reads.cosigned_sizes([a_key, b_key]) == {a_key: 47, b_key: 47}
        assert reads.verify().ok
        # A late entry, dated before the map head's own (office-set) time and the
        # witnesses' time, then the next checkpoint: its map head carries the first.
        ingest(
            ledger,
            [
                '{"id": "late-1", "cmd": "record_vacated", "actor": "s-001", '
                '"at": "2018-03-18T10:00:00+08:00", "household": "XC-0002"}'
            ],
            ADMIN,
        )
        second = ledger.sign_checkpoint([OFFICE])
        assert second.size == 49
        assert reads.cosigned_sizes([a_key, b_key]) == {a_key: 47, b_key: 47}
        verified = reads.verify()
        assert verified.ok and verified.map_heads == 2
        head = _map_head_state(ledger, 48)
        assert head["witnessed"] == kept.note and head["previous"][0] == 46
        # The bounds the ledger's reports read: the office's time alone (20 March
        # 2018) lets an act of 18 March pass; a quorum of both witnesses does not.
        occurred = datetime.fromisoformat("2018-03-18T10:00:00+08:00")
        window = timedelta(days=3)
        assert reads.record_bounds().late("the vacating", 48, occurred, window) is None
        for quorum in (1, 2):
            late = reads.record_bounds([a_key, b_key], quorum).late(
                "the vacating", 48, occurred, window
            )
            assert late == (
                "the vacating says it happened at 2018-03-18T10:00:00+08:00, but it was "
                "recorded after the checkpoint of size 47, which "
                f"{quorum} of the witnesses given had cosigned by 2026-12-05T12:00:00+00:00: "
                "3,184 days later, past the 3-day window, so it was entered late or backdated."
            )
        # Events before the first map head are bounded by nothing.
        assert reads.record_bounds([a_key, b_key]).recorded_after(10) is None
    finally:
        ledger.close()


def _map_head_state(ledger: object, index: int) -> dict[str, object]:
    from ledger.copy import recorder_of
    from ledger.log import mapstore

    recorder = recorder_of(ledger)  # type: ignore[arg-type]
    with recorder.log_transaction(commit=False) as c:
        (event,) = [e for e in mapstore.log_events(recorder.log, c) if e.index == index]
    state = decode_state(event.state)
    assert state is not None
    return state
