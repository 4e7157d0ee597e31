"""The `oneruler` command line through click's CliRunner: exact exit statuses, the
JSON shapes of specs/cli.md and specs/ingest.md, one-line refusals that append
nothing, and business time (as-of, late-arriving events)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.settings import Settings
from ledger.store import open_ledger
from ledger.workers import launcher
from tests.credentials import logged_in, token_for

# The environment must not choose the ledger or the actor for a test.
ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None}

# The sample programme: 41 commands, 46 events (2 groups, 6 staff, 1 policy and the
# register that lists it, 3 villages declared, 4 households x (registered, surveyed,
# valued), a correcting survey and the review after it, a supervisor's approval, 2
# agreements, 7 documents, a payout (requested + indexed, confirmed + its bank
# reference indexed), a vacating, a complaint (filed + attached to XC-0003) and its
# resolution).
SAMPLE_COMMANDS = 41
SAMPLE_EVENTS = 46

REQUIRED = [
    "id_card",
    "hukou",
    "property_certificate",
    "survey_form",
    "valuation_report",
    "agreement",
    "bank_account",
]
SHA = "c83070206c4f8a36051726adbfeba1d68c7ce32a764a3f65004cbdf5f3de8a81"


def oneruler(
    *args: Any,
    input: str | bytes | None = None,
    env: dict[str, str | None] | None = None,
    settings: Settings | None = None,
) -> Result:
    """A run of the command line; a write is logged in as its actor (tests/credentials.py)
    unless env gives a credential; the ledger tuned by settings, if given."""
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        input=input,
        env=logged_in(args, {**ENV, **(env or {})}),
        catch_exceptions=False,
        obj=settings,
    )


def stored(db: str) -> int:
    """How many events the ledger holds, read by a freshly opened ledger."""
    ledger = open_ledger(db)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def write_lines(path: Path, lines: list[str | dict[str, Any]]) -> Path:
    path.write_text(
        "".join(
            (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
            for line in lines
        ),
        encoding="utf-8",
    )
    return path


def show(db: str, household: str, *extra: str) -> dict[str, Any]:
    result = oneruler("household", "show", household, "--db", db, "--json", *extra)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def refused(result: Result, db: str, before: int, code: int, message: str) -> None:
    """Exit status, one line on standard error, nothing on standard output, nothing appended."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
    assert stored(db) == before


@pytest.fixture
def db(db_path: Path) -> str:
    return str(db_path)


@pytest.fixture
def sample_file(tmp_path: Path, sample_lines: list[str]) -> Path:
    return write_lines(tmp_path / "xingcheng-small.jsonl", list(sample_lines))


@pytest.fixture
def sample_db(db: str, sample_file: Path) -> str:
    result = oneruler("ingest", sample_file, "--db", db)
    assert result.exit_code == 0, result.output
    return db


def line(cmd: str, actor: str, at: str, command_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": command_id, "cmd": cmd, "actor": actor, "at": at, **fields}


# --- ingest ------------------------------------------------------------------------------


def test_ingesting_the_sample_then_again_appends_nothing_the_second_time(
    db: str, sample_file: Path
) -> None:
    first = oneruler("ingest", sample_file, "--db", db, "--json")
    assert first.exit_code == 0
    assert json.loads(first.stdout) == {
        "applied": SAMPLE_COMMANDS,
        "skipped": 0,
        "rejected": 0,
        "rejections": [],
    }
    assert first.stderr == ""
    assert stored(db) == SAMPLE_EVENTS

    again = oneruler("ingest", sample_file, "--db", db, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout) == {
        "applied": 0,
        "skipped": SAMPLE_COMMANDS,
        "rejected": 0,
        "rejections": [],
    }
    assert stored(db) == SAMPLE_EVENTS

    human = oneruler("ingest", sample_file, "--db", db)
    assert human.exit_code == 0
    assert human.stdout == "applied 0, skipped 41 (already applied), rejected 0\n"
    assert human.stderr == ""
    assert stored(db) == SAMPLE_EVENTS


def test_ingest_reads_standard_input(db: str, sample_lines: list[str]) -> None:
    result = oneruler("ingest", "-", "--db", db, input="\n".join(sample_lines[:3]) + "\n\n")
    assert result.exit_code == 0
    assert result.stdout == "applied 3, skipped 0 (already applied), rejected 0\n"
    assert stored(db) == 5


def test_a_failed_second_process_is_said_on_standard_error_and_nothing_is_missing(
    db: str, sample_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger import ingest as ingest_module
    from tests.integration.test_contract import _FailingFollower

    monkeypatch.setattr(ingest_module, "Follower", _FailingFollower)
    result = oneruler(
        "ingest",
        sample_file,
        "--db",
        db,
        "--batch-size",
        "4",
        "--json",
        settings=Settings(follower_after=1),
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["applied"] == SAMPLE_COMMANDS
    assert result.stderr == (
        "the second process keeping the read models stopped (OperationalError: unable to "
        "open); this one brought them up to date instead.\n"
    )
    shown = oneruler("household", "show", "XC-0001", "--db", db, "--json")
    assert json.loads(shown.stdout)["status"] == "paid"


AT = "2018-03-20T10:00:00+08:00"
# A scanned document for `document attach --file` (any file that exists will do).
SCAN = __file__
COMMANDS = (
    "enroll_staff, publish_policy, create_group, add_village, register_household, "
    "record_survey, record_valuation, sign_agreement, approve_deviation, refuse_deviation, "
    "void_agreement, attach_document, record_vacated, "
    "file_complaint, acknowledge_complaint, add_to_complaint, note_complaint, "
    "assign_complaint, resolve_complaint, "
    "reopen_complaint, request_payout, confirm_payout, "
    "suspend_staff, reinstate_staff, change_staff_role, transfer_staff"
)

# Each line of the file, and the rejection it must get (None: not rejected). Line
# numbers count every line of the file, blank ones included.
BAD_LINES: list[tuple[str | dict[str, Any], dict[str, Any] | None]] = [
    ('{"id": "bad-01", "cmd": record_vacated, "actor": "s-001"}',
     {"id": None, "reason": "the line is not valid JSON (Expecting value at column 25)."}),
    ("", None),  # a blank line is neither applied, skipped nor rejected, but has a number
    (line("record_vacated", "s-001", AT, "bad-03"),
     {"id": "bad-03", "reason": "missing field household; record_vacated needs household."}),
    ({"cmd": "record_vacated", "actor": "s-001", "household": "XC-0001"},
     {"id": None, "reason": "missing field id, at; every command needs id, cmd, actor and at."}),
    (line("request_payout", "s-002", AT, "bad-05", payout="P-0009", household="XC-0004",
          amount=1000.5),
     {"id": "bad-05", "reason": 'amount must be a decimal string such as "356800.00", '
                                "not the number 1000.5."}),
    (line("record_survey", "s-002", AT, "bad-06", household="XC-0004", residents=3,
          building_area_m2={"brick_concrete": "110.50"}, land_area_m2="-20.00", reason="re"),
     {"id": "bad-06", "reason": 'land_area_m2 must not be negative (got "-20.00").'}),
    (line("record_survey", "s-002", AT, "bad-07", household="XC-0004", residents=3,
          building_area_m2={"brick_concrete": "-110.50"}, land_area_m2="20.00", reason="re"),
     {"id": "bad-07", "reason": 'building_area_m2.brick_concrete must not be negative '
                                '(got "-110.50").'}),
    (line("record_vacated", "s-001", AT, "bad-08", household="XC-9999"),
     {"id": "bad-08", "reason": "unknown household XC-9999: register it first."}),
    (line("record_survey", "s-010", AT, "bad-09", household="XC-0004", residents=3,
          building_area_m2={"brick_concrete": "110.50"}, land_area_m2="20.00", reason="re"),
     {"id": "bad-09", "reason": "s-010 is appraiser staff and may not record a survey; "
                                "only clerk staff may."}),
    (line("attach_document", "s-001", AT, "bad-10", household="XC-0003", kind="id_card",
          sha256=SHA, filename="id.pdf"),
     {"id": "bad-10", "reason": "s-001 is a clerk of G01 and may not attach a document for a "
                                "household of G02; a clerk of G02 must."}),
    (line("record_vacated", "s-002", "2018-03-20T10:00:00", "bad-11", household="XC-0004"),
     {"id": "bad-11", "reason": 'at "2018-03-20T10:00:00" has no UTC offset; add one, such as '
                                '"2018-03-01T09:00:00+08:00".'}),
    (line("demolish", "s-002", AT, "bad-12", household="XC-0004"),
     {"id": "bad-12", "reason": f"unknown cmd 'demolish'; use one of {COMMANDS}."}),
    (line("record_vacated", "s-002", AT, "bad-13", household="XC-0004", keys="2"),
     {"id": "bad-13", "reason": "unknown field keys for record_vacated; its fields are "
                                "household, chose_early."}),
    (line("sign_agreement", "s-002", AT, "bad-14", household="XC-0004", agreement="A-0004",
          method="monetary", amount="379100.00"),
     {"id": "bad-14", "reason": "the amount 379100.00 differs from the entitlement 399100.00 "
                                "under policy XC-2018 version 1; sign for the entitlement, or "
                                "give a deviation with a reason and a supervisor's approval."}),
    (line("attach_document", "s-002", AT, "good-15", household="XC-0004", kind="id_card",
          sha256=SHA, filename="XC-0004-id_card.pdf"),
     None),
]  # fmt: skip


def bad_file(path: Path) -> tuple[Path, list[dict[str, Any]]]:
    texts = [
        entry if isinstance(entry, str) else json.dumps(entry, ensure_ascii=False)
        for entry, _ in BAD_LINES
    ]
    data = "".join(text + "\n" for text in texts).encode("utf-8") + b"\xff\xfe not utf-8\n"
    path.write_bytes(data)
    expected = [
        {"line": number, **rejection}
        for number, (_, rejection) in enumerate(BAD_LINES, start=1)
        if rejection is not None
    ]
    expected.append(
        {
            "line": len(BAD_LINES) + 1,
            "id": None,
            "reason": "the line is not UTF-8 text; save the file as UTF-8.",
        }
    )
    return path, expected


def test_bad_lines_are_rejected_with_line_and_reason_and_append_nothing(
    sample_db: str, tmp_path: Path
) -> None:
    path, expected = bad_file(tmp_path / "bad.jsonl")
    before = stored(sample_db)
    result = oneruler("ingest", path, "--db", sample_db, "--json")
    assert result.exit_code == 1
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert list(report) == ["applied", "skipped", "rejected", "rejections"]
    assert (report["applied"], report["skipped"], report["rejected"]) == (1, 0, 14)
    assert sorted(report["rejections"], key=lambda r: r["line"]) == expected
    # Only the good line (a document) was appended.
    assert stored(sample_db) == before + 1
    assert show(sample_db, "XC-0004")["missing_documents"] == REQUIRED[1:]

    again = oneruler("ingest", path, "--db", sample_db, "--json")
    assert again.exit_code == 1
    report = json.loads(again.stdout)
    assert (report["applied"], report["skipped"], report["rejected"]) == (0, 1, 14)
    assert stored(sample_db) == before + 1


def test_bad_lines_in_human_output(sample_db: str, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            "not json",
            line("record_vacated", "s-001", AT, "bad-2", household="XC-9999"),
            line("attach_document", "s-002", AT, "good-3", household="XC-0004", kind="hukou",
                 sha256=SHA, filename="hukou.pdf"),
        ],
    )  # fmt: skip
    result = oneruler("ingest", path, "--db", sample_db)
    assert result.exit_code == 1
    assert sorted(result.stderr.splitlines()) == [
        "line 1 (no id): the line is not valid JSON (Expecting value at column 1).",
        "line 2 (bad-2): unknown household XC-9999: register it first.",
    ]
    assert result.stdout == "applied 1, skipped 0 (already applied), rejected 2\n"


def test_ingest_of_a_missing_file_is_bad_usage(db: str, tmp_path: Path) -> None:
    result = oneruler("ingest", tmp_path / "nope.jsonl", "--db", db)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for 'FILE': '{tmp_path / 'nope.jsonl'}': No such file or directory"
    )


def test_a_line_cut_short_is_reported_where_it_ends(sample_db: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "cut.jsonl", ['{"id": "cut-1", "cmd": "record_vacated"'])
    report = json.loads(oneruler("ingest", path, "--db", sample_db, "--json").stdout)
    assert report["rejections"] == [
        {"line": 1, "id": None,
         "reason": "the line is not valid JSON (Expecting ',' delimiter at column 40)."}
    ]  # fmt: skip


def test_a_cmd_that_is_not_a_name_is_an_unknown_cmd(sample_db: str, tmp_path: Path) -> None:
    odd = {**line("record_vacated", "s-002", AT, "odd-1", household="XC-0004"),
           "cmd": ["record_vacated"]}  # fmt: skip
    path = write_lines(tmp_path / "odd.jsonl", [odd])
    result = oneruler("ingest", path, "--db", sample_db, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rejections"] == [
        {
            "line": 1,
            "id": "odd-1",
            "reason": f"unknown cmd ['record_vacated']; use one of {COMMANDS}.",
        }
    ]


def test_rejections_are_listed_in_line_order(sample_db: str, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [line("record_vacated", "s-001", AT, "bad-1", household="XC-9999"), "not json"],
    )
    report = json.loads(oneruler("ingest", path, "--db", sample_db, "--json").stdout)
    assert [r["line"] for r in report["rejections"]] == [1, 2]


def test_a_corrected_line_with_the_id_of_a_rejected_line_is_applied(
    sample_db: str, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "retry.jsonl",
        [
            line("record_vacated", "s-002", AT, "vac-4", household="XC-0004"),  # not signed
            line("sign_agreement", "s-002", AT, "sign-4", household="XC-0004",
                 agreement="A-0004", method="monetary", amount="399100.00"),
            line("record_vacated", "s-002", AT, "vac-4", household="XC-0004"),  # now it can
        ],
    )  # fmt: skip
    report = json.loads(oneruler("ingest", path, "--db", sample_db, "--json").stdout)
    assert (report["applied"], report["skipped"], report["rejected"]) == (2, 0, 1)
    assert show(sample_db, "XC-0004")["vacated"] is True


def test_a_number_too_large_to_store_is_rejected(sample_db: str, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "big.jsonl",
        [
            line("record_survey", "s-002", AT, "big-1", household="XC-0004",
                 residents=10**30, building_area_m2={"brick_concrete": "110.50"},
                 land_area_m2="20.00", reason="re-measured"),
            line("attach_document", "s-002", AT, "good-2", household="XC-0004",
                 kind="hukou", sha256=SHA, filename="hukou.pdf"),
        ],
    )  # fmt: skip
    before = stored(sample_db)
    result = oneruler("ingest", path, "--db", sample_db, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["applied"], report["rejected"]) == (1, 1)
    assert stored(sample_db) == before + 1


def test_a_survey_with_odd_structure_names_leaves_the_ledger_readable(
    sample_db: str, tmp_path: Path
) -> None:
    before = show(sample_db, "XC-0001")
    path = write_lines(
        tmp_path / "odd.jsonl",
        [
            line("record_survey", "s-002", AT, "odd-1", household="XC-0004", residents=3,
                 building_area_m2={"_type_": "1", "_data_": "2"}, land_area_m2="20.00",
                 reason="re-measured"),
        ],
    )  # fmt: skip
    CliRunner().invoke(cli, ["ingest", str(path), "--db", sample_db], env=ENV)
    result = CliRunner().invoke(cli, ["household", "show", "XC-0001", "--db", sample_db, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == before


# --- household show ------------------------------------------------------------------------

# The figures by hand, from policy XC-2018 version 1:
#   rates brick_concrete 3200.00, land:homestead 500.00; every sample household also
#   has a well appraised at 1500.00 and the per-household 2000.00 + 12000.00 = 14000.00;
#   early_signing 20000.00 if signed (or, before signing, asked about) by 31 March.
# XC-0001: 95.50 x 3200 = 305600 + 10000 + 1500 + 14000 + 20000 = 351100.00, signed for
#          that and paid in full (P-0001), all 7 documents, vacated.
# XC-0002: 100.50 x 3200 = 321600 + 10000 + 1500 + 14000 + 20000 = 367100.00; agreed
#          370000.00 with a supervisor-approved deviation; no documents.
# XC-0003: the review V-0003R: 108.20 x 3200 = 346240 + 10000 + 1500 + 14000 = 371740.00
#          today (the incentive lapsed, not signed); its complaint was resolved.
# XC-0004: 110.50 x 3200 = 353600 + 10000 + 1500 + 14000 = 379100.00 today.
SHOW = {
    "XC-0001": {
        "household": "XC-0001", "group": "G01", "village": "一村", "status": "paid",
        "entitlement": "351100.00", "agreed": "351100.00", "paid": "351100.00",
        "file_complete": True, "missing_documents": [], "vacated": True,
        "open_complaints": 0, "events": 14,
    },
    "XC-0002": {
        "household": "XC-0002", "group": "G01", "village": "一村", "status": "signed",
        "entitlement": "367100.00", "agreed": "370000.00", "paid": "0.00",
        "file_complete": False, "missing_documents": REQUIRED, "vacated": False,
        "open_complaints": 0, "events": 5,
    },
    "XC-0003": {
        "household": "XC-0003", "group": "G02", "village": "二村", "status": "valued",
        "entitlement": "371740.00", "agreed": None, "paid": "0.00",
        "file_complete": False, "missing_documents": REQUIRED, "vacated": False,
        "open_complaints": 0, "events": 8,
    },
    "XC-0004": {
        "household": "XC-0004", "group": "G02", "village": "二村", "status": "valued",
        "entitlement": "379100.00", "agreed": None, "paid": "0.00",
        "file_complete": False, "missing_documents": REQUIRED, "vacated": False,
        "open_complaints": 0, "events": 3,
    },
}  # fmt: skip


@pytest.mark.parametrize("household", sorted(SHOW))
def test_household_show_json_has_the_shape_and_figures_of_the_spec(
    sample_db: str, household: str
) -> None:
    document = show(sample_db, household)
    assert list(document) == list(SHOW[household])
    assert document == SHOW[household]


def test_household_show_for_people(sample_db: str) -> None:
    result = oneruler("household", "show", "XC-0001", "--db", sample_db)
    assert result.exit_code == 0
    assert result.stdout == (
        "household          XC-0001\n"
        "group              G01\n"
        "village            一村\n"
        "status             paid\n"
        "entitlement        351100.00\n"
        "agreed             351100.00\n"
        "paid               351100.00\n"
        "file_complete      yes\n"
        "missing_documents  -\n"
        "vacated            yes\n"
        "open_complaints    0\n"
        "events             14\n"
    )


def test_household_show_as_of_a_date_before_signing(sample_db: str) -> None:
    # 8 March, end of day: XC-0001 was valued (the incentive still applies), no file yet.
    assert show(sample_db, "XC-0001", "--as-of", "2018-03-08") == {
        **SHOW["XC-0001"], "status": "valued", "agreed": None, "paid": "0.00",
        "file_complete": False, "missing_documents": REQUIRED, "vacated": False, "events": 3,
    }  # fmt: skip
    # The moment of signing is included; a second before it is not.
    assert show(sample_db, "XC-0001", "--as-of", "2018-03-10T15:00:00+08:00")["status"] == (
        "signed"
    )
    assert show(sample_db, "XC-0001", "--as-of", "2018-03-10T07:00:00+00:00")["status"] == (
        "signed"
    )
    assert show(sample_db, "XC-0001", "--as-of", "2018-03-10T14:59:59+08:00")["status"] == (
        "valued"
    )
    # Signed, the file complete, but not yet paid.
    assert show(sample_db, "XC-0001", "--as-of", "2018-03-11") == {
        **SHOW["XC-0001"], "status": "signed", "paid": "0.00", "vacated": False, "events": 11,
    }  # fmt: skip


def test_household_show_as_of_before_the_review_and_the_resolution(sample_db: str) -> None:
    # 10 March: still the first valuation V-0003, 105.50 x 3200 = 337600 + 10000 + 1500
    # + 14000 + 20000 (asked about before 31 March) = 383100.00; the complaint filed on
    # 8 March is open.
    assert show(sample_db, "XC-0003", "--as-of", "2018-03-10") == {
        **SHOW["XC-0003"], "entitlement": "383100.00", "open_complaints": 1, "events": 5,
    }  # fmt: skip
    # 20 March: the review (108.20 m2) and the incentive: 371740 + 20000 = 391740.00.
    assert show(sample_db, "XC-0003", "--as-of", "2018-03-20") == {
        **SHOW["XC-0003"], "entitlement": "391740.00",
    }  # fmt: skip


def test_household_show_refusals(sample_db: str, tmp_path: Path) -> None:
    before = stored(sample_db)
    refused(
        oneruler("household", "show", "XC-9999", "--db", sample_db, "--json"),
        sample_db,
        before,
        1,
        "unknown household XC-9999: check the code, or register it first.",
    )
    refused(
        oneruler("household", "show", "XC-0001", "--db", sample_db, "--as-of", "2018-02-28"),
        sample_db,
        before,
        1,
        "XC-0001 was not yet registered at 2018-02-28T23:59:59.999999+08:00; give a later --as-of.",
    )
    refused(
        oneruler("household", "show", "XC-0001", "--db", sample_db, "--as-of", "8 March"),
        sample_db,
        before,
        2,
        'as-of "8 March" is not an ISO 8601 date-time; write it like "2018-03-01T09:00:00+08:00".',
    )


def test_an_as_of_time_without_offset_is_the_ledgers_own_time(sample_db: str) -> None:
    # A query is not a record: a time without offset means +08:00, as a bare date does.
    bare = oneruler(
        "household", "show", "XC-0001", "--db", sample_db, "--json", "--as-of", "2018-03-10T14:59"
    )
    offset = oneruler(
        "household",
        "show",
        "XC-0001",
        "--db",
        sample_db,
        "--json",
        "--as-of",
        "2018-03-10T14:59+08:00",
    )
    assert bare.exit_code == offset.exit_code == 0
    assert bare.stdout == offset.stdout
    assert json.loads(bare.stdout)["status"] == "valued"  # it signed at 15:00


def test_household_show_of_a_missing_ledger_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = oneruler("household", "show", "XC-0001", "--db", missing)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: there is no ledger at {missing}; check --db (or ONERULER_DB), "
        "or begin a new ledger with oneruler staff set-password admin.\n"
    )
    assert not missing.exists()
    history = oneruler("household", "history", "XC-0001", "--db", f"sqlite:///{missing}")
    assert history.exit_code == 2
    assert history.stderr.startswith(f"Error: there is no ledger at {missing};")


# --- household history -------------------------------------------------------------------


def history(db: str, household: str, *extra: str) -> dict[str, Any]:
    result = oneruler("household", "history", household, "--db", db, "--json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_household_history_json(sample_db: str) -> None:
    document = history(sample_db, "XC-0004")
    assert list(document) == ["household", "as_of", "events"]
    assert (document["household"], document["as_of"]) == ("XC-0004", None)
    events = document["events"]
    for event in events:
        assert list(event) == [
            "type", "version", "occurred_at", "recorded_at", "actor", "entered_by", "command",
            "data",
        ]  # fmt: skip
        assert datetime.fromisoformat(event.pop("recorded_at")).utcoffset() is not None
    assert events == [
        {
            "type": "Household.Registered", "version": 1,
            "occurred_at": "2018-03-01T09:04:00+08:00", "actor": "admin", "entered_by": "admin",
            "command": "xc-0013",
            "data": {"household": "XC-0004", "group": "G02", "village": "二村", "head": "赵六",
                     "id_number": "211481197001031004", "address": "兴城镇一村4号"},
        },
        {
            "type": "Household.Surveyed", "version": 2,
            "occurred_at": "2018-03-03T10:04:00+08:00", "actor": "s-002", "entered_by": "admin",
            "command": "xc-0020",
            "data": {"residents": 3, "building_area_m2": {"brick_concrete": "110.50"},
                     "land_area_m2": "20.00", "notes": None, "reason": None},
        },
        {
            "type": "Household.Valued", "version": 3,
            "occurred_at": "2018-03-06T10:04:00+08:00", "actor": "s-010", "entered_by": "admin",
            "command": "xc-0021",
            "data": {"valuation": "V-0004", "policy": "XC-2018", "policy_version": 1,
                     "items": [{"item": "building:brick_concrete", "quantity": "110.50"},
                               {"item": "land:homestead", "quantity": "20.00"},
                               {"item": "well", "value": "1500.00"}],
                     "reviews": None, "quantity_deviation": None, "dropped_reason": None},
        },
    ]  # fmt: skip


def test_household_history_includes_its_complaints_in_business_time(sample_db: str) -> None:
    events = history(sample_db, "XC-0003")["events"]
    assert [(e["type"], e["occurred_at"], e["actor"]) for e in events] == [
        ("Household.Registered", "2018-03-01T09:03:00+08:00", "admin"),
        ("Household.Surveyed", "2018-03-03T10:03:00+08:00", "s-002"),
        ("Household.Valued", "2018-03-06T10:03:00+08:00", "s-010"),
        ("Household.ComplaintAttached", "2018-03-08T11:00:00+08:00", "s-030"),
        ("Complaint.Filed", "2018-03-08T11:00:00+08:00", "s-030"),
        ("Household.Surveyed", "2018-03-12T09:30:00+08:00", "s-002"),
        ("Household.Valued", "2018-03-12T10:00:00+08:00", "s-010"),
        ("Complaint.Resolved", "2018-03-13T17:00:00+08:00", "s-020"),
    ]
    assert events[5]["data"]["reason"] == "复核重新丈量 (re-measured on review)"
    assert events[6]["data"]["reviews"] == "V-0003"
    assert events[7]["data"]["finding"] == "substantiated"
    as_of = history(sample_db, "XC-0003", "--as-of", "2018-03-08")
    assert as_of["as_of"] == "2018-03-08T23:59:59.999999+08:00"
    assert len(as_of["events"]) == 5


def test_a_late_event_lands_in_its_business_time_place(sample_db: str, tmp_path: Path) -> None:
    # Ingested after the valuation of 6 March, but it happened on 4 March (written in UTC).
    path = write_lines(
        tmp_path / "late.jsonl",
        [line("attach_document", "s-002", "2018-03-04T04:00:00+00:00", "late-1",
              household="XC-0004", kind="id_card", sha256=SHA, filename="id.pdf")],
    )  # fmt: skip
    assert oneruler("ingest", path, "--db", sample_db).exit_code == 0
    events = history(sample_db, "XC-0004")["events"]
    assert [(e["type"], e["occurred_at"]) for e in events] == [
        ("Household.Registered", "2018-03-01T09:04:00+08:00"),
        ("Household.Surveyed", "2018-03-03T10:04:00+08:00"),
        ("Household.DocumentAttached", "2018-03-04T04:00:00+00:00"),
        ("Household.Valued", "2018-03-06T10:04:00+08:00"),
    ]
    late, valued = events[2], events[3]
    assert late["command"] == "late-1"
    assert late["version"] == 4  # the fourth event the ledger recorded for XC-0004
    assert datetime.fromisoformat(late["recorded_at"]) > datetime.fromisoformat(
        valued["recorded_at"]
    )
    # As of 5 March the document is there and the valuation is not.
    early = history(sample_db, "XC-0004", "--as-of", "2018-03-05")["events"]
    assert [e["type"] for e in early] == [
        "Household.Registered", "Household.Surveyed", "Household.DocumentAttached",
    ]  # fmt: skip
    assert show(sample_db, "XC-0004", "--as-of", "2018-03-05") == {
        **SHOW["XC-0004"], "status": "surveyed", "entitlement": None,
        "missing_documents": REQUIRED[1:], "events": 3,
    }  # fmt: skip


def test_household_history_for_people(sample_db: str) -> None:
    result = oneruler("household", "history", "XC-0004", "--db", sample_db)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["occurred_at", "recorded_at", "actor", "event", "details"]
    assert [row.split()[0] for row in lines[2:]] == [
        "2018-03-01T09:04:00+08:00", "2018-03-03T10:04:00+08:00", "2018-03-06T10:04:00+08:00",
    ]  # fmt: skip
    # The sample was entered by the admin for its staff: both are shown where they differ.
    assert lines[2].split()[2] == "admin"
    assert lines[4].split()[2:6] == ["s-010", "(entered", "by", "admin)"]
    assert lines[4].split()[6:] == [
        "Household.Valued", "valuation=V-0004", "policy=XC-2018", "policy_version=1",
        'items=[{"item":', '"building:brick_concrete",', '"quantity":', '"110.50"},',
        '{"item":', '"land:homestead",', '"quantity":', '"20.00"},', '{"item":', '"well",',
        '"value":', '"1500.00"}]',
    ]  # fmt: skip


# --- policy show ------------------------------------------------------------------------


def test_policy_show(sample_db: str, sample_lines: list[str]) -> None:
    published = json.loads(sample_lines[0])["document"]
    result = oneruler("policy", "show", "XC-2018", "--db", sample_db, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "policy": "XC-2018", "version": 1, "versions": 1, "document": published,
    }  # fmt: skip
    people = oneruler("policy", "show", "XC-2018", "--db", sample_db)
    assert people.exit_code == 0
    lines = people.stdout.splitlines()
    assert (
        lines[0]
        == "兴城镇棚户区改造房屋征收补偿方案  (XC-2018 version 1 of 1, effective 2018-03-01)"
    )
    assert lines[-1] == "required documents: " + ", ".join(REQUIRED)
    assert "building:brick_concrete  3200.00" in lines
    before = stored(sample_db)
    refused(
        oneruler("policy", "show", "XC-2018", "--version", "2", "--db", sample_db),
        sample_db,
        before,
        1,
        "policy XC-2018 has no version 2; it has versions 1 to 1.",
    )
    refused(
        oneruler("policy", "show", "XC-2099", "--db", sample_db),
        sample_db,
        before,
        1,
        "unknown policy XC-2099: check the id, or publish it first.",
    )


# --- the other read commands ---------------------------------------------------------------


def test_report_groups_json_as_of_a_day(sample_db: str) -> None:
    result = oneruler("report", "groups", "--as-of", "2018-03-12", "--db", sample_db, "--json")
    assert result.exit_code == 0
    # 12 March: G01 both signed, XC-0001 paid with a complete file; G02 valued only,
    # with C-0001 (filed 8 March, resolved 13 March) open.
    assert json.loads(result.stdout) == {
        "as_of": "2018-03-12T23:59:59.999999+08:00",
        "groups": [
            {"group": "G01", "households": 2, "surveyed": 2, "valued": 2, "signed": 2,
             "signing_rate": 1.0, "files_complete": 1, "paid": 1, "open_complaints": 0},
            {"group": "G02", "households": 2, "surveyed": 2, "valued": 2, "signed": 0,
             "signing_rate": 0.0, "files_complete": 0, "paid": 0, "open_complaints": 1},
        ],
        "total": {"households": 4, "surveyed": 4, "valued": 4, "signed": 2,
                  "signing_rate": 0.5, "files_complete": 1, "paid": 1, "open_complaints": 1},
    }  # fmt: skip


def test_complaint_list_json(sample_db: str) -> None:
    result = oneruler("complaint", "list", "--db", sample_db, "--json")
    assert result.exit_code == 0
    (entry,) = json.loads(result.stdout)["complaints"]
    assert (entry["complaint"], entry["about"], entry["status"], entry["finding"]) == (
        "C-0001", {"household": "XC-0003"}, "resolved", "substantiated",
    )  # fmt: skip
    assert entry["filed_at"] == "2018-03-08T11:00:00+08:00"
    assert entry["resolved_at"] == "2018-03-13T17:00:00+08:00"
    open_only = oneruler("complaint", "list", "--open", "--db", sample_db, "--json")
    assert json.loads(open_only.stdout)["complaints"] == []


# --- the write commands ----------------------------------------------------------------------


def write(db: str, actor: str, at: str, command_id: str, *args: str) -> Result:
    return oneruler(*args, "--db", db, "--actor", actor, "--at", at, "--id", command_id)


def day(d: int, hour: int = 10) -> str:
    return f"2018-03-{d:02d}T{hour:02d}:00:00+08:00"


def test_every_write_command_takes_a_new_household_through_its_whole_way(
    sample_db: str, tmp_path: Path, sample_lines: list[str]
) -> None:
    db = sample_db
    # XC-0005 by hand: 60.25 x 2600 = 156650; 10 x 800 = 8000; 15.5 x 500 = 7750;
    # well 800; 14000 per household; 20000 for signing by 31 March: 207200.00.
    steps: list[tuple[tuple[str, ...], str, int]] = [
        (("admin", day(14), "w-01", "group", "create", "--group", "G03", "--name", "第三工作组",
          "--leader", "s-020"), "created group G03 (第三工作组) (command w-01)", 1),
        (("admin", day(14), "w-02", "staff", "enroll", "--staff", "s-003", "--name", "周清",
          "--role", "clerk", "--group", "G03"),
         "enrolled s-003 (周清) as clerk of G03 (command w-02)", 1),
        (("admin", day(14), "w-03", "household", "register", "--household", "XC-0005",
          "--group", "G03", "--village", "三村", "--head", "钱七", "--id-number",
          "211481197001051005", "--address", "兴城镇三村5号"),
         "registered household XC-0005 (钱七) in G03, 三村 (command w-03)", 1),
        (("s-003", day(15), "w-04", "survey", "record", "--household", "XC-0005",
          "--residents", "2", "--area", "brick_wood=60.25", "--area", "simple=10",
          "--land-area", "15.5", "--notes", "两层"),
         "recorded the survey of XC-0005 (command w-04)", 1),
        (("s-010", day(16), "w-05", "valuation", "record", "--household", "XC-0005",
          "--valuation", "V-0005", "--policy", "XC-2018", "--policy-version", "1",
          "--item", "building:brick_wood=60.25", "--item", "building:simple=10",
          "--item", "land:homestead=15.5", "--appraised", "well=800.00"),
         "recorded valuation V-0005 of XC-0005 under XC-2018 version 1 (command w-05)", 1),
        (("s-003", day(17), "w-06", "agreement", "sign", "--household", "XC-0005",
          "--agreement", "A-0005", "--method", "monetary", "--amount", "207200.00"),
         "recorded agreement A-0005 of XC-0005: 207200.00 yuan, monetary (command w-06)", 1),
        (("s-020", day(18), "w-07", "agreement", "void", "--household", "XC-0005",
          "--agreement", "A-0005", "--reason", "户主改选产权调换"),
         "voided agreement A-0005 of XC-0005 (command w-07)", 1),
        (("s-020", day(19), "w-07a", "agreement", "approve-deviation", "--household",
          "XC-0005", "--amount", "210000.00", "--reason", "楼层差价"),
         "approved 210000.00 yuan for XC-0005 (command w-07a)", 1),
        (("s-003", day(19), "w-08", "agreement", "sign", "--household", "XC-0005",
          "--agreement", "A-0005B", "--method", "property_swap", "--amount", "210000.00",
          "--deviation-reason", "楼层差价", "--approved-by", "s-020"),
         "recorded agreement A-0005B of XC-0005: 210000.00 yuan, property swap, "
         "a deviation approved by s-020 (command w-08)", 1),
        *[
            (("s-003", day(20), f"w-d{i}", "document", "attach", "--household", "XC-0005",
              "--kind", kind, "--file", SCAN),
             f"attached {kind} (test_cli.py) to the file of XC-0005 (command w-d{i})", 1)
            for i, kind in enumerate(REQUIRED)
        ],
        (("s-030", day(20, 11), "w-09", "complaint", "file", "--complaint", "C-0005",
          "--channel", "online", "--household", "XC-0005", "--summary", "邻居说补偿过高"),
         "filed complaint C-0005 about household XC-0005 (command w-09)\n"
         "tell the caller: acknowledged by 2018-03-22T11:00:00+08:00, "
         "resolved by 2018-04-04T11:00:00+08:00", 2),
        (("s-030", day(20, 12), "w-10", "complaint", "acknowledge", "--complaint", "C-0005",
          "--note", "已登记"), "acknowledged complaint C-0005 (command w-10)", 1),
        (("s-030", day(20, 13), "w-11", "complaint", "add", "--complaint", "C-0005",
          "--text", "来电补充"), "added to complaint C-0005 (command w-11)", 1),
        (("s-020", day(21), "w-12", "complaint", "resolve", "--complaint", "C-0005",
          "--finding", "unsubstantiated", "--outcome", "偏离经督导批准"),
         "resolved complaint C-0005: unsubstantiated (command w-12)", 1),
        (("s-030", day(21, 12), "w-13", "complaint", "reopen", "--complaint", "C-0005",
          "--reason", "举报人不服"), "reopened complaint C-0005 (command w-13)", 1),
        (("s-020", day(21, 15), "w-14", "complaint", "resolve", "--complaint", "C-0005",
          "--finding", "partial", "--outcome", "复查"),
         "resolved complaint C-0005: partial (command w-14)", 1),
        (("s-003", day(22), "w-15", "payout", "request", "--payout", "P-0005",
          "--household", "XC-0005", "--amount", "210000.00"),
         "requested payout P-0005 of 210000.00 yuan to XC-0005 (command w-15)", 2),
        (("s-040", day(22, 16), "w-16", "payout", "confirm", "--payout", "P-0005",
          "--bank-reference", "ICBC-20180322-0005"),
         "confirmed payout P-0005 of 210000.00 yuan to XC-0005 "
         "(bank reference ICBC-20180322-0005) (command w-16)", 2),
        (("s-003", day(25), "w-17", "household", "vacated", "--household", "XC-0005"),
         "recorded XC-0005 as vacated (command w-17)", 1),
    ]  # fmt: skip
    count = stored(db)
    for (actor, at, command_id, *args), output, events in steps:
        result = write(db, actor, at, command_id, *args)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{output}\n"
        assert result.stderr == ""
        count += events
        assert stored(db) == count

    # Policy version 2 from a file.
    document = {**json.loads(sample_lines[0])["document"], "version": 2,
                "effective": "2018-04-01"}  # fmt: skip
    policy_file = tmp_path / "xc-2018-v2.json"
    policy_file.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = write(db, "admin", day(26), "w-18", "policy", "publish", str(policy_file))
    assert result.exit_code == 0
    assert result.stdout == "published policy XC-2018 version 2 (command w-18)\n"
    assert stored(db) == count + 1

    assert show(db, "XC-0005") == {
        "household": "XC-0005", "group": "G03", "village": "三村", "status": "paid",
        "entitlement": "207200.00", "agreed": "210000.00", "paid": "210000.00",
        "file_complete": True, "missing_documents": [], "vacated": True,
        "open_complaints": 0, "events": 24,
    }  # fmt: skip
    assert show(db, "XC-0005", "--as-of", "2018-03-18")["status"] == "valued"
    assert show(db, "XC-0005", "--as-of", "2018-03-21T12:00:00+08:00")["open_complaints"] == 1
    shown = oneruler("policy", "show", "XC-2018", "--db", db, "--json")
    assert json.loads(shown.stdout)["versions"] == 2
    signed = [e for e in history(db, "XC-0005")["events"] if e["command"] == "w-08"]
    # The agreement names the supervisor's approval it rests on.
    assert signed[0]["data"]["deviation"] == {
        "reason": "楼层差价",
        "approved_by": "s-020",
        "approval": "w-07a",
    }
    assert signed[0]["data"]["entitlement"] == "207200.00"


# Each refused write: the arguments after the actor, time and id, the exit status, and
# the one sentence on standard error.
REFUSALS: list[tuple[tuple[str, ...], int, str]] = [
    (("s-010", AT, "survey", "record", "--household", "XC-0004", "--residents", "3",
      "--area", "brick_concrete=110.50", "--land-area", "20", "--reason", "re"),
     1, "s-010 is appraiser staff and may not record a survey; only clerk staff may."),
    (("s-001", AT, "document", "attach", "--household", "XC-0003", "--kind", "hukou",
      "--file", SCAN),
     1, "s-001 is a clerk of G01 and may not attach a document for a household of G02; "
        "a clerk of G02 must."),
    (("s-002", AT, "agreement", "sign", "--household", "XC-0004", "--agreement", "A-4",
      "--method", "monetary", "--amount", "379100.00"),
     1, "the amount 379100.00 differs from the entitlement 399100.00 under policy XC-2018 "
        "version 1; sign for the entitlement, or give a deviation with a reason and a "
        "supervisor's approval."),
    (("s-002", AT, "agreement", "sign", "--household", "XC-0004", "--agreement", "A-4",
      "--method", "monetary", "--amount", "400000.00", "--deviation-reason", "hardship",
      "--approved-by", "s-001"),
     1, "no supervisor's approval by s-001 on record allows XC-0004 to sign for 400000.00; "
        "a supervisor approves the amount first (agreement approve-deviation), or sign for "
        "the entitlement 399100.00."),
    (("s-002", AT, "agreement", "sign", "--household", "XC-0004", "--agreement", "A-4",
      "--method", "monetary", "--amount", "399100.00", "--deviation-reason", "none",
      "--approved-by", "s-020"),
     1, "the amount equals the entitlement 399100.00; remove the deviation."),
    (("s-020", AT, "agreement", "void", "--household", "XC-0001", "--agreement", "A-0001",
      "--reason", "x"),
     1, "agreement A-0001 of XC-0001 has payouts requested against it and cannot be voided."),
    (("s-001", AT, "agreement", "void", "--household", "XC-0002", "--agreement", "A-0002",
      "--reason", "x"),
     1, "s-001 is clerk staff and may not void an agreement; only supervisor staff may."),
    (("s-001", AT, "payout", "request", "--payout", "P-9", "--household", "XC-0002",
      "--amount", "1000.00"),
     1, "the file of XC-0002 is incomplete: missing " + ", ".join(REQUIRED) + "."),
    (("s-001", AT, "payout", "request", "--payout", "P-9", "--household", "XC-0001",
      "--amount", "1.00"),
     1, "a payout of 1.00 would bring XC-0001's payouts to 351101.00, more than the agreed "
        "351100.00; request at most 0.00."),
    (("s-002", AT, "payout", "request", "--payout", "P-9", "--household", "XC-0004",
      "--amount", "1.00"),
     1, "XC-0004 has no signed agreement in force."),
    (("s-040", AT, "payout", "confirm", "--payout", "P-0001", "--bank-reference", "X-1"),
     1, "payout P-0001 was already confirmed by s-040."),
    (("s-040", AT, "payout", "confirm", "--payout", "P-0404", "--bank-reference", "X-1"),
     1, "unknown payout P-0404: request it first."),
    (("s-001", AT, "household", "vacated", "--household", "XC-0001"),
     1, "XC-0001 was already recorded as vacated."),
    (("s-002", AT, "household", "vacated", "--household", "XC-0004"),
     1, "XC-0004 has no signed agreement in force."),
    (("s-020", AT, "complaint", "resolve", "--complaint", "C-0001", "--finding", "partial",
      "--outcome", "again"),
     1, "complaint C-0001 is resolved; reopen it before you resolve it."),
    (("s-040", AT, "complaint", "reopen", "--complaint", "C-0001", "--reason", "x"),
     1, "s-040 is finance staff and may not reopen a complaint; only hotline or supervisor "
        "staff may."),
    (("s-030", AT, "complaint", "file", "--complaint", "C-0001", "--channel", "letter",
      "--household", "XC-0003", "--summary", "again"),
     1, "complaint C-0001 already exists."),
    (("s-030", AT, "complaint", "acknowledge", "--complaint", "C-0404"),
     1, "unknown complaint C-0404: file it first."),
    (("admin", AT, "household", "register", "--household", "XC-0001", "--group", "G01",
      "--village", "一村", "--head", "张三"),
     1, "household XC-0001 is already registered."),
    (("admin", AT, "household", "register", "--household", "XC-0009", "--group", "G09",
      "--village", "九村", "--head", "某"),
     1, "unknown group G09: create it first."),
    (("s-001", AT, "staff", "enroll", "--staff", "s-005", "--name", "某", "--role", "clerk",
      "--group", "G01"),
     1, "s-001 is clerk staff and may not enroll staff; only admin staff may."),
    (("admin", AT, "group", "create", "--group", "G01", "--name", "again"),
     1, "group G01 already exists."),
    (("s-002", "2999-01-01T00:00:00+08:00", "household", "vacated", "--household", "XC-0004"),
     1, "at 2999-01-01T00:00:00+08:00 is in the future; business time cannot be later "
        "than now."),
    (("s-002", "2018-03-20T10:00:00", "household", "vacated", "--household", "XC-0004"),
     2, 'at "2018-03-20T10:00:00" has no UTC offset; add one, such as '
        '"2018-03-01T09:00:00+08:00".'),
    (("s-001", AT, "payout", "request", "--payout", "P-9", "--household", "XC-0001",
      "--amount", "12.345"),
     2, '--amount has more than two decimals (got "12.345"); give at most two, '
        'such as "356800.00".'),
    (("s-001", AT, "payout", "request", "--payout", "P-9", "--household", "XC-0001",
      "--amount", "0"),
     2, "--amount must be more than zero."),
    (("admin", AT, "staff", "enroll", "--staff", "s-006", "--name", "某", "--role", "clerk"),
     2, "clerk s-006 needs a group: add the group they work for."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "message"), REFUSALS, ids=[m[:40] for _, _, m in REFUSALS]
)
def test_a_refused_write_appends_nothing_and_says_why_in_one_line(
    sample_db: str, args: tuple[str, ...], code: int, message: str
) -> None:
    actor, at, *rest = args
    before = stored(sample_db)
    result = write(sample_db, actor, at, "refused-1", *rest)
    refused(result, sample_db, before, code, message)


def test_a_refused_command_does_not_use_up_its_id(sample_db: str) -> None:
    args = ("household", "vacated", "--household", "XC-0004")
    before = stored(sample_db)
    refused(write(sample_db, "s-002", AT, "vac-4", *args), sample_db, before, 1,
            "XC-0004 has no signed agreement in force.")  # fmt: skip
    signing = ("agreement", "sign", "--household", "XC-0004", "--agreement", "A-0004",
               "--method", "monetary", "--amount", "399100.00")  # fmt: skip
    assert write(sample_db, "s-002", AT, "sign-4", *signing).exit_code == 0
    result = write(sample_db, "s-002", AT, "vac-4", *args)
    assert result.exit_code == 0
    assert result.stdout == "recorded XC-0004 as vacated (command vac-4)\n"
    assert stored(sample_db) == before + 2


def test_bad_usage_is_exit_2_with_click_s_message(sample_db: str, tmp_path: Path) -> None:
    before = stored(sample_db)
    cases = [
        (("s-002", AT, "survey", "record", "--household", "XC-0004", "--residents", "3",
          "--area", "brick_concrete", "--land-area", "20"),
         "Error: Invalid value for --area: write it as NAME=VALUE, such as "
         "brick_concrete=120.50."),
        (("s-030", AT, "complaint", "file", "--complaint", "C-9", "--channel", "hotline",
          "--summary", "x"),
         "Error: say what the complaint is about: --household, --group, --staff or --policy."),
        (("admin", AT, "policy", "publish", str(tmp_path / "none.json")),
         f"Error: Invalid value for FILE: {tmp_path / 'none.json'} does not exist."),
        (("s-002", AT, "agreement", "sign", "--household", "XC-0004", "--agreement", "A-4",
          "--method", "cash", "--amount", "1.00"),
         "Error: Invalid value for '--method': 'cash' is not one of 'monetary', "
         "'property_swap'."),
    ]  # fmt: skip
    for (actor, at, *rest), last_line in cases:
        result = write(sample_db, actor, at, "usage-1", *rest)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.splitlines()[-1] == last_line
        assert "Traceback" not in result.output
    assert stored(sample_db) == before


def test_a_write_without_an_actor_is_done_by_who_is_logged_in(sample_db: str) -> None:
    result = oneruler(
        "document", "attach", "--household", "XC-0004", "--kind", "hukou", "--file", SCAN,
        "--db", sample_db, "--at", AT, "--id", "attach-1",
        env={"ONERULER_TOKEN": token_for(sample_db, "s-002")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (attached,) = [e for e in history(sample_db, "XC-0004")["events"] if e["command"] == "attach-1"]
    assert (attached["actor"], attached["entered_by"]) == ("s-002", "s-002")


def test_a_write_repeated_with_the_same_id_appends_nothing_and_succeeds(sample_db: str) -> None:
    args = ("s-030", AT, "again-1", "complaint", "add", "--complaint", "C-0001", "--text", "x")
    assert write(sample_db, *args).exit_code == 0
    before = stored(sample_db)
    result = write(sample_db, *args)
    assert stored(sample_db) == before
    assert result.exit_code == 0, result.stderr


# --- business time: what the ledger accepts, household show must agree with -----------------


def test_household_show_gives_the_entitlement_signing_accepts_after_a_late_review(
    sample_db: str, tmp_path: Path
) -> None:
    review = write_lines(
        tmp_path / "review.jsonl",
        [line("record_valuation", "s-010", "2018-03-05T10:00:00+08:00", "rev-4",
              household="XC-0004", valuation="V-0004R", policy="XC-2018", policy_version=1,
              reviews="V-0004", items=[
                  {"item": "building:brick_concrete", "quantity": "120.00"},
                  {"item": "land:homestead", "quantity": "20.00"},
                  {"item": "well", "value": "1500.00"}])],
    )  # fmt: skip
    oneruler("ingest", review, "--db", sample_db)
    shown = show(sample_db, "XC-0004", "--as-of", AT)["entitlement"]
    result = write(
        sample_db, "s-002", AT, "sign-4", "agreement", "sign", "--household", "XC-0004",
        "--agreement", "A-0004", "--method", "monetary", "--amount", shown,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_household_show_agrees_with_an_accepted_new_agreement(sample_db: str) -> None:
    voided = write(
        sample_db, "s-020", day(14), "void-2", "agreement", "void", "--household", "XC-0002",
        "--agreement", "A-0002", "--reason", "改为货币补偿",
    )  # fmt: skip
    assert voided.exit_code == 0
    result = write(
        sample_db, "s-001", day(12), "sign-2b", "agreement", "sign", "--household", "XC-0002",
        "--agreement", "A-0002B", "--method", "monetary", "--amount", "367100.00",
    )  # fmt: skip
    if result.exit_code == 0:  # accepted: the ledger holds A-0002B in force
        document = show(sample_db, "XC-0002")
        assert (document["status"], document["agreed"]) == ("signed", "367100.00")
    else:
        assert result.exit_code == 1


def test_projections_rebuild_gives_the_same_answers(sample_db: str) -> None:
    before = show(sample_db, "XC-0001")
    result = oneruler("projections", "rebuild", "--db", sample_db)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"rebuilt the read models from {SAMPLE_EVENTS} events\n"
    assert show(sample_db, "XC-0001") == before


def test_projections_rebuild_says_when_its_second_process_failed(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = show(sample_db, "XC-0003")
    # Its launch under a name the second process does not read: it fails at once (and
    # the rebuild, waiting for its first household, sees it end).
    monkeypatch.setattr(launcher, "ENVIRONMENT", "NOT_THE_SETTINGS")
    tuned = Settings(rebuild_second_process_from=0, rebuild_head_start=1)
    result = oneruler("projections", "rebuild", "--db", sample_db, settings=tuned)
    assert result.exit_code == 0
    assert result.stdout == f"rebuilt the read models from {SAMPLE_EVENTS} events\n"
    assert result.stderr == (
        "the second process that folded households failed (KeyError: "
        "'ONERULER_WORKER'); this one folded the rest.\n"
    )
    assert show(sample_db, "XC-0003") == before
