"""The witness's protocol (C2SP tlog-witness add-checkpoint) and its state, fed the
checkpoints of a real ledger's growing log: every status the protocol gives, rollbacks
and forks refused, racing requests, and a state that survives the process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint, generate_key, parse_signer, sign_note
from ledger.cosignature import Cosigner, add_cosignatures, verify_cosignatures
from tests.unit.test_cosignature import c2sp_cosignature_times
from tests.witnessing import (
    OFFICE,
    OFFICE_VERIFIER,
    ORIGIN,
    Log,
    Signed,
    growing_log,
    new_witness,
)
from witness.client import request_body
from witness.protocol import MAX_PROOF_LINES, Answer, Witness
from witness.state import StateError, WitnessState, origin_hash

EM_DASH = "\u2014"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    lines = (Path(__file__).resolve().parents[2] / "docs/examples/xingcheng-small.jsonl").read_text(
        encoding="utf-8"
    )
    return growing_log(tmp_path_factory.mktemp("ledger"), lines.splitlines())


class Clock:
    def __init__(self, now: float = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cosigner() -> Cosigner:
    return new_witness("audit.xingcheng.example")[0]


@pytest.fixture
def make_witness(tmp_path: Path, cosigner: Cosigner, clock: Clock) -> Callable[[], Witness]:
    """A witness of the office's log on this test's state folder (each call: a new
    witness process, as after a restart)."""
    state = tmp_path / "state"
    state.mkdir()
    return lambda: Witness(cosigner, {ORIGIN: [OFFICE_VERIFIER]}, WitnessState(state), clock)


@pytest.fixture
def witness(make_witness: Callable[[], Witness]) -> Witness:
    return make_witness()


def submit(witness: Witness, old: int, note: str, proof: list[bytes] | None = None) -> Answer:
    return witness.add_checkpoint(request_body(old, proof or [], note))


def add(witness: Witness, log: Log, old: int, new: Signed) -> Answer:
    """Submit a checkpoint of the log with the right proof from old."""
    return submit(witness, old, new.note, log.proof(old, new.size) if old else [])


def cosigned(witness: Witness, answer: Answer, note: str) -> int:
    """The time of the witness's cosignature in a 200 answer, checked by the C2SP text."""
    assert answer.status == 200, answer
    assert answer.body.startswith(f"{EM_DASH} audit.xingcheng.example ")
    assert answer.body.endswith("\n") and answer.body.count("\n") == 1
    (timestamp,) = c2sp_cosignature_times(note + answer.body, witness.cosigner.verifier().text)
    return timestamp


# --- the protocol, status by status --------------------------------------------------


def test_a_first_checkpoint_is_cosigned_and_each_extension_with_its_proof(
    witness: Witness, log: Log, clock: Clock
) -> None:
    first, second, third = log.checkpoints[3], log.checkpoints[10], log.checkpoints[-1]
    assert cosigned(witness, add(witness, log, 0, first), first.note) == 1_700_000_000
    clock.now += 60
    assert cosigned(witness, add(witness, log, first.size, second), second.note) == 1_700_000_060
    clock.now += 60
    answer = add(witness, log, second.size, third)
    assert cosigned(witness, answer, third.note) == 1_700_000_120
    # the same checkpoint again: cosigned again, with the time it is seen again
    clock.now += 60
    again = add(witness, log, third.size, third)
    assert cosigned(witness, again, third.note) == 1_700_000_180
    # the monitoring URL shows the last one with the log's signature and the cosignature
    latest = witness.latest(origin_hash(ORIGIN))
    assert latest.status == 200
    assert latest.body == third.note + again.body


def test_a_stale_old_size_is_answered_409_with_the_size_the_witness_holds(
    witness: Witness, log: Log
) -> None:
    held = log.checkpoints[5]
    add(witness, log, 0, held)
    for old in (0, held.size - 1):
        answer = add(witness, log, old, log.checkpoints[-1])
        assert (answer.status, answer.content_type, answer.body) == (
            409,
            "text/x.tlog.size",
            f"{held.size}\n",
        )
    # A client that knows nothing asks with 0, learns the size, and then succeeds.
    assert add(witness, log, held.size, log.checkpoints[-1]).status == 200


def test_an_unknown_origin_is_404(witness: Witness) -> None:
    note = sign_note(Checkpoint("another.example/log", 1, bytes(32)).body(), OFFICE)
    answer = submit(witness, 0, note)
    assert (answer.status, answer.body) == (
        404,
        "This witness does not witness the log 'another.example/log'.\n",
    )
    assert witness.latest(origin_hash("another.example/log")).status == 404
    assert witness.latest("not a hash").status == 404


def test_a_checkpoint_without_a_valid_signature_by_the_log_is_403(
    witness: Witness, log: Log
) -> None:
    signed = log.checkpoints[4]
    body = signed.note[: signed.note.index("\n\n") + 1]
    stranger = parse_signer(generate_key(ORIGIN)[0])  # same name, another key
    answer = submit(witness, 0, sign_note(body, stranger))
    assert (answer.status, answer.body) == (
        403,
        "The checkpoint carries no signature by a key of its log.\n",
    )
    # a signature line with the log key's name and ID that does not verify
    forged = sign_note(body.replace(f"\n{signed.size}\n", f"\n{signed.size + 1}\n"), OFFICE)
    altered = body + forged[forged.index("\n\n") + 1 :]
    answer = submit(witness, 0, altered)
    assert (answer.status, answer.body) == (
        403,
        f"The signature by the log's key {ORIGIN} does not verify.\n",
    )
    assert witness.latest(origin_hash(ORIGIN)).status == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "no empty line between the proof and the checkpoint"),
        (b"old 00\n\nx\n", "first line is not 'old ' and a size"),
        (b"new 1\n\nx\n", "first line is not 'old ' and a size"),
        (b"old 1\nnot-a-hash\n\nx\n", "not the base64 of a 32-byte hash"),
        (
            b"old 1\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\nx\n",
            "more than 63",
        ),
        (b"old 0\n\n\xff\n", "not UTF-8 text"),
        (b"old 0\n\norigin\n1\nroot\n", "no blank line before its signatures"),
        (b"old 0\n\nxx" * 30000, "larger than 65536 bytes"),
    ],
)
def test_a_malformed_request_is_400(witness: Witness, body: bytes, reason: str) -> None:
    answer = witness.add_checkpoint(body)
    assert answer.status == 400
    assert answer.body.startswith("Malformed request: ") and reason in answer.body
    assert MAX_PROOF_LINES == 63


def test_a_checkpoint_not_in_the_c2sp_form_is_400(witness: Witness) -> None:
    note = sign_note(f"{ORIGIN}\n007\nAAAA\n", OFFICE)
    answer = submit(witness, 0, note)
    assert answer.status == 400
    assert "is not a decimal number without leading zeros" in answer.body


def test_an_old_size_larger_than_the_checkpoint_is_400(witness: Witness, log: Log) -> None:
    signed = log.checkpoints[4]
    answer = submit(witness, signed.size + 1, signed.note)
    assert (answer.status, answer.body) == (
        400,
        f"The old size {signed.size + 1} is larger than the checkpoint's size {signed.size}.\n",
    )


def test_a_bad_proof_an_empty_tree_with_a_root_and_a_proof_from_zero_are_422(
    witness: Witness, log: Log
) -> None:
    old, new = log.checkpoints[3], log.checkpoints[9]
    add(witness, log, 0, old)
    proof = log.proof(old.size, new.size)
    proof[0] = bytes(32)
    answer = submit(witness, old.size, new.note, proof)
    assert (answer.status, answer.body) == (
        422,
        f"The consistency proof from size {old.size} to size {new.size} does not verify.\n",
    )
    fresh = Witness(
        witness.cosigner, {ORIGIN: [OFFICE_VERIFIER]}, WitnessState(_empty(witness)), witness.clock
    )
    empty = sign_note(Checkpoint(ORIGIN, 0, bytes(32)).body(), OFFICE)
    assert submit(fresh, 0, empty).status == 422
    assert submit(fresh, 0, old.note, [bytes(32)]).status == 422
    good_empty = sign_note(Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT).body(), OFFICE)
    assert submit(fresh, 0, good_empty).status == 200


def _empty(witness: Witness) -> Path:
    folder = witness.state.directory.parent / "other-state"
    folder.mkdir()
    return folder


# --- what a witness is for: no rollback, no fork ---------------------------------------


def test_a_rollback_is_refused(witness: Witness, log: Log) -> None:
    newer, older = log.checkpoints[12], log.checkpoints[6]
    add(witness, log, 0, newer)
    # Honest about the witness's size, the old size exceeds the checkpoint: 400.
    assert submit(witness, newer.size, older.note).status == 400
    # Pretending to be behind: 409, and the witness says where it is.
    answer = add(witness, log, older.size - 2, older)
    assert (answer.status, answer.body) == (409, f"{newer.size}\n")
    assert json.loads(_state_file(witness).read_text())["note"].startswith(newer.note)


def test_a_fork_at_the_same_size_is_refused_and_kept_as_evidence(
    witness: Witness, log: Log
) -> None:
    base, honest = log.checkpoints[5], log.checkpoints[9]
    add(witness, log, 0, base)
    add(witness, log, base.size, honest)
    fork = log.forge(base.size, honest.size, seed=1)
    forged = fork.head
    # The forgery extends what the witness cosigned before, and is signed by the office,
    # but the witness holds another root at that size.
    answer = submit(witness, honest.size, forged.note)
    assert (answer.status, answer.body) == (
        422,
        f"The root differs from the one this witness cosigned at size {honest.size}: "
        "the log has forked.\n",
    )
    # A larger forgery, from the honest head, fails its consistency proof.
    bigger = log.forge(base.size, honest.size + 5, seed=2)
    answer = submit(
        witness, honest.size, bigger.head.note, bigger.proof(honest.size, bigger.head.size)
    )
    assert answer.status == 422
    evidence = sorted((witness.state.directory / "evidence").iterdir())
    documents = [json.loads(path.read_text()) for path in evidence]
    assert [d["reason"] for d in documents] == [
        "same size, another root",
        "consistency proof fails",
    ]
    assert all(d["held"].startswith(honest.note) for d in documents)
    assert [d["refused"] for d in documents] == [forged.note, bigger.head.note]
    assert witness.latest(origin_hash(ORIGIN)).body.startswith(honest.note)
    # Shown the forgery first, a witness would have cosigned it: it is a valid extension.
    fresh = Witness(witness.cosigner, witness.logs, WitnessState(_empty(witness)))
    add(fresh, log, 0, base)
    assert submit(fresh, base.size, forged.note, fork.proof(base.size, forged.size)).status == 200


def _state_file(witness: Witness) -> Path:
    return witness.state.directory / f"{origin_hash(ORIGIN)}.json"


def test_the_state_outlives_the_witness_and_its_time_never_goes_back(
    make_witness: Callable[[], Witness], log: Log, clock: Clock
) -> None:
    first = make_witness()
    held = log.checkpoints[8]
    add(first, log, 0, held)
    clock.now -= 3600  # the clock is set back an hour
    restarted = make_witness()
    forged = log.forge(4, held.size, seed=3).head
    assert add(restarted, log, 0, forged).status == 409
    assert submit(restarted, held.size, forged.note).status == 422
    answer = add(restarted, log, held.size, log.checkpoints[-1])
    assert cosigned(restarted, answer, log.checkpoints[-1].note) == 1_700_000_000


def test_a_damaged_state_file_stops_the_witness_from_cosigning(witness: Witness, log: Log) -> None:
    add(witness, log, 0, log.checkpoints[3])
    path = _state_file(witness)
    path.write_text(path.read_text()[:-20])
    with pytest.raises(StateError, match=r"is damaged .* restore it from a backup"):
        add(witness, log, log.checkpoints[3].size, log.checkpoints[5])
    path.write_text(json.dumps({"format": "oneruler-witness-state/1", "time": 1, "note": "x"}))
    with pytest.raises(StateError, match="is damaged"):
        add(witness, log, log.checkpoints[3].size, log.checkpoints[5])


def test_a_missing_state_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"the state folder .* does not exist; create it"):
        WitnessState(tmp_path / "nowhere")


def test_several_keys_of_one_log_each_count(tmp_path: Path, cosigner: Cosigner, log: Log) -> None:
    rotated = parse_signer(generate_key("xingcheng-office-2027")[0])
    witness = Witness(
        cosigner, {ORIGIN: [OFFICE_VERIFIER, rotated.verifier()]}, WitnessState(tmp_path)
    )
    signed = log.checkpoints[4]
    body = signed.note[: signed.note.index("\n\n") + 1]
    answer = submit(witness, 0, sign_note(body, rotated))
    assert answer.status == 200
    # the monitoring view keeps the log signatures the witness verified, and its own
    note = witness.latest(origin_hash(ORIGIN)).body
    assert note == sign_note(body, rotated) + answer.body


# --- racing requests -------------------------------------------------------------------


def at_once(
    witnesses: list[Witness], old: int, requests: list[tuple[str, list[bytes]]]
) -> list[Answer]:
    """Each request to its witness, from threads released at the same moment."""
    answers: list[Answer] = []
    barrier = threading.Barrier(len(requests))

    def send(witness: Witness, request: tuple[str, list[bytes]]) -> None:
        barrier.wait()
        answers.append(submit(witness, old, *request))

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(witnesses, requests, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_racing_forks_of_one_size_get_one_cosignature(
    tmp_path: Path, cosigner: Cosigner, log: Log
) -> None:
    """Two witnesses on one state folder (as two processes would be), each sent one of
    two checkpoints of the same size at the same moment, race after race: one wins each
    race, never both."""
    base = log.checkpoints[2]
    for race in range(20):
        state = tmp_path / f"race-{race}"
        state.mkdir()
        witnesses = [
            Witness(cosigner, {ORIGIN: [OFFICE_VERIFIER]}, WitnessState(state)) for _ in range(2)
        ]
        assert add(witnesses[0], log, 0, base).status == 200
        honest = log.checkpoints[3 + race]
        fork = log.forge(base.size, honest.size, seed=100 + race)
        requests = [
            (honest.note, log.proof(base.size, honest.size)),
            (fork.head.note, fork.proof(base.size, honest.size)),
        ]
        answers = at_once(witnesses, base.size, requests)
        assert sorted(a.status for a in answers) == [200, 409]
        held = witnesses[0].latest(origin_hash(ORIGIN)).body
        winner = 0 if held.startswith(honest.note) else 1
        assert held.startswith(requests[winner][0])
        # the loser, told the size, finds the fork
        loser = submit(witnesses[1 - winner], honest.size, requests[1 - winner][0])
        assert loser.status == 422


def test_cosignatures_verify_on_the_note_the_log_keeps(witness: Witness, log: Log) -> None:
    signed = log.checkpoints[-1]
    answer = add(witness, log, 0, signed)
    note = add_cosignatures(signed.note, [answer.body])
    (found,) = verify_cosignatures(note, [witness.cosigner.verifier()])
    assert found.line == answer.body
    assert Checkpoint(ORIGIN, signed.size, signed.root).body() in note
