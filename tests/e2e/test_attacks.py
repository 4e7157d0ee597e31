"""The attacks of issue 18's table, played by an office that holds the database and its
own key, against a household or auditor who holds only the office's public key, their
receipts and a checkpoint they kept: each now fails verification with a sentence
naming what is wrong (the witnesses' part, a fork shown to two auditors who never
compare notes, is the witness's to catch)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.checkpoint import parse_checkpoint_unverified
from tests.credentials import logged_in

ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_KEY": None, "ONERULER_TOKEN": None}
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
ORIGIN = "ledger.example-county.gov.cn/xingcheng-2018"


def oneruler(*args: Any) -> Result:
    words = [str(a) for a in args]
    return CliRunner().invoke(cli, words, env=logged_in(words, ENV), catch_exceptions=False)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(result: Result) -> str:
    """Exit 1 and one sentence on standard error, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    return result.stderr.removeprefix("Error: ").removesuffix("\n")


class Office:
    """The office: its ledger, its key, and what it hands out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.db = folder / "ledger.db"
        ok(oneruler("ingest", SAMPLE, "--db", self.db))
        ok(oneruler("key", "generate", ORIGIN, "--dir", folder))
        self.key, self.pub = folder / "xingcheng-2018.key", folder / "xingcheng-2018.pub"

    def checkpoint(self, *keys: Path, db: Path | None = None) -> str:
        signing = [a for key in keys or (self.key,) for a in ("--key", key)]
        return ok(oneruler("checkpoint", *signing, "--db", db or self.db))

    def void(self, household: str, agreement: str, *at: str) -> None:
        ok(
            oneruler(
                "agreement", "void", "--household", household, "--agreement", agreement,
                "--reason", "signed under pressure", "--actor", "s-020", *at, "--db", self.db,
            )
        )  # fmt: skip

    def prove(self, household: str, *extra: Any, db: Path | None = None) -> Path:
        out = self.folder / f"{household}-{len(list(self.folder.iterdir()))}.json"
        ok(oneruler("prove", household, "-o", out, "--db", db or self.db, *extra))
        return out


@pytest.fixture
def office(tmp_path: Path) -> Office:
    office = Office(tmp_path / "office")
    office.checkpoint()
    return office


def audit(bundle: Path, *extra: Any) -> Result:
    return oneruler("audit-verify", bundle, *extra)


def edited(path: Path, change: Any) -> Path:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    change(bundle)
    out = path.with_name("edited-" + path.name)
    out.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return out


def record(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in bundle["records"] if f"{r['kind']} {r['code']}" == name)


# --- a bundle that leaves out a household's latest events -------------------------


def test_a_bundle_without_the_voided_agreement_fails(office: Office) -> None:
    office.void("XC-0002", "A-0002")
    office.checkpoint()
    honest = office.prove("XC-0002")
    assert ok(audit(honest, "--pubkey", office.pub)).startswith("OK: household XC-0002:")
    # The office hands out the bundle without the voiding, the household's version 6.
    hidden = edited(honest, lambda b: record(b, "household XC-0002")["events"].pop())
    sentence = refused(audit(hidden, "--pubkey", office.pub))
    bundle = json.loads(honest.read_text(encoding="utf-8"))
    entry = record(bundle, "household XC-0002")["map"]
    assert sentence == (
        f"household XC-0002's events in the bundle stop at version 5, but the log's map at size "
        f"{bundle['map_heads'][-1]['index']} holds version 6 (leaf {entry['index']}) as its "
        "latest: version 6 is missing from the bundle."
    )
    # Nor can it claim the map says version 5: the map proof no longer leads to its root.
    claimed = edited(
        hidden, lambda b: record(b, "household XC-0002")["map"].update(version=4, index=33)
    )
    assert refused(audit(claimed, "--pubkey", office.pub)).startswith(
        "household XC-0002's map proof does not lead to the root of the map head"
    )


def test_a_bundle_without_the_households_complaint_fails(office: Office) -> None:
    honest = office.prove("XC-0003")
    hidden = edited(honest, lambda b: b["records"].pop())
    assert refused(audit(hidden, "--pubkey", office.pub)) == (
        "the bundle leaves out complaint C-0001, which household XC-0003's version 4 names: a "
        "household's bundle must hold its complaints' and payouts' own events too."
    )
    # The complaint's own latest event (its resolution) is held to its map entry too.
    resolved = edited(honest, lambda b: record(b, "complaint C-0001")["events"].pop())
    assert refused(audit(resolved, "--pubkey", office.pub)).startswith(
        "complaint C-0001's events in the bundle stop at version 1, but the log's map"
    )


def test_a_map_head_that_leaves_out_a_version_fails_verify(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The office signs a map head that says XC-0002's latest is still version 5 (its
    # checkpoint, bundles and all agree with it): anyone replaying the log finds it out.
    from ledger.log import mapstore

    office.void("XC-0002", "A-0002")
    real = mapstore.Entries.rows

    def without_the_voiding(self: Any, first: int, last: int) -> list[tuple[bytes, int, int]]:
        return [
            (key, version - 1, index - 1) if version == 6 and index == 47 else (key, version, index)
            for key, version, index in real(self, first, last)
        ]

    monkeypatch.setattr(mapstore.Entries, "rows", without_the_voiding)
    office.checkpoint()
    monkeypatch.undo()
    sentence = refused(oneruler("verify", "--db", office.db))
    assert sentence.startswith("the map head at leaf 48 does not match the log: the map of the 48 ")
    assert sentence.endswith("it misstates some record's latest version.")


# --- a bundle proved against an older checkpoint ----------------------------------


def test_a_bundle_against_an_older_checkpoint_fails_against_the_one_kept(
    office: Office, tmp_path: Path
) -> None:
    state = tmp_path / "auditor"
    old = office.prove("XC-0002")
    office.void("XC-0002", "A-0002")
    new_note = office.checkpoint()
    new = office.prove("XC-0002")
    pin = ("--pubkey", office.pub, "--origin", ORIGIN, "--state", state)
    ok(audit(new, *pin))
    result = audit(old, *pin)
    old_note = json.loads(old.read_text(encoding="utf-8"))["checkpoint"]
    assert refused(result) == (
        f"the bundle's checkpoint (size 47) is older than the one you already hold of the log "
        f"{ORIGIN} (size 49): the office showed you an earlier state of its log."
    )
    # Both signed notes, which together show it.
    assert result.stdout == (
        f"The two signed notes, which together are the evidence:\n\n{new_note}\n{old_note}"
    )
    # The newer bundle keeps passing; the state holds the newest checkpoint seen.
    ok(audit(new, *pin))
    kept = (state / (ORIGIN.replace("/", "%2F") + ".checkpoint")).read_text(encoding="utf-8")
    assert kept == new_note


def test_a_receipt_shows_a_bundle_older_than_the_event_it_promised(
    office: Office, tmp_path: Path
) -> None:
    old = office.prove("XC-0002")
    office.void("XC-0002", "A-0002")
    receipt = tmp_path / "receipt.txt"
    ok(oneruler("receipt", "XC-0002", "--key", office.key, "-o", receipt, "--db", office.db))
    assert refused(audit(old, "--pubkey", office.pub, "--receipt", receipt)) == (
        "the bundle's checkpoint (size 47) was made before the event of your receipt, household "
        "XC-0002 version 6 (leaf 47); ask for a bundle against a later checkpoint, which the "
        "receipt promises includes it."
    )
    office.checkpoint()
    new = office.prove("XC-0002")
    ok(audit(new, "--pubkey", office.pub, "--receipt", receipt))
    # A bundle that leaves the receipt's event out fails by the receipt too.
    hidden = edited(new, lambda b: record(b, "household XC-0002")["events"].pop())
    assert "version 6 is missing" in refused(audit(hidden, "--pubkey", office.pub))


# --- a history rewritten and re-signed with the same key ---------------------------


def rewrite(office: Office, amount: str) -> Path:
    """A copy of the ledger with XC-0002's agreed amount changed, its log rebuilt from
    the changed store, one more event, and the whole re-signed with the office's own
    key, as the office could."""
    forged = office.folder / "forged.db"
    shutil.copy(office.db, forged)
    with sqlite3.connect(forged) as c:
        (state,) = c.execute("SELECT state FROM stored_events WHERE rowid = 41").fetchone()
        assert b"370000.00" in state
        c.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 41",
            (state.replace(b"370000.00", amount.encode()),),
        )
        for table in ("merkle_leaves", "merkle_nodes", "checkpoints", "map_nodes"):
            c.execute(f"DELETE FROM {table}")
    ok(
        oneruler(
            "household", "vacated", "--household", "XC-0002", "--actor", "s-001", "--db", forged
        )
    )
    office.checkpoint(db=forged)
    ok(oneruler("verify", "--db", forged))  # consistent in itself
    return forged


def test_a_rewritten_history_fails_against_a_kept_checkpoint(
    office: Office, tmp_path: Path
) -> None:
    state = tmp_path / "auditor"
    pin = ("--pubkey", office.pub, "--origin", ORIGIN, "--state", state)
    seen = office.prove("XC-0002")
    ok(audit(seen, *pin))  # the auditor keeps its checkpoint
    kept_note = json.loads(seen.read_text(encoding="utf-8"))["checkpoint"]
    forged = rewrite(office, "390000.00")
    # Asked for a proof from the size the auditor holds, the forged log cannot give one.
    bundle = office.prove("XC-0002", "--since", 47, db=forged)
    result = audit(bundle, *pin)
    forged_note = json.loads(bundle.read_text(encoding="utf-8"))["checkpoint"]
    size = parse_checkpoint_unverified(forged_note).size
    assert refused(result) == (
        f"the log at the bundle's checkpoint (size {size}) "
        "does not extend the checkpoint you hold (size 47): its consistency proof fails, so the "
        "history you saw was rewritten; the two signed notes below are the evidence."
    )
    assert result.stdout.endswith(f"\n\n{kept_note}\n{forged_note}")
    # Without the proof asked for, it fails as carrying none.
    assert refused(audit(office.prove("XC-0002", db=forged), *pin)).startswith(
        "the bundle carries no consistency proof from the checkpoint you hold (size 47)"
    )


def test_check_consistency_shows_a_rewritten_history_offline(
    office: Office, tmp_path: Path
) -> None:
    old = tmp_path / "old.txt"
    old.write_text(office.checkpoint(), encoding="utf-8")  # the same tree, signed again
    forged = rewrite(office, "390000.00")
    new = tmp_path / "new.txt"
    new.write_text(office.checkpoint(db=forged), encoding="utf-8")
    size = parse_checkpoint_unverified(new.read_text(encoding="utf-8")).size
    proof = tmp_path / "proof.json"
    proof.write_text(ok(oneruler("prove-consistency", 47, size, "--json", "--db", forged)))
    result = oneruler("check-consistency", old, new, proof, "--pubkey", office.pub)
    assert refused(result) == (
        f"the log {ORIGIN} at size {size} does not extend its checkpoint at size 47: the proof "
        "fails, so the log forked or its history was rewritten; the two signed notes below are "
        "the evidence."
    )
    assert old.read_text(encoding="utf-8") in result.stdout
    # The honest log's own proof passes.
    office.void("XC-0002", "A-0002")
    honest = tmp_path / "honest.txt"
    honest.write_text(office.checkpoint(), encoding="utf-8")
    proof.write_text(ok(oneruler("prove-consistency", 47, 49, "--json", "--db", office.db)))
    assert ok(oneruler("check-consistency", old, honest, proof, "--pubkey", office.pub)) == (
        f"OK: the log {ORIGIN} at size 49 extends its checkpoint at size 47 (signed by the keys "
        "given).\n"
    )


def test_a_fork_shown_to_one_auditor_fails(office: Office, tmp_path: Path) -> None:
    # Two views of the log at the same size: one with the voiding, one with a vacating.
    other = office.folder / "other.db"
    shutil.copy(office.db, other)
    office.void("XC-0002", "A-0002")
    office.checkpoint()
    ok(
        oneruler(
            "household", "vacated", "--household", "XC-0002", "--actor", "s-001",
            "--db", other,
        )
    )  # fmt: skip
    office.checkpoint(db=other)
    state = tmp_path / "auditor"
    pin = ("--pubkey", office.pub, "--origin", ORIGIN, "--state", state)
    ok(audit(office.prove("XC-0002"), *pin))
    result = audit(office.prove("XC-0002", db=other), *pin)
    assert refused(result) == (
        "the bundle's checkpoint and the one you hold are both of size 49 but have different "
        f"roots: the log {ORIGIN} was forked or its history rewritten; the two signed notes "
        "below are the evidence."
    )


# --- what the auditor sees is what was signed ---------------------------------------


def test_a_decoded_that_differs_from_its_leaf_fails(office: Office) -> None:
    honest = office.prove("XC-0002")
    raised = edited(
        honest,
        lambda b: record(b, "household XC-0002")["events"][4]["decoded"].update(amount="390000.00"),
    )
    assert refused(audit(raised, "--pubkey", office.pub)) == (
        "household XC-0002's version 5 (leaf 40): its decoded says amount '390000.00' where its "
        "leaf says '370000.00': the bundle shows you something other than what was signed."
    )
    relabelled = edited(
        honest,
        lambda b: record(b, "household XC-0002")["events"][4]["decoded"].update(
            type="AgreementVoided"
        ),
    )
    assert "its decoded says type 'AgreementVoided' where its leaf says 'AgreementSigned'" in (
        refused(audit(relabelled, "--pubkey", office.pub))
    )
    # What is printed comes from the leaves, not from `decoded`.
    dropped = edited(
        honest, lambda b: [e.pop("decoded") for e in record(b, "household XC-0002")["events"]]
    )
    assert 'amount="370000.00"' in ok(audit(dropped, "--pubkey", office.pub))


# --- an act backdated years after the fact ---------------------------------------------


def test_an_act_entered_long_after_its_business_time_fails(office: Office) -> None:
    # After the checkpoint (made now), the office records a voiding dated in 2018.
    office.void("XC-0002", "A-0002", "--at", "2018-03-12T10:00:00+08:00")
    office.checkpoint()
    bundle = office.prove("XC-0002")
    sentence = refused(audit(bundle, "--pubkey", office.pub))
    assert sentence.startswith(
        "household XC-0002's version 6 (AgreementVoided) says it happened at "
        "2018-03-12T10:00:00+08:00, but it was recorded after the checkpoint made at "
    )
    assert "(its map head is leaf 46): " in sentence
    assert sentence.endswith("past the 3-day window, so it was entered late or backdated.")
    # An auditor who allows years of lateness lets it pass, and sees it.
    assert "AgreementVoided" in ok(audit(bundle, "--pubkey", office.pub, "--late-window", 10_000))


def test_the_bundle_must_carry_the_map_head_that_bounds_an_event(office: Office) -> None:
    office.void("XC-0002", "A-0002")
    office.checkpoint()
    bundle = office.prove("XC-0002")
    # The first map head after each event: 46 for those before it (recorded before any
    # map head, so unbounded), 48 for the voiding (recorded after 46's time).
    document = json.loads(bundle.read_text(encoding="utf-8"))
    assert [h["index"] for h in document["map_heads"]] == [46, 48]
    ok(audit(bundle, "--pubkey", office.pub))
    # Left out, the events before it would look bounded by 46's time: the office could
    # pass a late act off that way, so the bundle fails.
    trimmed = edited(bundle, lambda b: b["map_heads"].pop(0))
    assert refused(audit(trimmed, "--pubkey", office.pub)) == (
        "the bundle lacks the map head that bounds when household XC-0002's version 1 "
        "(Registered) was recorded (leaf 15): the map head at leaf 48 is not the first after it."
    )


# --- keys and origin --------------------------------------------------------------------


def test_a_new_key_with_the_same_name_fails_without_a_transition(
    office: Office, tmp_path: Path
) -> None:
    thief = tmp_path / "thief"
    thief.mkdir()
    ok(oneruler("key", "generate", ORIGIN, "--dir", thief))
    stolen = thief / "xingcheng-2018.key"
    # The ledger itself refuses it.
    sentence = refused(oneruler("checkpoint", "--key", stolen, "--db", office.db))
    assert sentence.startswith(f"the key {ORIGIN}+")
    assert sentence.endswith(
        "a new key signs only once the current one has named it: oneruler key transition "
        "--key CURRENT.key --to NEW.pub."
    )
    # A log rebuilt and signed with it fails for anyone holding the office's key.
    forged = office.folder / "forged.db"
    shutil.copy(office.db, forged)
    with sqlite3.connect(forged) as c:
        c.execute("DELETE FROM checkpoints")
    office.checkpoint(stolen, db=forged)
    bundle = office.prove("XC-0002", db=forged)
    held = office.pub.read_text(encoding="utf-8").split("+")[1]
    sentence = refused(audit(bundle, "--pubkey", office.pub))
    assert sentence.startswith(f"the bundle is signed by {ORIGIN}+")
    assert sentence.endswith(
        f"a key of the same name as the one you hold ({ORIGIN}+{held}) but another key, and it "
        "carries no key transition to it signed by yours: it is not the office's log, or its "
        "key was replaced without the office's own key saying so."
    )


def test_a_key_transition_signed_by_the_old_key_is_followed(office: Office, tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.mkdir()
    ok(oneruler("key", "generate", ORIGIN, "--dir", new))
    note = ok(
        oneruler(
            "key", "transition", "--key", office.key, "--to", new / "xingcheng-2018.pub",
            "--db", office.db,
        )
    )  # fmt: skip
    assert note.startswith(f"oneruler key transition v1\n{ORIGIN}\nfrom {ORIGIN}+")
    # The old key may no longer sign; the new one may.
    assert "is not this log's key" in refused(
        oneruler("checkpoint", "--key", office.key, "--db", office.db)
    )
    office.checkpoint(new / "xingcheng-2018.key")
    ok(oneruler("verify", "--db", office.db))
    bundle = office.prove("XC-0002")
    assert json.loads(bundle.read_text(encoding="utf-8"))["key_transitions"] == [note]
    # An auditor who holds only the old key follows the transition it signed.
    ok(audit(bundle, "--pubkey", office.pub))
    ok(audit(bundle, "--pubkey", new / "xingcheng-2018.pub"))
    without = edited(bundle, lambda b: b.update(key_transitions=[]))
    assert "carries no key transition to it signed by yours" in refused(
        audit(without, "--pubkey", office.pub)
    )


def test_several_keys_each_sign(tmp_path: Path) -> None:
    office = Office(tmp_path / "office")
    second = tmp_path / "second"
    second.mkdir()
    ok(oneruler("key", "generate", ORIGIN, "--dir", second))
    note = office.checkpoint(office.key, second / "xingcheng-2018.key")
    signatures = note.split("\n\n")[1].splitlines()
    assert len(signatures) == 2 and all(s.startswith(f"\u2014 {ORIGIN} ") for s in signatures)
    bundle = office.prove("XC-0002")
    ok(audit(bundle, "--pubkey", office.pub))
    ok(audit(bundle, "--pubkey", second / "xingcheng-2018.pub"))
    ok(oneruler("verify", "--db", office.db))
    # Either may sign the next; a key named otherwise may not join them.
    office.checkpoint(second / "xingcheng-2018.key")
    ok(oneruler("key", "generate", "other.example/log", "--dir", second))
    assert refused(
        oneruler("checkpoint", "--key", office.key, "--key", second / "log.key", "--db", office.db)
    ) == (
        f"the key other.example/log is not named as the log's origin {ORIGIN}, and a log's key "
        f"must be; make one with oneruler key generate {ORIGIN} and record the move to it, signed "
        "by the current key: oneruler key transition --key CURRENT.key --to NEW.pub."
    )


def test_the_origin_an_auditor_pins_must_be_the_bundles(office: Office) -> None:
    bundle = office.prove("XC-0002")
    assert refused(audit(bundle, "--origin", "other.example/log")) == (
        f"the bundle's checkpoint is for the log {ORIGIN}, not the log other.example/log you "
        "pinned with --origin."
    )
