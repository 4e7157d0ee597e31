"""The transparency-log commands through click's CliRunner: keys, checkpoints that other
C2SP readers accept, verify naming the tampered position, and audit bundles that an
auditor checks with nothing but the bundle and the office's public key."""

from __future__ import annotations

import base64
import copy
import json
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from domain.ids import household_id
from ledger import merkle, verify_worker
from ledger.checkpoint import parse_signer, parse_verifier, verify_checkpoint
from ledger.log import pages, verification

# The environment must not choose the ledger, the actor or the key for a test.
ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_KEY": None}
DOCS = Path(__file__).resolve().parents[2] / "docs"
SAMPLE = DOCS / "examples" / "xingcheng-small.jsonl"
SAMPLE_EVENTS = 38
XC_0001_EVENTS = 14


def oneruler(*args: Any, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        cli, [str(a) for a in args], env={**ENV, **(env or {})}, catch_exceptions=False
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def failed(result: Result, code: int, message: str | None = None) -> str:
    """Exit status and one sentence on standard error; no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    sentence = result.stderr.removeprefix("Error: ").removesuffix("\n")
    if message is not None:
        assert sentence == message
    return sentence


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "ledger.db"
    ok(oneruler("ingest", SAMPLE, "--db", path))
    return str(path)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    ok(oneruler("key", "generate", "xingcheng-office", "--dir", folder))
    ok(oneruler("key", "generate", "forger", "--dir", folder))
    return folder


@pytest.fixture
def office(keys: Path) -> Path:
    return keys / "xingcheng-office.key"


@pytest.fixture
def checkpointed(db: str, office: Path) -> str:
    ok(oneruler("checkpoint", "--key", office, "--db", db))
    return db


def tamper(db: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    c = sqlite3.connect(db)
    try:
        c.execute(statement, params)
        c.commit()
    finally:
        c.close()


# --- keys -----------------------------------------------------------------------


def test_key_generate_writes_a_private_key_only_its_owner_reads(keys: Path) -> None:
    private, public = keys / "xingcheng-office.key", keys / "xingcheng-office.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    signer = parse_signer(private.read_text(encoding="utf-8"))
    verifier = parse_verifier(public.read_text(encoding="utf-8"))
    assert signer.verifier() == verifier
    assert verifier.name == "xingcheng-office"
    assert "PRIVATE" not in public.read_text(encoding="utf-8")


def test_key_generate_never_overwrites_a_key(keys: Path) -> None:
    before = (keys / "xingcheng-office.key").read_bytes()
    failed(
        oneruler("key", "generate", "xingcheng-office", "--dir", keys),
        1,
        f"{keys / 'xingcheng-office.key'} already exists and a key is never overwritten; "
        "choose another NAME or --dir.",
    )
    assert (keys / "xingcheng-office.key").read_bytes() == before


@pytest.mark.parametrize("name", ["a/b", ".hidden", "with space", "a+b"])
def test_key_generate_refuses_a_name_that_is_no_key_name_or_file_name(
    tmp_path: Path, name: str
) -> None:
    failed(oneruler("key", "generate", name, "--dir", tmp_path), 2)
    assert list(tmp_path.iterdir()) == []


def test_key_generate_needs_an_existing_folder(tmp_path: Path) -> None:
    failed(
        oneruler("key", "generate", "office", "--dir", tmp_path / "nowhere"),
        2,
        f"the folder {tmp_path / 'nowhere'} does not exist; create it or give another --dir.",
    )


# --- checkpoints ------------------------------------------------------------------


def stored_notes(db: str) -> list[str]:
    with sqlite3.connect(db) as c:
        return [row[0] for row in c.execute("SELECT note FROM checkpoints ORDER BY id")]


def test_checkpoint_prints_exactly_the_signed_note(db: str, keys: Path) -> None:
    note = ok(oneruler("checkpoint", "--key", keys / "xingcheng-office.key", "--db", db))
    assert stored_notes(db) == [note]
    verifier = parse_verifier((keys / "xingcheng-office.pub").read_text(encoding="utf-8"))
    stated = verify_checkpoint(note, verifier)
    assert (stated.origin, stated.size) == ("oneruler/ledger", SAMPLE_EVENTS)
    body, signature = note.split("\n\n")
    assert body == f"oneruler/ledger\n{SAMPLE_EVENTS}\n{base64.b64encode(stated.root).decode()}"
    assert re.fullmatch("\u2014 xingcheng-office [A-Za-z0-9+/]+=*\n", signature)


def test_checkpoint_takes_its_key_from_the_environment(db: str, office: Path) -> None:
    note = ok(oneruler("checkpoint", "--db", db, env={"ONERULER_KEY": str(office)}))
    assert stored_notes(db) == [note]


def test_checkpoint_without_a_key_is_bad_usage(db: str) -> None:
    failed(
        oneruler("checkpoint", "--db", db),
        2,
        "give the private signer key with --key FILE (or ONERULER_KEY); "
        "make one with oneruler key generate NAME.",
    )
    assert stored_notes(db) == []


def test_checkpoint_refuses_a_public_key_for_a_private_one(db: str, keys: Path) -> None:
    sentence = failed(oneruler("checkpoint", "--key", keys / "forger.pub", "--db", db), 2)
    assert "pass the private .key file" in sentence
    assert stored_notes(db) == []


def test_the_first_checkpoints_origin_is_kept(db: str, office: Path) -> None:
    first = ok(oneruler("checkpoint", "--key", office, "--origin", "xingcheng-2018", "--db", db))
    second = ok(oneruler("checkpoint", "--key", office, "--db", db))
    assert first.startswith("xingcheng-2018\n") and second.startswith("xingcheng-2018\n")
    failed(
        oneruler("checkpoint", "--key", office, "--origin", "other", "--db", db),
        1,
        "this ledger's checkpoints are for the log xingcheng-2018, and a log keeps one origin; "
        "leave out --origin (or give --origin xingcheng-2018).",
    )
    assert len(stored_notes(db)) == 2


def test_checkpoint_needs_an_existing_ledger(tmp_path: Path, office: Path) -> None:
    failed(oneruler("checkpoint", "--key", office, "--db", tmp_path / "none.db"), 2)
    assert not (tmp_path / "none.db").exists()


# --- verify -----------------------------------------------------------------------


def test_verify_passes_then_names_the_changed_event(checkpointed: str) -> None:
    assert ok(oneruler("verify", "--db", checkpointed)).startswith(
        f"OK: {SAMPLE_EVENTS} events, their tree and the stored checkpoint (size 38) verified"
    )
    tamper(
        checkpointed,
        "UPDATE stored_events SET state = CAST(state || x'00' AS BLOB) WHERE rowid = 18",
    )
    message = (
        "leaf 17 (notification id 18) does not match the stored event: the stored events "
        "were changed after they were logged."
    )
    result = oneruler("verify", "--db", checkpointed)
    assert result.stdout == ""
    failed(result, 1, message)

    result = oneruler("verify", "--db", checkpointed, "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["problems"][0] == {
        "message": message,
        "leaf": 17,
        "notification_id": 18,
        "checkpoint": None,
    }


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify with a second process from the sample's leaf 16 (pages of 4 leaves)."""
    monkeypatch.setattr(verification, "SPLIT_FROM", 0)
    monkeypatch.setattr(pages, "PAGE_LEVELS", 2)
    monkeypatch.setattr(pages, "PAGE", 4)


@pytest.mark.usefixtures("two_processes")
def test_verify_in_two_processes_names_a_change_in_the_second_half(checkpointed: str) -> None:
    assert ok(oneruler("verify", "--db", checkpointed)).startswith(
        f"OK: {SAMPLE_EVENTS} events, their tree and the stored checkpoint (size 38) verified"
    )
    tamper(
        checkpointed,
        "UPDATE stored_events SET state = CAST(state || x'00' AS BLOB) WHERE rowid = 31",
    )
    failed(
        oneruler("verify", "--db", checkpointed),
        1,
        "leaf 30 (notification id 31) does not match the stored event: the stored events "
        "were changed after they were logged.",
    )


@pytest.mark.usefixtures("two_processes")
def test_a_failed_second_process_is_said_and_its_half_checked_here(
    checkpointed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings under a name the second process does not read: it fails at once.
    monkeypatch.setattr(verify_worker, "SETTINGS", "NOT_THE_SETTINGS")
    result = oneruler("verify", "--db", checkpointed)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"OK: {SAMPLE_EVENTS} events")
    assert result.stderr == (
        "the second process that checked the second half failed (KeyError: "
        "'ONERULER_VERIFY_SETTINGS'); this one checked it.\n"
    )
    tamper(checkpointed, "DELETE FROM stored_events WHERE rowid = 38")
    result = oneruler("verify", "--db", checkpointed)
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: leaf 37 (notification id 38) has no stored event: the stored events were "
        "deleted after they were logged.\n"
    )


def test_verify_json_is_one_document(checkpointed: str) -> None:
    document = json.loads(ok(oneruler("verify", "--db", checkpointed, "--json")))
    assert document["ok"] is True
    assert document["events"] == document["tree_size"] == SAMPLE_EVENTS
    assert document["checkpoints"] == [{"id": 1, "size": SAMPLE_EVENTS}]
    assert document["problems"] == []


def test_verify_against_a_saved_checkpoint_catches_a_deleted_tail(
    db: str, keys: Path, tmp_path: Path
) -> None:
    bulletin = tmp_path / "bulletin-checkpoint.txt"
    bulletin.write_text(
        ok(oneruler("checkpoint", "--key", keys / "xingcheng-office.key", "--db", db)),
        encoding="utf-8",
    )
    pub = keys / "xingcheng-office.pub"
    ok(oneruler("verify", "--against", bulletin, "--pubkey", pub, "--db", db))
    for statement in (
        "DELETE FROM stored_events WHERE rowid > 30",
        "DELETE FROM merkle_leaves WHERE idx >= 30",
        "DELETE FROM merkle_nodes WHERE (idx + 1) << level > 30",
        "DELETE FROM checkpoints",
    ):
        tamper(db, statement)
    ok(oneruler("verify", "--db", db))
    failed(
        oneruler("verify", "--against", bulletin, "--pubkey", pub, "--db", db),
        1,
        "the checkpoint given is for 38 events, but the store holds 30: events were deleted "
        "after it was signed.",
    )


def test_verify_against_a_checkpoint_signed_by_another_key_fails(
    checkpointed: str, keys: Path, tmp_path: Path
) -> None:
    note = stored_notes(checkpointed)[0]
    bulletin = tmp_path / "checkpoint.txt"
    bulletin.write_text(note, encoding="utf-8")
    sentence = failed(
        oneruler(
            "verify", "--against", bulletin, "--pubkey", keys / "forger.pub", "--db", checkpointed
        ),
        1,
    )
    assert sentence.startswith("the checkpoint given (size 38) does not verify")


def test_verify_against_a_file_that_is_no_checkpoint_is_bad_input(
    checkpointed: str, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n", encoding="utf-8")
    sentence = failed(oneruler("verify", "--against", junk, "--db", checkpointed), 2)
    assert sentence.startswith(f"{junk} is not a signed checkpoint")


# --- audit bundles ----------------------------------------------------------------


def prove(db: str, tmp_path: Path, household: str = "XC-0001") -> dict[str, Any]:
    out = tmp_path / f"{household}.json"
    ok(oneruler("prove", household, "-o", out, "--db", db))
    bundle: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return bundle


def audit(bundle: dict[str, Any], tmp_path: Path, *extra: Any) -> Result:
    path = tmp_path / "bundle-under-audit.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return oneruler("audit-verify", path, *extra)


def test_prove_then_audit_verify(checkpointed: str, keys: Path, tmp_path: Path) -> None:
    bundle = prove(checkpointed, tmp_path)
    assert bundle["format"] == "oneruler-audit-bundle/1"
    assert bundle["household"] == "XC-0001"
    assert bundle["checkpoint"] == stored_notes(checkpointed)[0]
    assert len(bundle["events"]) == XC_0001_EVENTS
    assert bundle["events"][0]["decoded"]["type"] == "Registered"
    assert [e["decoded"]["version"] for e in bundle["events"]] == list(range(1, 15))
    summary = ok(audit(bundle, tmp_path, "--pubkey", keys / "xingcheng-office.pub"))
    assert summary == (
        f"OK: household XC-0001: its {XC_0001_EVENTS} events (versions 1 to {XC_0001_EVENTS}) "
        f"are in the log oneruler/ledger at size {SAMPLE_EVENTS}, signed by "
        f"xingcheng-office+{parse_verifier(bundle['public_key']).key_id.hex()}.\n"
    )
    document = json.loads(ok(audit(bundle, tmp_path, "--json")))
    assert document["ok"] is True and document["events"] == XC_0001_EVENTS


def test_audit_verify_needs_no_ledger(
    checkpointed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = prove(checkpointed, tmp_path)
    Path(checkpointed).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ok(audit(bundle, tmp_path))
    assert list(elsewhere.iterdir()) == []


def _other_root(note: str) -> str:
    """The same note stating another root (its third line)."""
    origin, size, root, rest = note.split("\n", 3)
    other = base64.b64encode(
        bytes(32) if root != base64.b64encode(bytes(32)).decode() else b"\1" * 32
    )
    return "\n".join([origin, size, other.decode(), rest])


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


ALTERATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "leaf": lambda b: b["events"][3].update(leaf=_flip_hex(b["events"][3]["leaf"])),
    "proof hash": lambda b: b["events"][5]["proof"].__setitem__(
        0, _flip_hex(b["events"][5]["proof"][0])
    ),
    "proof length": lambda b: b["events"][5]["proof"].pop(),
    "index": lambda b: b["events"][2].update(index=b["events"][2]["index"] + 1),
    "checkpoint size": lambda b: b.update(checkpoint=b["checkpoint"].replace("\n38\n", "\n37\n")),
    "checkpoint root": lambda b: b.update(checkpoint=_other_root(b["checkpoint"])),
    "public key": lambda b: b.update(public_key=b["forger_key"]),
    "household": lambda b: b.update(household="XC-0002"),
    "a missing event": lambda b: b["events"].pop(6),
    "a repeated event": lambda b: b["events"].append(b["events"][0]),
    "no events": lambda b: b.update(events=[]),
    "format": lambda b: b.update(format="oneruler-audit-bundle/2"),
}


@pytest.mark.parametrize("alteration", list(ALTERATIONS))
def test_an_altered_bundle_fails_audit_verify(
    checkpointed: str, keys: Path, tmp_path: Path, alteration: str
) -> None:
    bundle = prove(checkpointed, tmp_path)
    altered = copy.deepcopy(bundle)
    altered["forger_key"] = (keys / "forger.pub").read_text(encoding="utf-8").strip()
    ALTERATIONS[alteration](altered)
    del altered["forger_key"]
    assert altered != bundle
    failed(audit(altered, tmp_path), 1)
    failed(audit(altered, tmp_path, "--pubkey", keys / "xingcheng-office.pub"), 1)


def test_a_bundle_mixing_in_another_households_event_fails(
    checkpointed: str, tmp_path: Path
) -> None:
    bundle = prove(checkpointed, tmp_path)
    other = prove(checkpointed, tmp_path, "XC-0002")
    bundle["events"][1] = other["events"][1]
    sentence = failed(audit(bundle, tmp_path), 1)
    assert "not of household XC-0001" in sentence


def test_a_bundle_signed_with_another_key_fails_with_the_offices_key(
    checkpointed: str, keys: Path, tmp_path: Path
) -> None:
    ok(oneruler("checkpoint", "--key", keys / "forger.key", "--db", checkpointed))
    bundle = prove(checkpointed, tmp_path)  # against the latest checkpoint: the forger's
    ok(audit(bundle, tmp_path))  # consistent in itself...
    office = keys / "xingcheng-office.pub"
    failed(audit(bundle, tmp_path, "--pubkey", office), 1)  # ...but not the office's
    # Nor does swapping in the office's key make the forger's signature pass.
    bundle["public_key"] = office.read_text(encoding="utf-8").strip()
    sentence = failed(audit(bundle, tmp_path, "--pubkey", office), 1)
    assert sentence.startswith("the bundle's checkpoint does not verify")


def test_audit_verify_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{not json", encoding="utf-8")
    sentence = failed(oneruler("audit-verify", path), 2)
    assert sentence.startswith(f"{path} is not JSON")
    assert oneruler("audit-verify", tmp_path / "missing.json").exit_code == 2


def test_prove_needs_a_checkpoint_that_covers_the_household(
    db: str, office: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    sentence = failed(oneruler("prove", "XC-0001", "-o", out, "--db", db), 1)
    assert sentence.endswith("make a checkpoint first: oneruler checkpoint --key FILE.")
    ok(oneruler("checkpoint", "--key", office, "--db", db))
    ok(
        oneruler(
            "household",
            "vacated",
            "--household",
            "XC-0002",
            "--actor",
            "s-001",
            "--at",
            "2018-03-20T10:00:00+08:00",
            "--db",
            db,
        )
    )
    sentence = failed(oneruler("prove", "XC-0002", "-o", out, "--db", db), 1)
    assert sentence == (
        "household XC-0002's newest event (leaf 38) is after the latest checkpoint (size 38); "
        "make a checkpoint first: oneruler checkpoint --key FILE."
    )
    assert not out.exists()
    ok(oneruler("prove", "XC-0001", "-o", out, "--db", db))  # still covered


def test_prove_an_unknown_household_is_refused(checkpointed: str, tmp_path: Path) -> None:
    failed(
        oneruler("prove", "XC-9999", "-o", tmp_path / "b.json", "--db", checkpointed),
        1,
        "unknown household XC-9999: check the code, or register it first.",
    )


# --- consistency proofs -----------------------------------------------------------


def test_prove_consistency_between_two_checkpoints_verifies(tmp_path: Path, office: Path) -> None:
    db = str(tmp_path / "ledger.db")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:20]), encoding="utf-8")
    rest.write_text("".join(lines[20:]), encoding="utf-8")
    ok(oneruler("ingest", first, "--db", db))
    old = verify_checkpoint(
        ok(oneruler("checkpoint", "--key", office, "--db", db)),
        parse_signer(office.read_text(encoding="utf-8")).verifier(),
    )
    ok(oneruler("ingest", rest, "--db", db))
    new = verify_checkpoint(
        ok(oneruler("checkpoint", "--key", office, "--db", db)),
        parse_signer(office.read_text(encoding="utf-8")).verifier(),
    )
    document = json.loads(
        ok(oneruler("prove-consistency", old.size, new.size, "--db", db, "--json"))
    )
    assert (document["old_size"], document["new_size"]) == (old.size, new.size)
    assert bytes.fromhex(document["old_root"]) == old.root
    assert bytes.fromhex(document["new_root"]) == new.root
    proof = [bytes.fromhex(h) for h in document["proof"]]
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    text = ok(oneruler("prove-consistency", old.size, new.size, "--db", db))
    assert f"old_root  {document['old_root']}" in text


@pytest.mark.parametrize(("old", "new"), [(10, 39), (30, 20)])
def test_prove_consistency_refuses_sizes_the_log_never_had(
    checkpointed: str, old: int, new: int
) -> None:
    failed(oneruler("prove-consistency", old, new, "--db", checkpointed), 2)


# --- the documented format -----------------------------------------------------------


def test_the_documented_household_namespace_is_the_ledgers() -> None:
    text = (DOCS / "integrity.md").read_text(encoding="utf-8")
    namespace = re.search(r"namespace `([0-9a-f-]{36})`", text)
    assert namespace is not None
    assert uuid5(UUID(namespace[1]), "household:XC-0001") == household_id("XC-0001")
    for command in (
        "key generate",
        "checkpoint",
        "verify",
        "prove",
        "audit-verify",
        "prove-consistency",
    ):
        assert f"oneruler {command}" in text


def reference_verifier() -> dict[str, Any]:
    """The auditor's verifier printed in docs/integrity.md, loaded from the page."""
    text = (DOCS / "integrity.md").read_text(encoding="utf-8")
    code = text.split("## A verifier of your own", 1)[1].split("```python\n", 1)[1]
    namespace: dict[str, Any] = {"__name__": "reference_verifier"}
    exec(code.split("```", 1)[0], namespace)
    return namespace


def test_the_documented_reference_verifier_checks_real_bundles(
    checkpointed: str, keys: Path, tmp_path: Path
) -> None:
    audit_bundle = reference_verifier()["audit"]
    office = (keys / "xingcheng-office.pub").read_text(encoding="utf-8")
    for household in ("XC-0001", "XC-0002", "XC-0003"):
        bundle = prove(checkpointed, tmp_path, household)
        assert audit_bundle(bundle, office).startswith(f"OK: {household}: versions 1 to ")
    bundle["events"][0]["leaf"] = _flip_hex(bundle["events"][0]["leaf"])
    with pytest.raises(AssertionError):
        audit_bundle(bundle, office)
