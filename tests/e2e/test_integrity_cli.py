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
from ledger import merkle
from ledger.checkpoint import parse_signer, parse_verifier, sign_note, verify_checkpoint
from ledger.settings import Settings
from ledger.workers import launcher
from tests.credentials import logged_in

# The environment must not choose the ledger, the actor or the key for a test.
ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_KEY": None}
DOCS = Path(__file__).resolve().parents[2] / "docs"
SAMPLE = DOCS / "examples" / "xingcheng-small.jsonl"
SAMPLE_EVENTS = 46
# A checkpoint appends the log's map head, and signs the log with it.
SIGNED_SIZE = SAMPLE_EVENTS + 1
XC_0001_EVENTS = 14
ORIGIN = "ledger.example-county.gov.cn/xingcheng-2018"


def oneruler(
    *args: Any, env: dict[str, str | None] | None = None, settings: Settings | None = None
) -> Result:
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        env=logged_in(args, {**ENV, "ONERULER_TOKEN": None, **(env or {})}),
        catch_exceptions=False,
        obj=settings,
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
    ok(oneruler("key", "generate", ORIGIN, "--dir", folder))
    ok(oneruler("key", "generate", "forger.example/log", "--dir", folder))
    return folder


@pytest.fixture
def office(keys: Path) -> Path:
    return keys / "xingcheng-2018.key"


@pytest.fixture
def office_pub(keys: Path) -> Path:
    return keys / "xingcheng-2018.pub"


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
    private, public = keys / "xingcheng-2018.key", keys / "xingcheng-2018.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    signer = parse_signer(private.read_text(encoding="utf-8"))
    verifier = parse_verifier(public.read_text(encoding="utf-8"))
    assert signer.verifier() == verifier
    assert verifier.name == ORIGIN
    assert "PRIVATE" not in public.read_text(encoding="utf-8")


def test_key_generate_never_overwrites_a_key(keys: Path) -> None:
    before = (keys / "xingcheng-2018.key").read_bytes()
    failed(
        oneruler("key", "generate", "other.example/xingcheng-2018", "--dir", keys),
        2,
        f"{keys / 'xingcheng-2018.key'} already exists and a key is never overwritten; "
        "choose another NAME or --dir.",
    )
    assert (keys / "xingcheng-2018.key").read_bytes() == before


@pytest.mark.parametrize("name", ["a/", "a/.hidden", ".hidden", "with space", "a+b", "a\\b"])
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


def test_checkpoint_prints_exactly_the_signed_note(db: str, office: Path, office_pub: Path) -> None:
    note = ok(oneruler("checkpoint", "--key", office, "--db", db))
    assert stored_notes(db) == [note]
    verifier = parse_verifier(office_pub.read_text(encoding="utf-8"))
    stated = verify_checkpoint(note, verifier)
    # The origin is the key's name; the log's last leaf is the map head.
    assert (stated.origin, stated.size) == (ORIGIN, SIGNED_SIZE)
    body, signature = note.split("\n\n")
    assert body == f"{ORIGIN}\n{SIGNED_SIZE}\n{base64.b64encode(stated.root).decode()}"
    assert re.fullmatch(f"\u2014 {ORIGIN} [A-Za-z0-9+/]+=*\n", signature)


def test_checkpoint_takes_its_key_from_the_environment(db: str, office: Path) -> None:
    note = ok(oneruler("checkpoint", "--db", db, env={"ONERULER_KEY": str(office)}))
    assert stored_notes(db) == [note]


def test_checkpoint_without_a_key_is_bad_usage(db: str) -> None:
    failed(
        oneruler("checkpoint", "--db", db),
        2,
        "give the private signer key with --key FILE (or ONERULER_KEY); "
        "make one with oneruler key generate ORIGIN.",
    )
    assert stored_notes(db) == []


def test_checkpoint_refuses_a_public_key_for_a_private_one(db: str, keys: Path) -> None:
    sentence = failed(oneruler("checkpoint", "--key", keys / "log.pub", "--db", db), 2)
    assert "pass the private .key file" in sentence
    assert stored_notes(db) == []


def test_the_first_checkpoints_origin_is_kept(db: str, office: Path) -> None:
    first = ok(oneruler("checkpoint", "--key", office, "--origin", ORIGIN, "--db", db))
    second = ok(oneruler("checkpoint", "--key", office, "--db", db))
    assert first.startswith(f"{ORIGIN}\n") and second.startswith(f"{ORIGIN}\n")
    failed(
        oneruler("checkpoint", "--key", office, "--origin", "other.example/log", "--db", db),
        1,
        f"this ledger's checkpoints are for the log {ORIGIN}, and a log keeps one origin; "
        f"leave out --origin (or give --origin {ORIGIN}).",
    )
    assert len(stored_notes(db)) == 2


def test_a_new_logs_origin_is_its_keys_name_of_the_c2sp_form(
    db: str, office: Path, tmp_path: Path
) -> None:
    failed(
        oneruler("checkpoint", "--key", office, "--origin", "other.example/log", "--db", db),
        1,
        f"the key {ORIGIN} is not named as the log's origin other.example/log, and a log's key "
        "must be; make one with oneruler key generate other.example/log.",
    )
    ok(oneruler("key", "generate", "xingcheng-office", "--dir", tmp_path))
    failed(
        oneruler("checkpoint", "--key", tmp_path / "xingcheng-office.key", "--db", db),
        2,
        "a new log's origin is the name of the key that signs its first checkpoint, and "
        "'xingcheng-office' is not an origin of the C2SP form, a schema-less URL such as "
        "ledger.example-county.gov.cn/xingcheng-2018 (a lower-case host name with a dot, then a "
        "path); choose a name of that form.",
    )
    assert stored_notes(db) == []


def test_checkpoint_needs_an_existing_ledger(tmp_path: Path, office: Path) -> None:
    failed(oneruler("checkpoint", "--key", office, "--db", tmp_path / "none.db"), 2)
    assert not (tmp_path / "none.db").exists()


# --- verify -----------------------------------------------------------------------


def test_verify_passes_then_names_the_changed_event(checkpointed: str) -> None:
    assert ok(oneruler("verify", "--db", checkpointed)).startswith(
        f"OK: {SIGNED_SIZE} events, their tree, 1 map head and the stored checkpoint "
        f"(size {SIGNED_SIZE}) verified"
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


# Verify with a second process from the sample's leaf 16 (pages of 4 leaves).
TWO_PROCESSES = Settings(verify_split_from=0, page_levels=2)


def test_verify_in_two_processes_names_a_change_in_the_second_half(checkpointed: str) -> None:
    assert ok(oneruler("verify", "--db", checkpointed, settings=TWO_PROCESSES)).startswith(
        f"OK: {SIGNED_SIZE} events, their tree, 1 map head and the stored checkpoint "
        f"(size {SIGNED_SIZE}) verified"
    )
    tamper(
        checkpointed,
        "UPDATE stored_events SET state = CAST(state || x'00' AS BLOB) WHERE rowid = 31",
    )
    failed(
        oneruler("verify", "--db", checkpointed, settings=TWO_PROCESSES),
        1,
        "leaf 30 (notification id 31) does not match the stored event: the stored events "
        "were changed after they were logged.",
    )


def test_a_failed_second_process_is_said_and_its_half_checked_here(
    checkpointed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its launch under a name the second process does not read: it fails at once.
    monkeypatch.setattr(launcher, "ENVIRONMENT", "NOT_THE_SETTINGS")
    result = oneruler("verify", "--db", checkpointed, settings=TWO_PROCESSES)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"OK: {SIGNED_SIZE} events")
    assert result.stderr == (
        "the second process that checked the second half failed (KeyError: "
        "'ONERULER_WORKER'); this one checked it.\n"
    )
    tamper(checkpointed, "DELETE FROM stored_events WHERE rowid = 47")
    result = oneruler("verify", "--db", checkpointed, settings=TWO_PROCESSES)
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: leaf 46 (notification id 47) has no stored event: the stored events were "
        "deleted after they were logged.\n"
    )


def test_verify_json_is_one_document(checkpointed: str) -> None:
    document = json.loads(ok(oneruler("verify", "--db", checkpointed, "--json")))
    assert document["ok"] is True
    assert document["events"] == document["tree_size"] == SIGNED_SIZE
    assert document["checkpoints"] == [{"id": 1, "size": SIGNED_SIZE}]
    assert document["map_heads"] == 1
    assert document["problems"] == []


def test_verify_against_a_saved_checkpoint_catches_a_deleted_tail(
    db: str, office: Path, office_pub: Path, tmp_path: Path
) -> None:
    bulletin = tmp_path / "bulletin-checkpoint.txt"
    bulletin.write_text(ok(oneruler("checkpoint", "--key", office, "--db", db)), encoding="utf-8")
    pub = office_pub
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
        f"the checkpoint given is for {SIGNED_SIZE} events, but the store holds 30: events were "
        "deleted after it was signed.",
    )


def test_verify_against_a_checkpoint_signed_by_another_key_fails(
    checkpointed: str, keys: Path, tmp_path: Path
) -> None:
    note = stored_notes(checkpointed)[0]
    bulletin = tmp_path / "checkpoint.txt"
    bulletin.write_text(note, encoding="utf-8")
    sentence = failed(
        oneruler(
            "verify", "--against", bulletin, "--pubkey", keys / "log.pub", "--db", checkpointed
        ),
        1,
    )
    assert sentence.startswith(f"the checkpoint given (size {SIGNED_SIZE}) does not verify")


def test_verify_against_a_file_that_is_no_checkpoint_is_bad_input(
    checkpointed: str, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n", encoding="utf-8")
    sentence = failed(oneruler("verify", "--against", junk, "--db", checkpointed), 2)
    assert sentence.startswith(f"{junk} is not a signed checkpoint")


# --- audit bundles ----------------------------------------------------------------


def prove(db: str, tmp_path: Path, household: str = "XC-0001", *extra: Any) -> dict[str, Any]:
    out = tmp_path / f"{household}.json"
    ok(oneruler("prove", household, "-o", out, "--db", db, *extra))
    bundle: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return bundle


def audit(bundle: dict[str, Any], tmp_path: Path, *extra: Any) -> Result:
    path = tmp_path / "bundle-under-audit.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return oneruler("audit-verify", path, *extra)


def records(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['kind']} {r['code']}": r for r in bundle["records"]}


def test_prove_then_audit_verify(checkpointed: str, office_pub: Path, tmp_path: Path) -> None:
    bundle = prove(checkpointed, tmp_path)
    assert bundle["format"] == "oneruler-audit-bundle/2"
    assert bundle["household"] == "XC-0001"
    assert bundle["checkpoint"] == stored_notes(checkpointed)[0]
    # The household and its payout, each with its own events and its place in the map.
    assert list(records(bundle)) == ["household XC-0001", "payout P-0001"]
    own = records(bundle)["household XC-0001"]
    assert len(own["events"]) == XC_0001_EVENTS
    assert own["events"][0]["decoded"]["type"] == "Registered"
    assert [e["decoded"]["version"] for e in own["events"]] == list(range(1, 15))
    assert own["map"]["version"] == XC_0001_EVENTS
    assert own["map"]["index"] == own["events"][-1]["index"]
    assert [h["index"] for h in bundle["map_heads"]] == [SAMPLE_EVENTS]
    result = audit(bundle, tmp_path, "--pubkey", office_pub)
    lines = ok(result).splitlines()
    key_id = parse_verifier(bundle["public_key"]).key_id.hex()
    assert lines[0] == (
        f"OK: household XC-0001 and its payout P-0001: all {XC_0001_EVENTS + 1} events, each "
        f"record up to the latest version the log's map holds, are in the log {ORIGIN} at size "
        f"{SIGNED_SIZE}, signed by {ORIGIN}+{key_id}."
    )
    # Then every event, as its leaf says, in log order.
    assert len(lines) == 1 + XC_0001_EVENTS + 1
    assert lines[1].startswith(
        "  leaf 14  household XC-0001 v1  Registered  2018-03-01T09:01:00+08:00  admin  "
    )
    assert any(
        "payout P-0001 v1  Indexed" in line and 'household="XC-0001"' in line for line in lines
    )
    assert any(
        "household XC-0001 v5  DocumentAttached" in line and 'kind="id_card"' in line
        for line in lines
    )
    document = json.loads(ok(audit(bundle, tmp_path, "--json")))
    assert document["ok"] is True and document["complete"] is True
    assert document["records"] == [
        {"kind": "household", "code": "XC-0001", "events": XC_0001_EVENTS},
        {"kind": "payout", "code": "P-0001", "events": 1},
    ]
    assert [e["index"] for e in document["events"]] == sorted(
        e["index"] for e in document["events"]
    )


def test_a_households_bundle_holds_its_complaints_events(
    checkpointed: str, office_pub: Path, tmp_path: Path
) -> None:
    bundle = prove(checkpointed, tmp_path, "XC-0003")
    complaint = records(bundle)["complaint C-0001"]
    assert [e["decoded"]["type"] for e in complaint["events"]] == ["Filed", "Resolved"]
    assert complaint["map"]["version"] == 2
    assert ok(audit(bundle, tmp_path, "--pubkey", office_pub)).startswith(
        "OK: household XC-0003 and its complaint C-0001: all 8 events"
    )


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


def _flip(text: str) -> str:
    """Base64 of the same bytes with the first one changed."""
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _own(b: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = b["records"][0]["events"]
    return events


ALTERATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "leaf": lambda b: _own(b)[3].update(leaf=_flip(_own(b)[3]["leaf"])),
    "proof hash": lambda b: _own(b)[5].update(proof=_flip(_own(b)[5]["proof"])),
    "proof length": lambda b: _own(b)[5].update(
        proof=base64.b64encode(base64.b64decode(_own(b)[5]["proof"])[:-32]).decode()
    ),
    "a torn proof": lambda b: _own(b)[5].update(
        proof=base64.b64encode(base64.b64decode(_own(b)[5]["proof"])[:-1]).decode()
    ),
    "index": lambda b: _own(b)[2].update(index=_own(b)[2]["index"] + 1),
    "checkpoint size": lambda b: b.update(
        checkpoint=b["checkpoint"].replace(f"\n{SIGNED_SIZE}\n", f"\n{SAMPLE_EVENTS}\n")
    ),
    "checkpoint root": lambda b: b.update(checkpoint=_other_root(b["checkpoint"])),
    "household": lambda b: b.update(household="XC-0002"),
    "a missing event": lambda b: _own(b).pop(6),
    "the latest event": lambda b: _own(b).pop(),
    "a repeated event": lambda b: _own(b).append(_own(b)[0]),
    "no events": lambda b: b["records"][0].update(events=[]),
    "the payout": lambda b: b["records"].pop(1),
    "a map proof hash": lambda b: b["records"][0]["map"]["siblings"][0].__setitem__(
        1, _flip(b["records"][0]["map"]["siblings"][0][1])
    ),
    "the map's version": lambda b: b["records"][0]["map"].update(version=XC_0001_EVENTS - 1),
    "the map head": lambda b: b.update(map_heads=[]),
    "decoded": lambda b: _own(b)[4]["decoded"].update(actor="admin"),
    "format": lambda b: b.update(format="oneruler-audit-bundle/3"),
}


@pytest.mark.parametrize("alteration", list(ALTERATIONS))
def test_an_altered_bundle_fails_audit_verify(
    checkpointed: str, keys: Path, office_pub: Path, tmp_path: Path, alteration: str
) -> None:
    bundle = prove(checkpointed, tmp_path)
    altered = copy.deepcopy(bundle)
    altered["forger_key"] = (keys / "log.pub").read_text(encoding="utf-8").strip()
    ALTERATIONS[alteration](altered)
    del altered["forger_key"]
    assert altered != bundle
    failed(audit(altered, tmp_path), 1)
    failed(audit(altered, tmp_path, "--pubkey", office_pub), 1)


def test_a_bundle_mixing_in_another_households_event_fails(
    checkpointed: str, tmp_path: Path
) -> None:
    bundle = prove(checkpointed, tmp_path)
    other = prove(checkpointed, tmp_path, "XC-0002")
    _own(bundle)[1] = _own(other)[1]
    sentence = failed(audit(bundle, tmp_path), 1)
    assert "not of household XC-0001" in sentence


def test_a_bundle_under_another_key_fails_with_the_offices_key(
    checkpointed: str, keys: Path, office_pub: Path, tmp_path: Path
) -> None:
    # The same checkpoint text, signed by the forger, with the forger's key.
    bundle = prove(checkpointed, tmp_path)
    forger = parse_signer((keys / "log.key").read_text(encoding="utf-8"))
    bundle["checkpoint"] = sign_note(bundle["checkpoint"].split("\n\n")[0] + "\n", forger)
    bundle["public_key"] = forger.verifier().text
    sentence = failed(audit(bundle, tmp_path), 1)
    assert sentence.startswith("the bundle's checkpoint is signed by the key forger.example/log,")
    sentence = failed(audit(bundle, tmp_path, "--pubkey", office_pub), 1)
    assert sentence.startswith("the bundle's public key (forger.example/log+")
    # Nor does a key given that is not the office's make the office's signature pass.
    bundle = prove(checkpointed, tmp_path)
    sentence = failed(audit(bundle, tmp_path, "--pubkey", keys / "log.pub"), 1)
    assert "is not the one given with --pubkey" in sentence


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
        f"household XC-0002's newest event (leaf {SIGNED_SIZE}) is after the latest checkpoint "
        f"(size {SIGNED_SIZE}); make a checkpoint first: oneruler checkpoint --key FILE."
    )
    assert not out.exists()
    ok(oneruler("prove", "XC-0001", "-o", out, "--db", db))  # still covered


def test_prove_an_unknown_household_is_refused(checkpointed: str, tmp_path: Path) -> None:
    failed(
        oneruler("prove", "XC-9999", "-o", tmp_path / "b.json", "--db", checkpointed),
        1,
        "unknown household XC-9999: check the code, or register it first.",
    )


VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_a_bundle_of_format_1_still_verifies_and_says_what_it_cannot_show(tmp_path: Path) -> None:
    vectors = VECTORS
    result = oneruler(
        "audit-verify",
        vectors / "bundle-format-1.json",
        "--pubkey",
        vectors / "bundle-format-1.pub",
    )
    lines = ok(result).splitlines()
    assert lines[0] == (
        "OK: household XC-0003: its 5 events (versions 1 to 5) are in the log oneruler/legacy at "
        "size 38, signed by xingcheng-office+e040553f."
    )
    assert lines[4].startswith("  leaf 34  household XC-0003 v4  ComplaintAttached")
    assert lines[-1] == (
        "note: completeness could not be checked: a bundle of format oneruler-audit-bundle/1 "
        "carries no map, so it cannot show that no later version exists; ask for a new bundle."
    )
    # Its `decoded` is checked against its leaves too.
    bundle = json.loads((vectors / "bundle-format-1.json").read_text(encoding="utf-8"))
    bundle["events"][4]["decoded"]["items"][0]["quantity"] = "118.20"
    sentence = failed(audit(bundle, tmp_path, "--pubkey", vectors / "bundle-format-1.pub"), 1)
    assert sentence.startswith("household XC-0003's version 5 (leaf 36): its decoded says items")


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


@pytest.mark.parametrize(("old", "new"), [(10, SIGNED_SIZE + 1), (30, 20)])
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
        "check-consistency",
        "key transition",
        "receipt",
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
    checkpointed: str, office_pub: Path, tmp_path: Path
) -> None:
    audit_bundle = reference_verifier()["audit"]
    office = office_pub.read_text(encoding="utf-8")
    for household, count in (("XC-0001", 2), ("XC-0002", 1), ("XC-0003", 2)):
        bundle = prove(checkpointed, tmp_path, household)
        assert audit_bundle(bundle, office) == (
            f"OK: {household}: {count} records complete in a log of {SIGNED_SIZE}"
        )
    for alter in (
        lambda b: _own(b)[0].update(leaf=_flip(_own(b)[0]["leaf"])),
        lambda b: _own(b).pop(),
        lambda b: b["records"].pop(),
    ):
        altered = copy.deepcopy(bundle)
        alter(altered)
        with pytest.raises(AssertionError):
            audit_bundle(altered, office)


# --- the auditor's state, receipts and offline consistency: bad input ------------------


def test_audit_verify_state_needs_an_origin_and_a_readable_state(
    checkpointed: str, office_pub: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "b.json"
    ok(oneruler("prove", "XC-0002", "-o", bundle, "--db", checkpointed))
    failed(
        oneruler("audit-verify", bundle, "--state", tmp_path / "state"),
        2,
        "--state keeps a checkpoint per log; give the log with --origin ORIGIN.",
    )
    state = tmp_path / "state"
    state.mkdir()
    kept = state / (ORIGIN.replace("/", "%2F") + ".checkpoint")
    kept.write_text("not a checkpoint\n", encoding="utf-8")
    sentence = failed(
        oneruler(
            "audit-verify", bundle, "--origin", ORIGIN, "--state", state, "--pubkey", office_pub
        ),
        2,
    )
    assert sentence.startswith(f"{kept} is not a signed checkpoint")
    kept.unlink()
    ok(oneruler("audit-verify", bundle, "--origin", ORIGIN, "--state", state))
    assert kept.read_text(encoding="utf-8") == stored_notes(checkpointed)[0]


def test_a_receipt_is_a_note_signed_by_the_logs_key(
    checkpointed: str, office: Path, office_pub: Path, keys: Path, tmp_path: Path
) -> None:
    receipt = ok(
        oneruler("receipt", "C-0001", "--kind", "complaint", "--key", office, "--db", checkpointed)
    )
    text, signature = receipt.split("\n\n")
    lines = text.splitlines()
    assert lines[:2] == ["oneruler receipt v1", ORIGIN]
    assert re.fullmatch(r"leaf 45 [A-Za-z0-9+/]{43}=", lines[2])
    assert lines[3:5] == ["complaint C-0001", "version 2"]
    assert lines[5].startswith("recorded ")
    assert lines[6] == "promise the next checkpoint includes this leaf"
    assert signature.startswith(f"\u2014 {ORIGIN} ")
    path = tmp_path / "receipt.txt"
    path.write_text(receipt, encoding="utf-8")
    bundle = tmp_path / "b.json"
    ok(oneruler("prove", "XC-0003", "-o", bundle, "--db", checkpointed))
    ok(oneruler("audit-verify", bundle, "--receipt", path, "--pubkey", office_pub))
    # An altered receipt is not the office's.
    path.write_text(receipt.replace("version 2", "version 1"), encoding="utf-8")
    assert "is not signed by the log's key" in failed(
        oneruler("audit-verify", bundle, "--receipt", path, "--pubkey", office_pub), 1
    )
    path.write_text("hello\n\n\u2014 x y\n", encoding="utf-8")
    assert "is not a receipt as oneruler writes them" in failed(
        oneruler("audit-verify", bundle, "--receipt", path), 2
    )
    # Only the log's key gives one.
    failed(oneruler("receipt", "XC-0003", "--key", keys / "log.key", "--db", checkpointed), 1)
    failed(
        oneruler("receipt", "XC-0003", "--version", 9, "--key", office, "--db", checkpointed),
        1,
        "there is no version 9 of household XC-0003 in the ledger: check the code and version.",
    )


def test_check_consistency_refuses_what_is_not_a_note_or_a_proof(
    checkpointed: str, office: Path, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text(stored_notes(checkpointed)[0], encoding="utf-8")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n", encoding="utf-8")
    proof = tmp_path / "proof.json"
    proof.write_text(
        ok(oneruler("prove-consistency", 20, SIGNED_SIZE, "--json", "--db", checkpointed)),
        encoding="utf-8",
    )
    assert failed(oneruler("check-consistency", junk, note, proof), 2).startswith(
        f"{junk} is not a signed checkpoint"
    )
    assert failed(oneruler("check-consistency", note, note, junk), 2).startswith(
        f"{junk} is not JSON"
    )
    failed(
        oneruler("check-consistency", note, note, proof),
        2,
        f"{proof} proves sizes 20 to {SIGNED_SIZE}, but the checkpoints are of sizes "
        f"{SIGNED_SIZE} and {SIGNED_SIZE}; give the proof between them.",
    )
    same = tmp_path / "same.json"
    same.write_text(
        ok(oneruler("prove-consistency", SIGNED_SIZE, SIGNED_SIZE, "--json", "--db", checkpointed)),
        encoding="utf-8",
    )
    assert ok(oneruler("check-consistency", note, note, same)) == (
        f"OK: the log {ORIGIN} at size {SIGNED_SIZE} extends its checkpoint at size "
        f"{SIGNED_SIZE} (signatures not checked: give --pubkey).\n"
    )
