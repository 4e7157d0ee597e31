"""Inputs a careless or hostile file can carry, and the rules of business time that
tie a command to what existed then: each refused in one sentence, nothing appended."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.store import open_ledger
from tests.conftest import SAMPLE
from tests.credentials import logged_in, token_for


def oneruler(
    *args: Any, input: str | bytes | None = None, env: dict[str, str | None] | None = None
) -> Result:
    env = logged_in(args, {"ONERULER_TOKEN": None, **(env or {})})
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    assert oneruler("ingest", SAMPLE, "--db", path).exit_code == 0
    return path


def events(db: str) -> int:
    ledger = open_ledger(db)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def ingest_lines(db: str, *lines: dict[str, Any] | str) -> dict[str, Any]:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    result = oneruler("ingest", "-", "--db", db, "--json", input=text)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def line(n: int, cmd: str, actor: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"h-{n}", "cmd": cmd, "actor": actor, "at": at, **fields}


def test_a_policy_with_a_misspelt_key_is_refused(db: str, tmp_path: Path) -> None:
    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8").splitlines()[0])["document"]
    document = {**document, "version": 2, "required_document": document["required_documents"]}
    del document["required_documents"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    before = events(db)
    result = oneruler(
        "policy",
        "publish",
        path,
        "--db",
        db,
        "--actor",
        "admin",
        "--at",
        "2018-03-14T10:00:00+08:00",
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: document has unknown key required_document; a policy has block_payout"
    )
    assert events(db) == before


def test_business_time_respects_what_existed_then(db: str) -> None:
    before = events(db)
    report = ingest_lines(
        db,
        # s-099 is enrolled on the 25th and cannot act on the 5th.
        line(
            1,
            "enroll_staff",
            "admin",
            "2018-03-25T10:00:00+08:00",
            staff="s-099",
            name="周七",
            role="clerk",
            group="G01",
        ),
        line(
            2,
            "attach_document",
            "s-099",
            "2018-03-05T10:00:00+08:00",
            household="XC-0002",
            kind="photo",
            sha256="a" * 64,
            filename="p.jpg",
        ),
        # A household cannot join a group before the group existed.
        line(
            3,
            "register_household",
            "admin",
            "2018-02-01T10:00:00+08:00",
            household="XC-0009",
            group="G01",
            village="一村",
            head="钱九",
        ),
    )
    assert report["applied"] == 1 and report["rejected"] == 2
    assert [r["reason"] for r in report["rejections"]] == [
        "s-099 was enrolled on 2018-03-25T10:00:00+08:00, after 2018-03-05T10:00:00+08:00; "
        "check the time, or the actor.",
        "group G01 was created on 2018-03-01T08:10:00+08:00, after "
        "2018-02-01T10:00:00+08:00; check the time.",
    ]
    assert events(db) == before + 1


def test_a_valuation_names_a_version_already_published_at_its_time(db: str) -> None:
    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8").splitlines()[0])["document"]
    report = ingest_lines(
        db,
        line(
            1,
            "publish_policy",
            "admin",
            "2018-03-25T10:00:00+08:00",
            document={**document, "version": 2, "effective": "2018-03-16"},
        ),
        line(
            2,
            "record_valuation",
            "s-010",
            "2018-03-17T10:00:00+08:00",
            household="XC-0004",
            valuation="V-0004b",
            policy="XC-2018",
            policy_version=2,
            items=[{"item": "building:brick_concrete", "quantity": "100.00"}],
        ),
    )
    assert report["rejections"] == [
        {
            "line": 2,
            "id": "h-2",
            "reason": "policy XC-2018 version 2 was published on 2018-03-25T10:00:00+08:00, after "
            "2018-03-17T10:00:00+08:00; a policy applies only once published.",
        }
    ]


def test_a_payout_is_blocked_by_a_complaint_open_at_its_business_time(db: str) -> None:
    # C-0001 about XC-0003 was filed on the 8th and resolved on the 13th (both already
    # recorded); a payout dated the 12th falls while it was open.
    digest = "b" * 64
    lines = [
        line(
            1,
            "sign_agreement",
            "s-002",
            "2018-03-12T11:00:00+08:00",
            household="XC-0003",
            agreement="A-0003",
            method="monetary",
            amount="391740.00",
        ),
    ]
    kinds = [
        "id_card",
        "hukou",
        "property_certificate",
        "survey_form",
        "valuation_report",
        "agreement",
        "bank_account",
    ]
    lines += [
        line(
            10 + i,
            "attach_document",
            "s-002",
            "2018-03-12T11:30:00+08:00",
            household="XC-0003",
            kind=kind,
            sha256=digest[:-2] + f"{i:02d}",
            filename=f"{kind}.pdf",
        )
        for i, kind in enumerate(kinds)
    ]
    lines.append(
        line(
            30,
            "request_payout",
            "s-002",
            "2018-03-12T12:00:00+08:00",
            payout="P-0003",
            household="XC-0003",
            amount="391740.00",
        )
    )
    report = ingest_lines(db, *lines)
    assert report["rejections"] == [
        {
            "line": 9,
            "id": "h-30",
            "reason": "XC-0003 has an open complaint (C-0001); the policy blocks payouts until it "
            "is resolved.",
        }
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('"a\\u0000b"', "head contains a control character; remove it."),
        ('"a\\u001b[31mb"', "head contains a control character; remove it."),
        ('"\\ud800"', "head is not valid Unicode text; check its encoding."),
    ],
)
def test_text_that_cannot_be_stored_or_shown_safely_is_rejected(
    db: str, raw: str, reason: str
) -> None:
    before = events(db)
    bad = (
        '{"id":"h-1","cmd":"register_household","actor":"admin",'
        '"at":"2018-03-02T09:00:00+08:00","household":"XC-0009","group":"G01",'
        f'"village":"一村","head":{raw}}}'
    )
    good = line(2, "create_group", "admin", "2018-03-02T09:00:00+08:00", group="G03", name="三组")
    report = ingest_lines(db, bad, good)
    assert report["rejections"] == [{"line": 1, "id": "h-1", "reason": reason}]
    assert report["applied"] == 1
    assert events(db) == before + 1


def test_lines_too_deep_or_too_long_to_read_are_rejected_and_the_rest_go_on(db: str) -> None:
    good = line(3, "create_group", "admin", "2018-03-02T09:00:00+08:00", group="G03", name="三组")
    report = ingest_lines(db, "[" * 100_000, '{"id": ' + "9" * 5000 + "}", good)
    assert report["rejections"] == [
        {"line": 1, "id": None, "reason": "the line is nested too deeply to read; fix the line."},
        {
            "line": 2,
            "id": None,
            "reason": "the line holds a number too long to read; fix the line.",
        },
    ]
    assert report["applied"] == 1


def test_a_byte_order_mark_at_the_start_of_a_file_is_not_data(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + Path(SAMPLE).read_bytes())
    result = oneruler("ingest", path, "--db", tmp_path / "l.db")
    assert result.exit_code == 0, result.output
    assert result.stdout == "applied 41, skipped 0 (already applied), rejected 0\n"


def test_a_file_that_is_not_a_ledger_is_never_read_or_written(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello", encoding="utf-8")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE foo (x)")
    shown = oneruler("report", "groups", "--db", text)
    assert shown.exit_code == 2
    assert shown.stderr.startswith(f"Error: {text} is not a ledger the ledger can read (")
    written = oneruler(
        "group", "create", "--group", "G1", "--name", "一组", "--db", other, "--actor", "admin"
    )
    assert written.exit_code == 2
    assert written.stderr == (
        f"Error: {other} is not a oneruler ledger (it holds another program's tables: foo); "
        "oneruler leaves it as it is: check --db, or give a new file.\n"
    )
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("foo",)]


def test_an_in_memory_store_is_refused(tmp_path: Path) -> None:
    result = oneruler("ingest", SAMPLE, "--db", "sqlite:///:memory:")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: an in-memory ledger keeps nothing; give a file such as sqlite:///oneruler.db.\n"
    )


def test_a_name_given_twice_on_the_command_line_is_refused(db: str) -> None:
    before = events(db)
    result = oneruler(
        "survey",
        "record",
        "--household",
        "XC-0001",
        "--residents",
        "3",
        "--area",
        "brick_concrete=10",
        "--area",
        "brick_concrete=20",
        "--land-area",
        "20",
        "--reason",
        "x",
        "--db",
        db,
        "--actor",
        "s-001",
    )
    assert result.exit_code == 2
    assert "brick_concrete is given twice; give each once" in result.stderr
    assert events(db) == before


def test_times_outside_any_programme_are_refused(db: str) -> None:
    report = ingest_lines(
        db, line(1, "create_group", "admin", "0001-01-01T00:00:00+08:00", group="G9", name="九组")
    )
    assert report["rejections"][0]["reason"] == (
        "at 0001-01-01T00:00:00+08:00 is not a date of a renewal programme; give a time "
        "between 1900 and 2999."
    )
    shown = oneruler("report", "groups", "--db", db, "--as-of", "9999-12-31T23:59:59-12:00")
    assert shown.exit_code == 2
    assert "is not a date of a renewal programme" in shown.stderr


def test_an_iso_basic_date_means_the_end_of_that_day(db: str) -> None:
    basic = oneruler("report", "groups", "--db", db, "--json", "--as-of", "20180310")
    extended = oneruler("report", "groups", "--db", db, "--json", "--as-of", "2018-03-10")
    assert basic.exit_code == 0 and basic.stdout == extended.stdout


def test_enormous_amounts_are_priced_without_failing(db: str) -> None:
    report = ingest_lines(
        db,
        line(
            0,
            "record_survey",
            "s-002",
            "2018-03-16T09:00:00+08:00",
            household="XC-0004",
            residents=3,
            building_area_m2={"brick_concrete": "999999999999.999999"},
            land_area_m2="20.00",
            reason="复测",
        ),
        line(
            1,
            "record_valuation",
            "s-010",
            "2018-03-16T10:00:00+08:00",
            household="XC-0004",
            valuation="V-big",
            policy="XC-2018",
            policy_version=1,
            reviews="V-0004",
            dropped_reason="宅基地另案处理",
            items=[
                {"item": "building:brick_concrete", "quantity": "999999999999.999999"},
                {"item": "well", "value": "999999999999999.99"},
            ],
        ),
    )
    assert report["applied"] == 2, report
    shown = oneruler("household", "show", "XC-0004", "--db", db, "--json")
    assert shown.exit_code == 0
    # 999,999,999,999.999999 m² x 3,200 = 3,199,999,999,999,999.9968, + the appraised
    # 999,999,999,999,999.99, + 14,000 per household (the incentive's deadline has
    # passed): 4,200,000,000,013,999.9868, rounded once to the fen.
    assert json.loads(shown.stdout)["entitlement"] == "4200000000013999.99"


def test_a_formula_in_a_posted_list_stays_text(db: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    report = ingest_lines(
        db,
        line(
            0,
            "add_village",
            "admin",
            "2018-03-02T08:00:00+08:00",
            village='=HYPERLINK("http://example.invalid","点击")',
        ),
        line(
            1,
            "register_household",
            "admin",
            "2018-03-02T09:00:00+08:00",
            household="XC-0009",
            group="G01",
            village='=HYPERLINK("http://example.invalid","点击")',
            head="钱九",
        ),
        line(
            2,
            "record_survey",
            "s-001",
            "2018-03-03T09:00:00+08:00",
            household="XC-0009",
            residents=2,
            building_area_m2={"brick_concrete": "50.00"},
            land_area_m2="10.00",
        ),
        line(
            3,
            "record_valuation",
            "s-010",
            "2018-03-06T09:00:00+08:00",
            household="XC-0009",
            valuation="V-9",
            policy="XC-2018",
            policy_version=1,
            items=[{"item": "building:brick_concrete", "quantity": "50.00"}],
        ),
    )
    assert report["applied"] == 4
    out = tmp_path / "list.xlsx"
    assert oneruler("report", "disclosure", "--db", db, "--xlsx", out).exit_code == 0
    cells = [c for row in load_workbook(out).active.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert any(isinstance(c.value, str) and c.value.startswith("'=HYPERLINK") for c in cells)


def test_a_ledger_busy_with_another_writer_is_a_refusal_to_retry(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQLITE_LOCK_TIMEOUT", "1")
    before = events(db)
    token = token_for(db)
    holder = sqlite3.connect(db, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # as a long ingest batch holds it
    try:
        result = oneruler(
            "group", "create", "--group", "G3", "--name", "三组", "--db", db, "--actor", "admin",
            env={"ONERULER_TOKEN": token},
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the ledger is busy: another command is writing to it; retry in a moment.\n"
    )
    assert events(db) == before


def test_a_bulletin_of_a_day_still_to_come_is_refused(db: str, tmp_path: Path) -> None:
    result = oneruler(
        "report", "bulletin", "--date", "2999-01-01", "-o", tmp_path / "b.html", "--db", db
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 2999-01-01 is in the future; a bulletin reports a day")
    assert not (tmp_path / "b.html").exists()


# --- look-alike identifiers -----------------------------------------------------------

AT = "2018-03-20T10:00:00+08:00"
# A line naming each kind of id, valid in the sample but for the id put in its place.
ID_LINES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "household": (
        "register_household",
        "admin",
        {"household": "XC-0009", "group": "G01", "village": "一村", "head": "钱九"},
    ),
    "group": ("create_group", "admin", {"group": "G09", "name": "第九工作组"}),
    "staff": ("enroll_staff", "admin", {"staff": "s-009", "name": "周九", "role": "clerk"}),
    "valuation": (
        "record_valuation",
        "s-010",
        {
            "household": "XC-0004",
            "valuation": "V-0004b",
            "policy": "XC-2018",
            "policy_version": 1,
            "reviews": "V-0004",
            "dropped_reason": "宅基地另案处理",
            "items": [{"item": "building:brick_concrete", "quantity": "110.50"}],
        },
    ),
    "agreement": (
        "sign_agreement",
        "s-002",
        {"household": "XC-0004", "agreement": "A-0004", "method": "monetary", "amount": "1.00"},
    ),
    "payout": (
        "request_payout",
        "s-001",
        {"payout": "P-0009", "household": "XC-0001", "amount": "1.00"},
    ),
    "complaint": (
        "file_complaint",
        "s-030",
        {"complaint": "C-0009", "channel": "hotline", "about": {"group": "G01"}, "summary": "x"},
    ),
}


@pytest.mark.parametrize(
    ("character", "reason"),
    [
        ("\u200b", "contains U+200B (ZERO WIDTH SPACE), which does not show; remove it."),
        ("\u200d", "contains U+200D (ZERO WIDTH JOINER), which does not show; remove it."),
        ("\u2060", "contains U+2060 (WORD JOINER), which does not show; remove it."),
        ("\ufeff", "contains U+FEFF (ZERO WIDTH NO-BREAK SPACE), which does not show; remove it."),
        ("\u00ad", "contains U+00AD (SOFT HYPHEN), which does not show; remove it."),
        ("\u202e", "contains U+202E (RIGHT-TO-LEFT OVERRIDE), which does not show; remove it."),
        ("\u2066", "contains U+2066 (LEFT-TO-RIGHT ISOLATE), which does not show; remove it."),
        ("\ue000", "contains U+E000 (a private-use character), which does not show; remove it."),
        ("\u0085", "contains a control character; remove it."),
        ("\u00a0", "must not contain spaces."),
        ("\u3000", "must not contain spaces."),
        ("\u2028", "must not contain spaces."),
    ],
    ids=lambda v: f"U+{ord(v):04X}" if len(v) == 1 else "",
)
@pytest.mark.parametrize("kind", list(ID_LINES))
def test_an_id_with_a_character_that_does_not_show_is_refused(
    db: str, kind: str, character: str, reason: str
) -> None:
    cmd, actor, fields = ID_LINES[kind]
    code = str(fields[kind])
    fields = {**fields, kind: code[:2] + character + code[2:]}
    before = events(db)
    report = ingest_lines(db, line(1, cmd, actor, AT, **fields))
    [rejection] = report["rejections"]
    shown = f'{kind} "{code[:2]} {code[2:]}" ' if reason.startswith("must") else f"{kind} "
    assert rejection["reason"] == shown + reason
    assert events(db) == before


def test_ids_are_compared_in_their_normal_form(db: str) -> None:
    """Full-width letters and digits are the same id as the ASCII ones (NFKC)."""
    report = ingest_lines(
        db,
        line(
            1,
            *ID_LINES["household"][:2],
            AT,
            **{**ID_LINES["household"][2], "household": "ＸＣ-０００１"},
        ),
        line(
            2,
            *ID_LINES["household"][:2],
            AT,
            **{**ID_LINES["household"][2], "household": "ＸＣ-０００９"},
        ),
        line(
            3,
            "attach_document",
            "s-002",
            AT,
            household="ＸＣ-０００４",
            kind="ｉｄ＿ｃａｒｄ",
            sha256="c" * 64,
            filename="id.pdf",
        ),
    )
    assert report["applied"] == 2
    assert report["rejections"] == [
        {"line": 1, "id": "h-1", "reason": "household XC-0001 is already registered."}
    ]
    for asked, meant in (("ＸＣ-０００９", "XC-0009"), ("ＸＣ-０００４", "XC-0004")):
        shown = oneruler("household", "show", asked, "--db", db, "--json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout) == json.loads(
            oneruler("household", "show", meant, "--db", db, "--json").stdout
        )
        assert json.loads(shown.stdout)["household"] == meant
    shown = json.loads(oneruler("household", "show", "XC-0004", "--db", db, "--json").stdout)
    assert "id_card" not in shown["missing_documents"]
    listed = oneruler("report", "disclosure", "--db", db, "--json")
    codes = [row["household"] for row in json.loads(listed.stdout)["households"]]
    assert codes == ["XC-0001", "XC-0002", "XC-0003", "XC-0004"]
    groups = json.loads(oneruler("report", "groups", "--db", db, "--json").stdout)["groups"]
    assert [g["households"] for g in groups] == [3, 2]  # XC-0009 joined G01, once
    hidden = oneruler("household", "history", "XC-0001\u200b", "--db", db)
    assert (hidden.exit_code, hidden.stderr) == (
        2,
        "Error: household contains U+200B (ZERO WIDTH SPACE), which does not show; remove it.\n",
    )


@pytest.mark.parametrize("field", ["head", "village", "address"])
def test_a_name_with_a_bidirectional_control_is_refused(db: str, field: str) -> None:
    fields = {**ID_LINES["household"][2], "address": "兴城镇一村9号"}
    fields[field] = "钱\u202e九号"
    report = ingest_lines(db, line(1, "register_household", "admin", AT, **fields))
    assert report["rejections"] == [
        {
            "line": 1,
            "id": "h-1",
            "reason": f"{field} contains U+202E (RIGHT-TO-LEFT OVERRIDE), which changes the "
            "order text is shown in; remove it.",
        }
    ]


def test_a_policy_stored_before_the_rules_on_characters_still_reads(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored documents are read as they were accepted: a rule added later never
    stops them from being read (the policy below has a bidi control in its title)."""
    import domain.values

    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8").splitlines()[0])["document"]
    document = {**document, "policy": "XC-2019", "title": "方案\u202e2019"}
    with monkeypatch.context() as before_the_rules:
        before_the_rules.setattr(domain.values, "_BIDI", re.compile("(?!x)x"))
        report = ingest_lines(db, line(1, "publish_policy", "admin", AT, document=document))
    assert report["applied"] == 1
    shown = oneruler("policy", "show", "XC-2019", "--db", db, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["document"]["title"] == "方案\u202e2019"
    valued = ingest_lines(
        db,
        line(
            2,
            "record_valuation",
            "s-010",
            AT,
            **{**ID_LINES["valuation"][2], "policy": "XC-2019"},
        ),
    )
    assert valued["applied"] == 1, valued
    assert oneruler("household", "show", "XC-0004", "--db", db).exit_code == 0


# --- formulas in exports ----------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://example.invalid","点击")', "=1+2", "+1+2", "-1+2", "@SUM(1)"]
RISKY = ("=", "+", "-", "@", "\t", "\r")


def formula_households(db: str) -> None:
    """A household whose village and head start like a formula, for each formula; a
    group whose id and name do; and an agreement below its entitlement (a negative
    deviation, a number that starts with '-')."""
    lines: list[dict[str, Any]] = [
        line(1, "create_group", "admin", "2018-03-02T08:00:00+08:00", group="=G9", name="+九组"),
        line(
            2,
            "enroll_staff",
            "admin",
            "2018-03-02T08:00:00+08:00",
            staff="s-009",
            name="周九",
            role="clerk",
            group="=G9",
        ),
    ]
    for n, formula in enumerate(FORMULAS, start=1):
        code = f"XC-001{n}"
        lines += [
            line(10 * n + 5, "add_village", "admin", "2018-03-02T08:00:00+08:00", village=formula),
            line(
                10 * n,
                "register_household",
                "admin",
                "2018-03-02T09:00:00+08:00",
                household=code,
                group="=G9" if n == 1 else "G01",
                village=formula,
                head=formula,
            ),
            line(
                10 * n + 1,
                "record_survey",
                "s-001" if n > 1 else "s-009",
                "2018-03-03T09:00:00+08:00",
                household=code,
                residents=2,
                building_area_m2={"brick_concrete": "50.00"},
                land_area_m2="10.00",
            ),
            line(
                10 * n + 2,
                "record_valuation",
                "s-010",
                "2018-03-06T09:00:00+08:00",
                household=code,
                valuation=f"V-{code}",
                policy="XC-2018",
                policy_version=1,
                items=[{"item": "building:brick_concrete", "quantity": "50.00"}],
            ),
        ]
    lines.append(
        line(
            98,
            "approve_deviation",
            "s-020",
            "2018-03-20T09:00:00+08:00",
            household="XC-0003",
            amount="370000.00",
            reason="协商",
        )
    )
    lines.append(
        line(
            99,
            "sign_agreement",
            "s-002",
            "2018-03-20T10:00:00+08:00",
            household="XC-0003",
            agreement="A-0003",
            method="monetary",
            amount="370000.00",
            deviation={"reason": "协商", "approved_by": "s-020"},
        )
    )
    report = ingest_lines(db, *lines)
    assert report["rejected"] == 0, report["rejections"]


def spreadsheet_cells(path: Path) -> list[Any]:
    from openpyxl import load_workbook

    cells = [c for row in load_workbook(path).active.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    return cells


def test_a_cell_that_starts_like_a_formula_is_exported_as_text(db: str, tmp_path: Path) -> None:
    """OWASP's rule for CSV injection, in every export: a text cell starting with =, +,
    -, @, tab or CR gets a single quote in front; a number, even a negative one, is
    left a number."""
    formula_households(db)
    as_of = ("--as-of", "2018-03-31")
    listed = oneruler("report", "disclosure", "--db", db, "--csv", "--lang", "en", *as_of)
    rows = list(csv.reader(io.StringIO(listed.stdout)))
    cells = [cell for row in rows for cell in row]
    assert [c for c in cells if c.startswith(RISKY)] == ["-21740.00"]  # XC-0003's deviation
    by_code = {row[0]: row for row in rows}
    for n, formula in enumerate(FORMULAS, start=1):
        head, _, group, village = by_code[f"XC-001{n}"][1:5]
        assert (head, village) == (f"'{formula[0]}某", f"'{formula}")
        assert group == ("'=G9" if n == 1 else "G01")

    out = tmp_path / "list.xlsx"
    assert oneruler("report", "disclosure", "--db", db, "--xlsx", out, *as_of).exit_code == 0
    cells = spreadsheet_cells(out)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(RISKY)]
    assert {f"'{formula}" for formula in FORMULAS} <= set(texts)
    assert -21740 in [c.value for c in cells if c.data_type == "n"]

    grouped = oneruler("report", "groups", "--db", db, "--csv", *as_of)
    assert [row[1] for row in csv.reader(io.StringIO(grouped.stdout))] == [
        "group",
        "'=G9",
        "G01",
        "G02",
        "total",
    ]
    out = tmp_path / "groups.xlsx"
    assert oneruler("report", "groups", "--db", db, "--xlsx", out, "--lang", "zh").exit_code == 0
    texts = [c.value for c in spreadsheet_cells(out) if isinstance(c.value, str)]
    assert "'+九组" in texts
    assert not [t for t in texts if t.startswith(RISKY)]
