"""`oneruler copy` carries the households' scanned documents, SQLite to PostgreSQL and
back: the copied ledger's pages serve the same bytes for the same household (and only
for it); a source holding a document whose bytes are not its digest's is refused before
anything is written to the target."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

import ledger.copy
from cli.main import cli
from ledger.copy import recorder_of
from ledger.documents import TABLE
from ledger.store import display_url, open_ledger, resolve_url
from tests.conftest import postgres_schema
from tests.credentials import logged_in
from tests.e2e.test_copy_resume import stop_copy
from tests.web.conftest import BASE, csrf_of, load_sample, log_in_page
from web.app import create_app
from web.office import Settings

CLERK_G01, SUPERVISOR = "s-001", "s-020"
ID_CARD = b"%PDF-1.4 the head's ID card, scanned"
HUKOU = b"%PDF-1.4 the household register, scanned"


def oneruler(*args: Any) -> Result:
    env = logged_in(args, {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None})
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture(params=["sqlite-to-postgres", "postgres-to-sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(source, target): the sample programme in one store, the other empty."""
    sqlite = f"sqlite:///{tmp_path / 'ledger.db'}"
    with postgres_schema() as postgres:
        there = request.param == "sqlite-to-postgres"
        source, target = (sqlite, postgres) if there else (postgres, sqlite)
        load_sample(source)
        yield source, target


def upload(url: str, household: str, kind: str, content: bytes) -> str:
    """A clerk of group G01 uploads a scanned document on the household's file page."""
    with TestClient(create_app(url, Settings()), base_url=BASE) as client:
        log_in_page(client, CLERK_G01)
        answer = client.post(
            f"/households/{household}/file",
            data={"csrf": csrf_of(client.get("/").text), "kind": kind},
            files={"file": (f"{kind}.pdf", content, "application/pdf")},
        )
        assert answer.status_code == 200, answer.text
    return hashlib.sha256(content).hexdigest()


def served(url: str, staff: str, household: str, digest: str) -> tuple[int, bytes]:
    with TestClient(create_app(url, Settings()), base_url=BASE) as client:
        log_in_page(client, staff)
        answer = client.get(f"/households/{household}/documents/{digest}")
        return answer.status_code, answer.content


def test_a_copy_serves_the_same_documents_for_the_same_households(
    stores: tuple[str, str],
) -> None:
    source, target = stores
    id_card = upload(source, "XC-0002", "id_card", ID_CARD)
    hukou = upload(source, "XC-0001", "hukou", HUKOU)
    copied = oneruler("copy", "--from", source, "--to", target, "--json")
    assert copied.exit_code == 0, copied.output
    report = json.loads(copied.stdout)
    assert (report["documents"], report["document_uploads"]) == (2, 2)
    assert report["target_log"] == report["source_log"]
    for staff in (CLERK_G01, SUPERVISOR):
        assert served(target, staff, "XC-0002", id_card) == (200, ID_CARD)
        assert served(target, staff, "XC-0001", hukou) == (200, HUKOU)
    # Carried with the households they were uploaded for, and no others.
    assert served(target, SUPERVISOR, "XC-0001", id_card)[0] == 404
    assert oneruler("verify", "--db", target).exit_code == 0


def test_a_copy_names_its_documents_and_a_ledger_without_any_says_nothing_of_them(
    stores: tuple[str, str], tmp_path: Path
) -> None:
    source, target = stores
    plain = oneruler("copy", "--from", source, "--to", tmp_path / "plain.db")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("copied 46 events, 41 command ids and 0 checkpoints from ")
    assert "with 0 copied checkpoints; its read models" in plain.stdout
    upload(source, "XC-0002", "id_card", ID_CARD)
    copied = oneruler("copy", "--from", source, "--to", target)
    assert copied.exit_code == 0, copied.output
    first, *_, proved = copied.stdout.splitlines()
    assert first.startswith("copied 47 events, 42 command ids, 0 checkpoints and 1 document from ")
    assert "with 0 copied checkpoints and 1 document each holding its SHA-256's bytes;" in proved


def tamper(url: str, digest: str, content: bytes) -> None:
    """Someone with the database changes a kept document's bytes (no event covers them)."""
    ledger = open_ledger(url, must_exist=True)
    try:
        recorder = recorder_of(ledger)
        with recorder.log_transaction(commit=True) as c:
            c.execute(
                recorder.log.dialect.sql(f"UPDATE {TABLE} SET content = ? WHERE sha256 = ?"),
                [content, digest],
            )
    finally:
        ledger.close()


def test_a_document_changed_in_the_source_refuses_the_copy_and_writes_nothing(
    stores: tuple[str, str],
) -> None:
    source, target = stores
    digest = upload(source, "XC-0002", "id_card", ID_CARD)
    forged = b"%PDF-1.4 someone else's ID card"
    tamper(source, digest, forged)
    refused = oneruler("copy", "--from", source, "--to", target)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: the scanned document kept in {display_url(resolve_url(source))} under "
        f"SHA-256 {digest} does not hold that digest's bytes (its {len(forged)} bytes hash "
        f"to {hashlib.sha256(forged).hexdigest()}), so the ledger was not copied; restore "
        "that document's bytes from a backup, then copy again.\n"
    )
    # Nothing written: an empty ledger, which the restored ledger's copy then fills.
    assert oneruler("verify", "--db", target).stdout.startswith("OK: 0 events")
    tamper(source, digest, ID_CARD)
    copied = oneruler("copy", "--from", source, "--to", target)
    assert copied.exit_code == 0, copied.output
    assert served(target, CLERK_G01, "XC-0002", digest) == (200, ID_CARD)


# 1 write marks the target, 5 pages of 10 events and 5 of command ids (48 events, 43
# ids), then one document to a batch (the batch made one byte), then the uploads' page.
DOCUMENT_WRITES = (12, 13, 14)


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
@pytest.mark.parametrize("step", DOCUMENT_WRITES)
def test_a_copy_stopped_while_writing_documents_is_resumed_whole(
    monkeypatch: pytest.MonkeyPatch, stores: tuple[str, str], step: int, committed: bool
) -> None:
    source, target = stores
    id_card = upload(source, "XC-0002", "id_card", ID_CARD)
    hukou = upload(source, "XC-0001", "hukou", HUKOU)
    monkeypatch.setattr(ledger.copy, "DOCUMENT_BATCH_BYTES", 1)
    assert stop_copy(monkeypatch, source, target, step, committed)
    assert oneruler("verify", "--db", target).exit_code == 2  # marked unfinished
    finished = oneruler("copy", "--resume", "--from", source, "--to", target, "--json")
    assert finished.exit_code == 0, finished.output
    report = json.loads(finished.stdout)
    assert (report["documents"], report["document_uploads"]) == (2, 2)
    assert served(target, SUPERVISOR, "XC-0002", id_card) == (200, ID_CARD)
    assert served(target, SUPERVISOR, "XC-0001", hukou) == (200, HUKOU)
