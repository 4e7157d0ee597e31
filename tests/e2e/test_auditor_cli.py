"""The auditor's checks at the command line (issue 17): a document attached from its
file, villages declared, errors naming the options, an unknown cmd said first, reads
--known-at a recorded time, and report late-entries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.e2e.test_ruler_cli import build, oneruler, refused, stored
from tests.integration.test_consistency import ruler_programme


@pytest.fixture
def following(tmp_path: Path) -> str:
    return build(tmp_path, ruler_programme())


def history(db: str, household: str) -> list[dict[str, object]]:
    result = oneruler("household", "history", household, "--db", db, "--json")
    events: list[dict[str, object]] = json.loads(result.stdout)["events"]
    return events


def test_a_document_is_attached_from_its_file(following: str, tmp_path: Path) -> None:
    scan = tmp_path / "H01-id_card.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned id card")
    result = oneruler(
        "document",
        "attach",
        "--household",
        "H01",
        "--kind",
        "id_card",
        "--file",
        scan,
        "--actor",
        "c1",
        "--db",
        following,
    )
    assert result.exit_code == 0, result.output
    data = history(following, "H01")[-1]["data"]
    assert data == {
        "kind": "id_card",
        "sha256": hashlib.sha256(b"%PDF-1.4 scanned id card").hexdigest(),
        "filename": "H01-id_card.pdf",
        "size": 24,
    }


def test_a_missing_file_is_refused_and_nothing_appended(following: str, tmp_path: Path) -> None:
    before = stored(following)
    result = oneruler(
        "document",
        "attach",
        "--household",
        "H01",
        "--kind",
        "id_card",
        "--file",
        tmp_path / "a.pdf",
        "--actor",
        "c1",
        "--db",
        following,
    )
    assert result.exit_code == 2
    assert f"{tmp_path / 'a.pdf'} does not exist; give the path of the scanned file." in (
        result.stderr
    )
    assert stored(following) == before


def test_a_document_kind_typo_names_the_nearest(following: str, tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"scan")
    before = stored(following)
    refused(
        oneruler(
            "document",
            "attach",
            "--household",
            "H01",
            "--kind",
            "id-card",
            "--file",
            scan,
            "--actor",
            "c1",
            "--db",
            following,
        ),
        1,
        "document kind id-card is not one a published policy requires (the nearest: "
        "id_card); use one of agreement, bank_account, hukou, id_card, property_certificate, "
        "survey_form, valuation_report, or other:NAME for another document.",
    )
    assert stored(following) == before


def test_a_village_is_added_then_households_registered_in_it(following: str) -> None:
    register = (
        "household",
        "register",
        "--household",
        "H09",
        "--group",
        "G01",
        "--village",
        "五村",
        "--head",
        "孙九",
        "--db",
        following,
    )
    refused(
        oneruler(*register),
        1,
        "village 五村 is not declared (the nearest: 一村); check the name, or declare it "
        "first (oneruler village add --village 五村).",
    )
    assert oneruler("village", "add", "--village", "五村", "--db", following).exit_code == 0
    assert oneruler(*register).exit_code == 0


def test_an_invalid_id_number_names_the_option(following: str) -> None:
    before = stored(following)
    refused(
        oneruler(
            "household",
            "register",
            "--household",
            "H09",
            "--group",
            "G01",
            "--village",
            "一村",
            "--head",
            "孙九",
            "--id-number",
            "123",
            "--db",
            following,
        ),
        2,
        "--id-number 123 is not a resident ID number: it has 18 characters, 17 digits and "
        "a check digit (0-9 or X); copy it again from the ID card.",
    )
    assert stored(following) == before


def test_an_agreement_error_names_the_options_not_the_fields(following: str) -> None:
    refused(
        oneruler(
            "agreement",
            "sign",
            "--household",
            "H01",
            "--agreement",
            "A-2",
            "--method",
            "monetary",
            "--amount",
            "1.00",
            "--approved-by",
            "sup 1",
            "--actor",
            "c1",
            "--db",
            following,
        ),
        2,
        '--approved-by "sup 1" must not contain spaces.',
    )


def test_an_unknown_cmd_is_said_first(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x1", "cmd": "frobnicate"}\n', encoding="utf-8")
    result = oneruler("ingest", path, "--db", tmp_path / "l.db", "--json")
    reason = json.loads(result.stdout)["rejections"][0]["reason"]
    assert reason.startswith("unknown cmd 'frobnicate'; use one of enroll_staff, publish_policy")


def test_known_at_before_anything_was_recorded(following: str) -> None:
    refused(
        oneruler("household", "show", "H01", "--known-at", "2018-03-01", "--db", following),
        1,
        "H01 was not yet recorded at 2018-03-01T23:59:59.999999+08:00; give a later --known-at.",
    )
    empty = oneruler(
        "report",
        "groups",
        "--known-at",
        "2018-03-01",
        "--as-of",
        "2018-03-31",
        "--json",
        "--db",
        following,
    )
    assert json.loads(empty.stdout)["total"]["households"] == 0
    as_of = ("--as-of", "2018-03-31", "--json", "--db", following)
    now = oneruler("report", "groups", "--known-at", "2999-01-01", *as_of)
    assert json.loads(now.stdout) == json.loads(oneruler("report", "groups", *as_of).stdout)


def test_report_late_entries_of_a_programme_entered_years_after(following: str) -> None:
    result = oneruler("report", "late-entries", "--json", "--db", following)
    document = json.loads(result.stdout)
    assert document["window_days"] == 3
    # Entered years after the programme (as the tests do): everything is late.
    assert len(document["late"]) == stored(following)
    assert document["after_checkpoint"] == []
    table = oneruler("report", "late-entries", "--window-days", "366", "--db", following)
    count = stored(following)
    assert (
        table.stdout.splitlines()[0] == f"recorded more than 366 days after they happened: {count}"
    )
    assert table.stdout.splitlines()[-1] == "changed a figure of a bulletin already checkpointed: 0"
