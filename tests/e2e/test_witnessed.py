"""Witnesses at work (docs/integrity.md, *Witnesses*), with real `oneruler witness serve`
processes on loopback: `checkpoint --witness` collects cosignatures and keeps them on
the stored checkpoint, `verify --against` and `audit-verify` with `--witness KEY --quorum
T` require them, and the attacks of issue 18's table that only witnesses catch: a fork
shown to two auditors, a log rebuilt and re-signed with the office's own key after a
witness cosigned the original, and an act backdated behind a map head whose time the
office set."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import sqlite3
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ledger.checkpoint import parse_checkpoint_unverified, parse_signer
from ledger.cosignature import add_cosignatures, parse_cosigner_verifier
from ledger.log.decode import decode_leaf, decode_state
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.e2e.test_attacks import ORIGIN, Office, audit, edited, ok, oneruler, rewrite
from tests.unit.test_cosignature import c2sp_cosignature_times
from tests.witnessing import WitnessProcess, new_witness

NAMES = ("audit.xingcheng.gov.cn", "jiwei.xingcheng.gov.cn", "residents.xingcheng.example")
EM_DASH = "\u2014"


@dataclass
class Witness:
    """A county body's witness: its key pair, its state folder and its process."""

    name: str
    folder: Path
    process: WitnessProcess | None = field(default=None, init=False)
    url: str = field(default="", init=False)

    @property
    def pub(self) -> Path:
        return self.folder / f"{self.name}.pub"

    @property
    def option(self) -> str:
        return f"{self.url}={self.pub}"

    def start(self, office_pub: Path, port: int = 0) -> None:
        key = self.folder / f"{self.name}.key"
        self.process = WitnessProcess(self.folder / "state", key, [f"{ORIGIN}={office_pub}"], port)
        self.url = self.process.url

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def log(self) -> str:
        return (self.folder / "serve.log").read_text(encoding="utf-8")

    def held(self) -> str:
        """The checkpoint it last cosigned, from its monitoring URL."""
        origin = hashlib.sha256(ORIGIN.encode()).hexdigest()
        with urllib.request.urlopen(f"{self.url}/{origin}/checkpoint", timeout=10) as answer:
            return str(answer.read().decode("utf-8"))


@pytest.fixture
def office(tmp_path: Path) -> Office:
    return Office(tmp_path / "office")


@pytest.fixture
def witnesses(tmp_path: Path, office: Office) -> Iterator[list[Witness]]:
    made = []
    try:
        for name in NAMES:
            witness = Witness(name, tmp_path / name)
            (witness.folder / "state").mkdir(parents=True)
            ok(oneruler("witness", "key", "generate", name, "--dir", witness.folder))
            witness.start(office.pub)
            made.append(witness)
        yield made
    finally:
        for witness in made:
            witness.stop()


def checkpoint(
    office: Office, witnesses: list[Witness], *extra: Any, db: Path | None = None
) -> Result:
    asked = [a for w in witnesses for a in ("--witness", w.option)]
    return oneruler("checkpoint", "--key", office.key, *asked, *extra, "--db", db or office.db)


def keys(witnesses: list[Witness]) -> list[Any]:
    return [a for w in witnesses for a in ("--witness", w.pub)]


def failed(result: Result, code: int = 1) -> list[str]:
    """The exit status given, no traceback, and the lines on standard error."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stderr.splitlines()


def cosigned_by(note: str, witness: Witness) -> list[int]:
    """The times of the witness's valid cosignatures on the note (a second
    implementation, from the C2SP text)."""
    return c2sp_cosignature_times(note, witness.pub.read_text(encoding="utf-8"))


def stored(office: Office, db: Path | None = None) -> list[str]:
    with sqlite3.connect(db or office.db) as c:
        return [row[0] for row in c.execute("SELECT note FROM checkpoints ORDER BY id")]


# --- checkpoint --witness ------------------------------------------------------------


def test_checkpoint_keeps_the_cosignatures_of_three_witnesses(
    office: Office, witnesses: list[Witness], tmp_path: Path
) -> None:
    before = int(datetime.now(UTC).timestamp())
    first = checkpoint(office, witnesses)
    assert first.exit_code == 0 and first.stderr == "", first.output
    note = first.stdout
    after = int(datetime.now(UTC).timestamp())
    assert note.split("\n\n")[0] == "\n".join(note.splitlines()[:3])
    lines = note.split("\n\n")[1].splitlines()
    assert [line.split(" ")[1] for line in lines] == [ORIGIN, *NAMES]
    for witness in witnesses:
        (time,) = cosigned_by(note, witness)
        assert before <= time <= after + 1
    # Kept as printed, and verify still verifies it.
    assert stored(office) == [note]
    assert ok(oneruler("verify", "--db", office.db)).startswith("OK: 47 events")
    # The next checkpoint: each witness is sent the proof from the size it last
    # cosigned at once (the ledger remembers it from the notes), never a 409.
    office.void("XC-0002", "A-0002")
    second = ok(checkpoint(office, witnesses))
    assert parse_checkpoint_unverified(second).size == 49
    for witness in witnesses:
        assert len(cosigned_by(second, witness)) == 1
        assert "(409)" not in witness.log()
        assert witness.held().startswith(second.split("\n\n")[0])
    # The new map head carries the checkpoint before it, with its cosignatures.
    bundle = json.loads(office.prove("XC-0002").read_text(encoding="utf-8"))
    assert bundle["checkpoint"] == second
    head = bundle["map_heads"][-1]
    fields = decode_leaf(base64.b64decode(head["leaf"]))
    assert fields is not None
    state = decode_state(fields.state)
    assert state is not None and state["witnessed"] == note
    # An outside copy of it, checked with the witnesses' keys.
    kept = tmp_path / "bulletin.txt"
    kept.write_text(second, encoding="utf-8")
    text = ok(oneruler("verify", "--against", kept, *keys(witnesses), "--db", office.db))
    assert text.endswith(
        f"the log extends the checkpoint in {kept} (size 49), cosigned by a quorum (3) of the "
        "witnesses given.\n"
    )


def test_a_witness_down_or_refusing_is_named_and_the_quorum_decides(
    office: Office, witnesses: list[Witness], tmp_path: Path
) -> None:
    down = witnesses[2]
    url = down.url
    down.stop()
    result = checkpoint(office, witnesses)
    assert failed(result) == [
        f"not cosigned: the witness at {url}/add-checkpoint cannot be reached ([Errno 111] "
        "Connection refused).",
        "Error: the checkpoint (size 47) is cosigned by 2 of the 3 witnesses given, and 3 are "
        "required; it is kept and printed with the cosignatures it has: run oneruler checkpoint "
        "--witness again once the others answer.",
    ]
    # Still kept and printed, with the cosignatures that were given.
    assert stored(office) == [result.stdout]
    assert [len(cosigned_by(result.stdout, w)) for w in witnesses] == [1, 1, 0]
    # A quorum of two: the same checkpoint signed again, cosigned again, and exit 0.
    again = checkpoint(office, witnesses, "--quorum", 2)
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines() == [
        f"not cosigned: the witness at {url}/add-checkpoint cannot be reached ([Errno 111] "
        "Connection refused)."
    ]
    # A witness that does not know the office's key refuses it, and says why.
    other = tmp_path / "other"
    other.mkdir()
    ok(oneruler("key", "generate", ORIGIN, "--dir", other))
    down.start(other / "xingcheng-2018.pub", port=int(url.rsplit(":", 1)[1]))
    refused = checkpoint(office, witnesses, "--quorum", 2)
    assert refused.exit_code == 0, refused.output
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"not cosigned: the witness at {url}/add-checkpoint refused the "
                           "checkpoint (403: ")  # fmt: skip


def test_a_witness_that_does_not_answer_in_http_is_named(office: Office, tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"hello\r\n\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        pub = tmp_path / "w.pub"
        pub.write_text(new_witness("w.example")[3] + "\n", encoding="utf-8")
        result = oneruler(
            "checkpoint", "--key", office.key, "--witness", f"http://127.0.0.1:{port}={pub}",
            "--db", office.db,
        )  # fmt: skip
        thread.join(10)
    assert failed(result) == [
        f"not cosigned: the witness at http://127.0.0.1:{port}/add-checkpoint did not answer in "
        "HTTP (BadStatusLine 'hello').",
        "Error: the checkpoint (size 47) is cosigned by 0 of the 1 witness given, and 1 is "
        "required; it is kept and printed with the cosignatures it has: run oneruler checkpoint "
        "--witness again once the others answer.",
    ]
    assert stored(office) == [result.stdout]


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        (["--witness", "nowhere"], "--witness 'nowhere' is not URL=KEYFILE; give the witness's "
         "address and its public key file, such as --witness "
         "https://audit.example.gov.cn=audit.pub."),
        (["--witness", "ftp://w.example={w}"], "the witness URL 'ftp://w.example' is not an "
         "http:// or https:// address; give its submission prefix, such as "
         "https://witness.example.org."),
        (["--witness", "http://w.example={missing}"], "cannot read {missing} (No such file or "
         "directory); give the witness's .pub file."),
        (["--witness", "http://w.example={office}"], "{office}: the witness key is a log's "
         "signing key (type 0x01), not a witness key (type 0x04); use a key made by 'oneruler "
         "witness key generate'."),
        (["--quorum", "1"], "--quorum counts the witnesses given with --witness; give --witness "
         "too."),
        (["--witness", "http://w.example={w}", "--witness", "http://v.example={w}", "--quorum",
          "2"], "a quorum of 2 cannot be met by 1 distinct witness key; give more --witness or "
         "a smaller --quorum."),
    ],
)  # fmt: skip
def test_bad_witness_options_are_refused_before_anything_is_signed(
    office: Office, tmp_path: Path, arguments: list[str], sentence: str
) -> None:
    pub = tmp_path / "w.pub"
    pub.write_text(new_witness("w.example")[3] + "\n", encoding="utf-8")
    files = {"w": pub, "missing": tmp_path / "missing.pub", "office": office.pub}
    given = [argument.format(**files) for argument in arguments]
    result = oneruler("checkpoint", "--key", office.key, *given, "--db", office.db)
    assert failed(result, 2) == [f"Error: {sentence.format(**files)}"]
    assert stored(office) == []


def test_verify_and_audit_verify_need_against_and_witnesses_for_their_options(
    office: Office, tmp_path: Path
) -> None:
    pub = tmp_path / "w.pub"
    pub.write_text(new_witness("w.example")[3] + "\n", encoding="utf-8")
    assert failed(oneruler("verify", "--witness", pub, "--db", office.db), 2) == [
        "Error: --witness checks the cosignatures on the --against checkpoint; give --against "
        "FILE too."
    ]
    office.checkpoint()
    bundle = office.prove("XC-0002")
    assert failed(audit(bundle, "--quorum", 1), 2) == [
        "Error: --quorum counts the witnesses given with --witness; give --witness too."
    ]
    assert failed(audit(bundle, "--witness", office.pub), 2)[0].startswith(
        f"Error: {office.pub}: the witness key is a log's signing key (type 0x01)"
    )


# --- the attacks only witnesses catch ----------------------------------------------------


def test_a_fork_shown_to_two_auditors_is_refused_by_the_witnesses_and_the_auditor(
    office: Office, witnesses: list[Witness], tmp_path: Path
) -> None:
    ok(checkpoint(office, witnesses))
    other = office.folder / "other.db"
    shutil.copy(office.db, other)
    # One view of the log, with the voiding, for the first auditor; cosigned.
    office.void("XC-0002", "A-0002")
    honest = ok(checkpoint(office, witnesses))
    # Another of the same size, with a vacating instead, signed by the same key.
    ok(oneruler("household", "vacated", "--household", "XC-0002", "--actor", "s-001",
                "--db", other))  # fmt: skip
    forked = checkpoint(office, witnesses, db=other)
    lines = failed(forked)
    fork_note = forked.stdout
    assert parse_checkpoint_unverified(fork_note).size == 49
    assert fork_note.split("\n\n")[0] != honest.split("\n\n")[0]
    assert lines == [
        *(
            f"not cosigned: the witness at {w.url}/add-checkpoint refused the checkpoint (422: "
            "The root differs from the one this witness cosigned at size 49: the log has forked.)"
            for w in witnesses
        ),
        "Error: the checkpoint (size 49) is cosigned by 0 of the 3 witnesses given, and 3 are "
        "required; it is kept and printed with the cosignatures it has: run oneruler checkpoint "
        "--witness again once the others answer.",
    ]
    # Each witness kept both notes, signed by the office's key: the evidence.
    for witness in witnesses:
        (evidence,) = (witness.folder / "state" / "evidence").glob("*.json")
        kept = json.loads(evidence.read_text(encoding="utf-8"))
        assert kept["refused"] == fork_note
        assert kept["held"].startswith(honest.split("\n\n")[0])
    # The first auditor's bundle passes with the witnesses; the second's does not.
    first = audit(office.prove("XC-0002"), "--pubkey", office.pub, *keys(witnesses))
    assert ok(first).splitlines()[0].endswith("and cosigned by 3 of the witnesses given.")
    second = office.prove("XC-0002", db=other)
    assert ok(audit(second, "--pubkey", office.pub)).startswith("OK")  # without witnesses
    assert failed(audit(second, "--pubkey", office.pub, *keys(witnesses), "--quorum", 2)) == [
        "Error: the bundle's checkpoint (size 49) is cosigned by 0 of the 3 witnesses given "
        "(none), and 2 are required: it has not been witnessed enough to rule out a forked log."
    ]


def test_a_log_rebuilt_and_re_signed_after_a_witness_cosigned_the_original(
    office: Office, witnesses: list[Witness], tmp_path: Path
) -> None:
    original = ok(checkpoint(office, witnesses))
    forged = rewrite(office, "390000.00")  # consistent in itself, signed by the office's key
    (forged_note,) = stored(office, forged)
    size = parse_checkpoint_unverified(forged_note).size
    # The witnesses will not cosign it: it does not extend what they hold.
    attempt = checkpoint(office, witnesses, db=forged)
    lines = failed(attempt)
    assert lines[:3] == [
        f"not cosigned: the witness at {w.url}/add-checkpoint refused the checkpoint (422: "
        f"The consistency proof from size 47 to size {size} does not verify.)"
        for w in witnesses
    ]
    # Anyone can ask a witness for what it holds: the original, cosigned; the rebuilt
    # log does not extend it, however the office signs.
    notes = [w.held() for w in witnesses]
    assert {note.split("\n\n")[0] for note in notes} == {original.split("\n\n")[0]}
    held = tmp_path / "held.txt"
    held.write_text(
        add_cosignatures(
            notes[0], [n.split("\n\n")[1].splitlines(keepends=True)[-1] for n in notes]
        ),
        encoding="utf-8",
    )
    pin = ("--pubkey", office.pub, *keys(witnesses), "--quorum", 2)
    assert failed(oneruler("verify", "--against", held, *pin, "--db", forged)) == [
        "Error: the log does not extend the checkpoint given (size 47): the root of the first 47 "
        "recomputed leaves differs from its signed root, so the history was rewritten after it "
        "was signed."
    ]
    # The office's own checkpoint of the rebuilt log: no witness cosigned it.
    offered = tmp_path / "offered.txt"
    offered.write_text(forged_note, encoding="utf-8")
    assert failed(oneruler("verify", "--against", offered, *pin, "--db", forged)) == [
        f"Error: the checkpoint given (size {size}) is cosigned by 0 of the 3 witnesses given "
        "(none), and 2 are required: it has not been witnessed enough to rule out a forked log."
    ]
    # The honest ledger extends what the witnesses hold.
    assert "cosigned by a quorum (2) of the witnesses given" in ok(
        oneruler("verify", "--against", held, *pin, "--db", office.db)
    )


def test_backdating_is_bounded_by_the_cosignature_times(
    office: Office, witnesses: list[Witness]
) -> None:
    # The office makes a checkpoint whose map head says 5 March 2018 (its own clock),
    # then has it witnessed: the witnesses cosign at their time, today.
    set_back = open_ledger(str(office.db), clock=lambda: datetime(2018, 3, 5, tzinfo=UTC))
    try:
        set_back.sign_checkpoint([parse_signer(office.key.read_text(encoding="utf-8"))])
    finally:
        set_back.close()
    witnessed_note = ok(checkpoint(office, witnesses))
    assert parse_checkpoint_unverified(witnessed_note).size == 47
    # Then it records a voiding dated 12 March 2018, and checkpoints with the witnesses.
    office.void("XC-0002", "A-0002", "--at", "2018-03-12T10:00:00+08:00")
    ok(checkpoint(office, witnesses))
    bundle = office.prove("XC-0002")
    # By the office's own times it passes: its map head says 5 March.
    assert ok(audit(bundle, "--pubkey", office.pub)).startswith("OK")
    # The witnesses' times say otherwise: the quorum's, each witness at its earliest.
    times = sorted(cosigned_by(witnessed_note, w)[0] for w in witnesses)
    occurred = datetime.fromisoformat("2018-03-12T10:00:00+08:00")
    for quorum in (3, 1):
        at = datetime.fromtimestamp(times[quorum - 1], UTC)
        sentence = (
            "household XC-0002's version 6 (AgreementVoided) says it happened at "
            f"2018-03-12T10:00:00+08:00, but it was recorded after the checkpoint of size 47, "
            f"which {quorum} of the witnesses given had cosigned by {at.isoformat()}: "
            f"{(at - occurred).total_seconds() / 86_400:,.0f} days later, past the 3-day "
            "window, so it was entered late or backdated."
        )
        result = audit(bundle, "--pubkey", office.pub, *keys(witnesses), "--quorum", quorum)
        assert failed(result) == [f"Error: {sentence}"]
        # The ledger's own report reads the same bounds (report late-entries).
        ledger = open_ledger(str(office.db))
        try:
            bounds = Reads(ledger).record_bounds(
                [parse_cosigner_verifier(w.pub.read_text(encoding="utf-8")) for w in witnesses],
                quorum,
            )
            where = "household XC-0002's version 6 (AgreementVoided)"
            assert bounds.late(where, 48, occurred, timedelta(days=3)) == sentence
            assert Reads(ledger).record_bounds().late(
                where, 48, occurred, timedelta(days=3)
            ) is None  # fmt: skip
        finally:
            ledger.close()
    # The map head carries the witnessed checkpoint: a bundle cannot leave it out.
    trimmed = edited(bundle, lambda b: b["map_heads"].pop())
    assert failed(audit(trimmed, "--pubkey", office.pub, *keys(witnesses)))[0].startswith(
        "Error: the bundle's checkpoint (size 49) does not end with a map head"
    )


def test_events_after_an_unwitnessed_checkpoint_are_noted(
    office: Office, witnesses: list[Witness]
) -> None:
    office.checkpoint()  # without the witnesses
    office.void("XC-0002", "A-0002")
    ok(checkpoint(office, witnesses))
    text = ok(audit(office.prove("XC-0002"), "--pubkey", office.pub, *keys(witnesses)))
    assert text.splitlines()[-1] == (
        "note: 1 of the bundle's events are bounded in time by the office's word alone: the "
        "checkpoint before each, which the map head after it carries, is not cosigned by a "
        "quorum of the witnesses given."
    )


def test_an_altered_cosignature_fails(
    office: Office, witnesses: list[Witness], tmp_path: Path
) -> None:
    note = ok(checkpoint(office, witnesses))
    bundle = office.prove("XC-0002")
    line = note.split("\n\n")[1].splitlines()[1]
    # The same witness's line, a byte of its signature changed.
    name, encoded = line.removeprefix(f"{EM_DASH} ").split(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    altered = note.replace(line, f"{EM_DASH} {name} {base64.b64encode(blob).decode()}")
    broken = edited(bundle, lambda b: b.update(checkpoint=altered))
    label = parse_cosigner_verifier(witnesses[0].pub.read_text(encoding="utf-8")).label
    assert failed(audit(broken, "--pubkey", office.pub, *keys(witnesses))) == [
        f"Error: the bundle's checkpoint: the cosignature by witness {label} does not match the "
        "checkpoint; the note has been altered, or the cosignature is not this witness's."
    ]
    kept = tmp_path / "kept.txt"
    kept.write_text(altered, encoding="utf-8")
    assert failed(oneruler("verify", "--against", kept, *keys(witnesses), "--db", office.db)) == [
        f"Error: the checkpoint given (size 47): the cosignature by witness {label} does not "
        "match the checkpoint; the note has been altered, or the cosignature is not this "
        "witness's."
    ]
    # Without the witnesses' keys, their lines are someone else's business.
    ok(audit(broken, "--pubkey", office.pub))


def test_a_map_head_carrying_another_checkpoint_fails_verify(
    office: Office, witnesses: list[Witness], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.log import mapstore

    ok(checkpoint(office, witnesses))
    office.void("XC-0002", "A-0002")
    # The office writes into the next map head a checkpoint other than the one before it.
    monkeypatch.setattr(
        mapstore,
        "_witnessed",
        lambda log, c, previous: stored(office)[0].replace("\n47\n", "\n46\n", 1),
    )
    ok(checkpoint(office, witnesses))  # the witnesses see sizes and roots, not map heads
    monkeypatch.undo()
    assert failed(oneruler("verify", "--db", office.db)) == [
        "Error: the map head at leaf 48 carries a checkpoint that is not the log's at size 47, "
        "where the map head before it ends: the cosignatures it shows bound no event of this log."
    ]
    # An auditor with the witnesses' keys, holding the bundle alone, refuses it too.
    bundle = office.prove("XC-0002")
    assert failed(audit(bundle, "--pubkey", office.pub, *keys(witnesses))) == [
        "Error: the checkpoint the map head at leaf 48 carries is not the log's checkpoint of "
        "size 47, signed by its key: the map head was not written by the ledger."
    ]
