"""Issue 16's command-line side: `--json` of every write (the API's answer to a
command), the success line naming what a command is about, the complaint's record
(`complaint show`, assign, note, the caller and the id the ledger gives), finance's
payout list and the household search."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from domain.complaint import assigned_complaint_code
from domain.ids import complaint_id, household_id, payout_id
from domain.values import LEDGER_TZ
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.credentials import token_for
from tests.e2e.test_cli import AT, SCAN, oneruler, stored

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"


@pytest.fixture
def sample_db(store_url: str) -> str:
    """The sample programme, on each store (a SQLite file, a PostgreSQL schema)."""
    result = oneruler("ingest", SAMPLE, "--db", store_url)
    assert result.exit_code == 0, result.output
    return store_url


def read(db: str, *args: str) -> Any:
    return document(oneruler(*args, "--db", db, "--json"))


def write(db: str, actor: str, command_id: str, *args: str, at: str = AT) -> Result:
    return oneruler(*args, "--db", db, "--actor", actor, "--at", at, "--id", command_id)


def document(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


SIGN_4 = ("agreement", "sign", "--household", "XC-0004", "--agreement", "A-0004",
          "--method", "monetary", "--amount", "399100.00")  # fmt: skip


# --- --json of the writes ---------------------------------------------------------------


def test_a_write_with_json_prints_the_apis_answer_and_a_repeat_is_not_applied(
    sample_db: str,
) -> None:
    before = stored(sample_db)
    applied = document(write(sample_db, "s-002", "sign-4", *SIGN_4, "--json"))
    assert applied == {
        "id": "sign-4",
        "applied": True,
        "events": [
            {
                "type": "Household.AgreementSigned",
                "originator": str(household_id("XC-0004")),
                "version": 4,
            }
        ],
    }
    assert stored(sample_db) == before + 1
    again = document(write(sample_db, "s-002", "sign-4", *SIGN_4, "--json"))
    assert again == {"id": "sign-4", "applied": False}
    assert stored(sample_db) == before + 1


def test_a_refused_write_with_json_says_why_on_standard_error_only(sample_db: str) -> None:
    before = stored(sample_db)
    result = write(sample_db, "s-002", "vac-4", "household", "vacated", "--household",
                   "XC-0004", "--json")  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: XC-0004 has no signed agreement in force.\n"
    assert stored(sample_db) == before


def test_a_payout_request_names_payout_amount_and_payee(sample_db: str) -> None:
    assert write(sample_db, "s-002", "sign-4", *SIGN_4).exit_code == 0
    for i, kind in enumerate(("id_card", "hukou", "property_certificate", "survey_form",
                              "valuation_report", "agreement", "bank_account")):  # fmt: skip
        assert write(sample_db, "s-002", f"doc-{i}", "document", "attach", "--household",
                     "XC-0004", "--kind", kind, "--file", SCAN).exit_code == 0  # fmt: skip
    result = write(sample_db, "s-002", "pay-4", "payout", "request", "--payout", "P-0004",
                   "--household", "XC-0004", "--amount", "399100.00", "--json")  # fmt: skip
    assert document(result)["events"] == [
        {"type": "Household.PayoutRequested", "originator": str(household_id("XC-0004")),
         "version": 12},
        {"type": "PayoutIndex.Indexed", "originator": str(payout_id("P-0004")), "version": 1},
    ]  # fmt: skip
    confirm = write(sample_db, "s-040", "conf-4", "payout", "confirm", "--payout", "P-0004",
                    "--bank-reference", "ICBC-0004")  # fmt: skip
    assert confirm.exit_code == 0, confirm.output
    assert confirm.stdout == (
        "confirmed payout P-0004 of 399100.00 yuan to XC-0004 (bank reference ICBC-0004) "
        "(command conf-4)\n"
    )


def test_a_complaint_filed_without_an_id_gets_one_from_the_ledger(sample_db: str) -> None:
    args = ("complaint", "file", "--channel", "hotline", "--household", "XC-0002",
            "--summary", "补偿款何时发放")  # fmt: skip
    result = write(sample_db, "s-030", "call-1", *args, "--json")
    code = assigned_complaint_code("call-1")
    assert document(result) == {
        "id": "call-1",
        "applied": True,
        "events": [
            {"type": "Household.ComplaintAttached", "originator": str(household_id("XC-0002")),
             "version": 6},
            {"type": "Complaint.Filed", "originator": str(complaint_id(code)), "version": 1},
        ],
        "assigned": {"complaint": code},
    }  # fmt: skip
    again = document(write(sample_db, "s-030", "call-1", *args, "--json"))
    assert again == {"id": "call-1", "applied": False, "assigned": {"complaint": code}}
    # Told in words, with the deadlines to tell the caller (2 and 15 days).
    said = write(sample_db, "s-030", "call-2", *args)
    other = assigned_complaint_code("call-2")
    assert said.exit_code == 0, said.output
    assert said.stdout == (
        f"filed complaint {other} about household XC-0002 (command call-2)\n"
        "tell the caller: acknowledged by 2018-03-22T10:00:00+08:00, "
        "resolved by 2018-04-04T10:00:00+08:00\n"
    )


def test_the_assigned_complaint_id_is_short_readable_and_follows_the_command() -> None:
    code = assigned_complaint_code("call-1")
    assert code == assigned_complaint_code("call-1") != assigned_complaint_code("call-2")
    assert len(code) == 11 and code[:2] == "C-" and code[6] == "-"
    assert not set(code[2:].replace("-", "")) & set("ILOU")


# --- household search -----------------------------------------------------------------

ROW_1 = {"household": "XC-0001", "group": "G01", "village": "一村", "head": "张三",
         "status": "paid"}  # fmt: skip
ROW_3 = {"household": "XC-0003", "group": "G02", "village": "二村", "head": "王五",
         "status": "valued"}  # fmt: skip
ROW_4 = {"household": "XC-0004", "group": "G02", "village": "二村", "head": "赵六",
         "status": "valued"}  # fmt: skip


def search(db: str, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = read(db, "household", "search", *args)["households"]
    return found


def test_a_household_is_found_by_code_head_or_whole_id_number(sample_db: str) -> None:
    assert search(sample_db, "XC-0001") == [ROW_1]
    assert search(sample_db, "ｘｃ-０００１") == [ROW_1]  # full-width, any case
    assert search(sample_db, "张三") == [ROW_1]
    assert search(sample_db, "211481197001011003") == [ROW_3]
    # Part of an ID number finds nothing: the search answers which household, not whose
    # number; part of a code or a name does.
    assert search(sample_db, "2114811970010110") == []
    assert [h["household"] for h in search(sample_db, "XC-000")] == [
        "XC-0001", "XC-0002", "XC-0003", "XC-0004"
    ]  # fmt: skip
    assert search(sample_db, "XC-000", "--group", "G02") == [ROW_3, ROW_4]
    assert search(sample_db, "XC-000", "--status", "paid") == [ROW_1]
    assert search(sample_db, "", "--group", "G02", "--status", "valued") == [ROW_3, ROW_4]
    assert search(sample_db, "龚波") == []


def test_a_search_lists_at_most_a_hundred_and_says_so_for_people(
    sample_db: str, tmp_path: Path
) -> None:
    lines = tmp_path / "many.jsonl"
    lines.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"r-{i}",
                    "cmd": "register_household",
                    "actor": "admin",
                    "at": AT,
                    "household": f"XC-{1000 + i}",
                    "group": "G01",
                    "village": "一村",
                    "head": "龚波",
                },
                ensure_ascii=False,
            )
            + "\n"
            for i in range(120)
        ),
        encoding="utf-8",
    )
    assert oneruler("ingest", lines, "--db", sample_db).exit_code == 0
    found = search(sample_db, "龚波")
    assert len(found) == 100
    assert found[0]["household"] == "XC-1000" and found[-1]["household"] == "XC-1099"
    people = oneruler("household", "search", "张三", "--db", sample_db, "--lang", "zh")
    assert people.exit_code == 0
    assert people.stdout == (
        "户号     工作组  村    户主  状态\n"
        "-------  ------  ----  ----  ------\n"
        "XC-0001  G01     一村  张三  已付清\n"
    )
    none = oneruler("household", "search", "龚某", "--db", sample_db)
    assert (none.exit_code, none.stdout) == (0, "no household found for 龚某\n")


def test_a_bad_search_is_bad_usage(sample_db: str) -> None:
    bad = oneruler("household", "search", "XC-0001", "--status", "gone", "--db", sample_db)
    assert bad.exit_code == 2
    nothing = oneruler("household", "search", " ", "--db", sample_db)
    assert nothing.exit_code == 2
    assert "give TEXT to search for, or --group G" in nothing.stderr


# --- payouts ----------------------------------------------------------------------------

REQUIRED = ("id_card", "hukou", "property_certificate", "survey_form", "valuation_report",
            "agreement", "bank_account")  # fmt: skip


def ready_to_request(db: str) -> None:
    """XC-0004 signed with a complete file."""
    assert write(db, "s-002", "sign-4", *SIGN_4).exit_code == 0
    for i, kind in enumerate(REQUIRED):
        assert write(db, "s-002", f"doc-{i}", "document", "attach", "--household",
                     "XC-0004", "--kind", kind, "--file", SCAN).exit_code == 0  # fmt: skip


REQUEST_4 = ("payout", "request", "--payout", "P-0004", "--household", "XC-0004",
             "--amount", "399100.00")  # fmt: skip
PAID_1 = {"payout": "P-0001", "household": "XC-0001", "amount": "351100.00",
          "requested_by": "s-001", "requested_at": "2018-03-12T09:00:00+08:00",
          "confirmed_by": "s-040", "confirmed_at": "2018-03-12T16:00:00+08:00",
          "bank_reference": "ICBC-20180312-0001"}  # fmt: skip
P_4 = {"payout": "P-0004", "household": "XC-0004", "amount": "399100.00",
       "requested_by": "s-002", "requested_at": AT}  # fmt: skip


def test_finance_sees_only_what_a_confirmation_would_pass_and_why_not(sample_db: str) -> None:
    db = sample_db
    assert read(db, "payout", "list", "--ready") == {"payouts": []}
    assert read(db, "payout", "list", "--paid") == {"payouts": [PAID_1]}
    assert read(db, "payout", "list", "--household", "XC-0001") == {
        "payouts": [{**PAID_1, "status": "paid", "why": None}]
    }
    assert read(db, "payout", "list", "--household", "XC-0004") == {"payouts": []}
    ready_to_request(db)
    assert write(db, "s-002", "pay-4", *REQUEST_4).exit_code == 0
    assert read(db, "payout", "list", "--ready") == {"payouts": [P_4]}
    # Only finance confirms: a list for a clerk is refused, not drawn up.
    clerk = oneruler("payout", "list", "--ready", "--for", "s-002", "--db", db)
    assert (clerk.exit_code, clerk.stderr) == (
        1, "Error: s-002 is clerk staff and may not confirm a payout; give a finance "
           "officer's staff id with --for.\n"
    )  # fmt: skip
    # Who requested it never confirms it, even in finance since: not ready for them.
    moved = write(db, "admin", "role-2", "staff", "change-role", "--staff", "s-002",
                  "--role", "finance", "--reason", "moved to finance")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert read(db, "payout", "list", "--ready", "--for", "s-002") == {"payouts": []}
    assert read(db, "payout", "list", "--ready", "--for", "s-040") == {"payouts": [P_4]}

    # A complaint filed after the request blocks the confirmation, and the list says why.
    filed = write(
        db,
        "s-030",
        "call-4",
        "complaint",
        "file",
        "--complaint",
        "C-0004",
        "--channel",
        "hotline",
        "--household",
        "XC-0004",
        "--summary",
        "补偿款",
    )
    assert filed.exit_code == 0, filed.output  # fmt: skip
    why = "XC-0004 has an open complaint (C-0004); the policy blocks payouts until it is resolved."
    assert read(db, "payout", "list", "--ready") == {"payouts": []}
    unpaid = {**P_4, "confirmed_by": None, "confirmed_at": None, "bank_reference": None}
    assert read(db, "payout", "list") == {
        "payouts": [
            {**unpaid, "status": "blocked", "why": why},
            {**PAID_1, "status": "paid", "why": None},
        ]
    }
    before = stored(db)
    refused = write(db, "s-040", "conf-4", "payout", "confirm", "--payout", "P-0004",
                    "--bank-reference", "ICBC-4")  # fmt: skip
    assert (refused.exit_code, refused.stderr) == (1, f"Error: {why}\n")
    assert stored(db) == before
    people = oneruler("payout", "list", "--db", db, "--lang", "zh")
    assert "暂不能付" in people.stdout and why in people.stdout

    # Resolved, it is ready again; confirmed, it is in the paid list.
    assert write(db, "s-020", "res-4", "complaint", "resolve", "--complaint", "C-0004",
                 "--finding", "unsubstantiated", "--outcome", "已答复",
                 at="2018-03-20T12:00:00+08:00").exit_code == 0  # fmt: skip
    assert read(db, "payout", "list", "--ready") == {"payouts": [P_4]}
    confirmed = write(
        db,
        "s-040",
        "conf-4",
        "payout",
        "confirm",
        "--payout",
        "P-0004",
        "--bank-reference",
        "ICBC-4",
        at="2018-03-20T16:00:00+08:00",
    )
    assert confirmed.exit_code == 0, confirmed.output  # fmt: skip
    assert read(db, "payout", "list", "--ready") == {"payouts": []}
    assert read(db, "payout", "list", "--paid")["payouts"][-1] == {
        **P_4, "confirmed_by": "s-040", "confirmed_at": "2018-03-20T16:00:00+08:00",
        "bank_reference": "ICBC-4",
    }  # fmt: skip


def test_ready_and_paid_together_is_bad_usage(sample_db: str) -> None:
    result = oneruler("payout", "list", "--ready", "--paid", "--db", sample_db)
    assert result.exit_code == 2
    assert "choose one of --ready and --paid." in result.stderr


# --- complaints -------------------------------------------------------------------------

CALL = ("complaint", "file", "--channel", "hotline", "--household", "XC-0004",
        "--summary", "问补偿", "--caller-name", "龚波",
        "--caller-phone", "13812345678")  # fmt: skip


def test_the_hotline_files_assigns_and_a_supervisor_notes_and_resolves(sample_db: str) -> None:
    db = sample_db
    assert write(db, "s-030", "call-9", *CALL).exit_code == 0
    code = assigned_complaint_code("call-9")
    assigned = write(db, "s-030", "as-9", "complaint", "assign", "--complaint", code,
                     "--to", "s-020", at="2018-03-20T11:00:00+08:00")  # fmt: skip
    assert assigned.stdout == f"assigned complaint {code} to s-020 (command as-9)\n"
    noted = write(db, "s-020", "n-9", "complaint", "note", "--complaint", code, "--text",
                  "已联系户主", at="2018-03-20T12:00:00+08:00")  # fmt: skip
    assert noted.stdout == f"added a note to complaint {code} (command n-9)\n"
    assert write(db, "s-030", "ack-9", "complaint", "acknowledge", "--complaint", code,
                 "--note", "已登记", at="2018-03-20T11:30:00+08:00").exit_code == 0  # fmt: skip
    assert write(db, "s-020", "res-9", "complaint", "resolve", "--complaint", code,
                 "--finding", "partial", "--outcome", "已解释政策",
                 at="2018-03-21T10:00:00+08:00").exit_code == 0  # fmt: skip
    assert write(db, "s-030", "re-9", "complaint", "reopen", "--complaint", code,
                 "--reason", "户主不满意",
                 at="2018-03-21T11:00:00+08:00").exit_code == 0  # fmt: skip

    shown = read(db, "complaint", "show", code)
    del shown["overdue"], shown["due_soon"]  # as of now
    recorded = [e.pop("recorded_at") for e in shown["record"]]
    assert all(recorded)
    assert shown == {
        "complaint": code, "channel": "hotline", "about": {"household": "XC-0004"},
        "groups": ["G02"], "summary": "问补偿", "filed_at": AT,
        "acknowledged_at": "2018-03-20T11:30:00+08:00", "resolved_at": None,
        "finding": None, "status": "open",
        "acknowledge_by": "2018-03-22T10:00:00+08:00",
        # The resolve clock restarts at the reopening.
        "resolve_by": "2018-04-05T11:00:00+08:00",
        "assignee": "s-020",
        "acknowledgement": {"occurred_at": "2018-03-20T11:30:00+08:00", "actor": "s-030",
                            "note": "已登记"},
        "notes": [{"occurred_at": "2018-03-20T12:00:00+08:00", "actor": "s-020",
                   "text": "已联系户主"}],
        "assignments": [{"occurred_at": "2018-03-20T11:00:00+08:00", "actor": "s-030",
                         "assignee": "s-020"}],
        "resolution": None,
        "resolutions": [{"occurred_at": "2018-03-21T10:00:00+08:00", "actor": "s-020",
                         "finding": "partial", "outcome": "已解释政策"}],
        "reopenings": [{"occurred_at": "2018-03-21T11:00:00+08:00", "actor": "s-030",
                        "reason": "户主不满意"}],
        "record": [
            {"event": "filed", "occurred_at": AT, "actor": "s-030", "entered_by": "s-030",
             "summary": "问补偿"},
            {"event": "assigned", "occurred_at": "2018-03-20T11:00:00+08:00",
             "actor": "s-030", "entered_by": "s-030", "assignee": "s-020"},
            {"event": "acknowledged", "occurred_at": "2018-03-20T11:30:00+08:00",
             "actor": "s-030", "entered_by": "s-030", "note": "已登记"},
            {"event": "note", "occurred_at": "2018-03-20T12:00:00+08:00", "actor": "s-020",
             "entered_by": "s-020", "text": "已联系户主"},
            {"event": "resolved", "occurred_at": "2018-03-21T10:00:00+08:00",
             "actor": "s-020", "entered_by": "s-020", "finding": "partial",
             "outcome": "已解释政策"},
            {"event": "reopened", "occurred_at": "2018-03-21T11:00:00+08:00",
             "actor": "s-030", "entered_by": "s-030", "reason": "户主不满意"},
        ],
        # Masked for whoever is not logged in as hotline, supervisor or admin.
        "caller": {"name": "龚某", "phone": "*******5678", "verified": True},
    }  # fmt: skip
    listed = read(db, "complaint", "list", "--assignee", "s-020")["complaints"]
    assert [(c["complaint"], c["assignee"]) for c in listed] == [(code, "s-020")]
    assert read(db, "complaint", "list", "--assignee", "s-010")["complaints"] == []
    unknown = oneruler("complaint", "list", "--assignee", "s-021", "--db", db)
    assert (unknown.exit_code, unknown.stderr) == (
        1, "Error: unknown staff s-021: check the staff id, or enroll them first.\n"
    )  # fmt: skip
    about = read(db, "complaint", "list", "--household", "XC-0004")["complaints"]
    assert [c["complaint"] for c in about] == [code]


def contact(db: str, code: str, staff: str) -> Result:
    return oneruler("complaint", "show", code, "--contact", "--db", db, "--json",
                    env={"ONERULER_TOKEN": token_for(db, staff)})  # fmt: skip


def test_the_callers_contact_is_shown_in_full_only_to_hotline_supervisors_and_admin(
    sample_db: str,
) -> None:
    db = sample_db
    assert write(db, "s-030", "call-9", *CALL).exit_code == 0
    code = assigned_complaint_code("call-9")
    full = {"name": "龚波", "phone": "13812345678", "verified": True}
    for staff in ("s-030", "s-020", "admin"):
        assert document(contact(db, code, staff))["caller"] == full
    for staff, role in (("s-040", "finance"), ("s-001", "clerk")):
        refused = contact(db, code, staff)
        assert (refused.exit_code, refused.stdout) == (1, "")
        assert refused.stderr == (
            f"Error: {staff} is {role} staff and may not see a caller's contact; only "
            "admin, hotline or supervisor staff may (leave out --contact to see it masked).\n"
        )
    # Not in any event: the log's leaves, the history and the bundles never hold it.
    history = oneruler("household", "history", "XC-0004", "--db", db, "--json").stdout
    assert "13812345678" not in history and "龚波" not in history
    filed = [e for e in json.loads(history)["events"] if e["type"] == "Complaint.Filed"]
    assert filed[0]["data"]["caller"].startswith("sha256:")
    assert "13812345678" not in oneruler("prove", "XC-0004", "--db", db).stdout


def test_assignments_and_notes_follow_the_roles_and_append_nothing_when_refused(
    sample_db: str,
) -> None:
    db = sample_db
    assert write(db, "s-030", "call-9", *CALL).exit_code == 0
    code = assigned_complaint_code("call-9")
    before = stored(db)
    cases = [
        (("s-030", "a-1", "complaint", "assign", "--complaint", code, "--to", "s-040"), 1,
         "s-040 is finance staff; a complaint is assigned to a supervisor."),
        (("s-030", "a-2", "complaint", "assign", "--complaint", code, "--to", "s-999"), 1,
         "unknown staff s-999: assign an enrolled supervisor."),
        (("s-001", "a-3", "complaint", "assign", "--complaint", code, "--to", "s-020"), 1,
         "s-001 is clerk staff and may not assign a complaint; only hotline or supervisor "
         "staff may."),
        (("s-040", "n-1", "complaint", "note", "--complaint", code, "--text", "x"), 1,
         "s-040 is finance staff and may not add a note to a complaint; only hotline or "
         "supervisor staff may."),
        (("s-030", "a-4", "complaint", "assign", "--complaint", "C-9999", "--to", "s-020"), 1,
         "unknown complaint C-9999: file it first."),
        (("s-030", "c-1", "complaint", "file", "--channel", "hotline", "--household",
          "XC-0004", "--summary", "x", "--caller-phone", "call me"), 2,
         "--caller-phone must be a telephone number of digits (a leading +, spaces and dashes "
         "allowed), such as 13812345678."),
    ]  # fmt: skip
    for (actor, command_id, *args), status, message in cases:
        result = write(db, actor, command_id, *args)
        assert (result.exit_code, result.stdout) == (status, ""), result.output
        assert result.stderr == f"Error: {message}\n"
        assert stored(db) == before


def test_the_inbox_lists_what_is_overdue_and_what_is_due_within_a_day(sample_db: str) -> None:
    db = sample_db
    now = datetime.now(LEDGER_TZ).replace(microsecond=0)
    # Filed 36 hours ago: acknowledge by 12 hours from now (due soon), resolve in 13.5 days.
    recent = (now - timedelta(hours=36)).isoformat()
    assert write(db, "s-030", "call-r", "complaint", "file", "--complaint", "C-RECENT",
                 "--channel", "visit", "--group", "G01", "--summary", "近期",
                 at=recent).exit_code == 0  # fmt: skip
    open_ = read(db, "complaint", "list", "--open")["complaints"]
    assert [c["complaint"] for c in open_] == ["C-RECENT"]
    assert (open_[0]["overdue"], open_[0]["due_soon"]) == ([], ["acknowledge"])
    assert [c["complaint"] for c in read(db, "complaint", "list", "--due-soon")["complaints"]] == [
        "C-RECENT"
    ]
    assert read(db, "complaint", "list", "--open", "--overdue")["complaints"] == []
    assert write(db, "s-030", "ack-r", "complaint", "acknowledge", "--complaint", "C-RECENT",
                 at=now.isoformat()).exit_code == 0  # fmt: skip
    assert read(db, "complaint", "list", "--due-soon")["complaints"] == []


def test_an_unknown_complaint_is_said_in_one_sentence(sample_db: str) -> None:
    result = oneruler("complaint", "show", "C-9999", "--db", sample_db)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: unknown complaint C-9999: check the id (complaint list).\n"


# --- --lang zh on the reads -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "chinese"),
    [
        (
            ("household", "show", "XC-0001"),
            ["户号      XC-0001", "状态      已付清", "档案完整  是"],
        ),
        (("household", "history", "XC-0001"), ["发生时间", "经办人", "事件"]),
        (("dispute", "XC-0002"), ["类别", "单价"]),
        (("report", "consistency"), ["户号", "协议金额", "批准人"]),
        (("complaint", "list"), ["投诉编号", "已办结", "属实"]),
        (("complaint", "show", "C-0001"), ["投诉编号  C-0001", "状态", "已办结"]),
        (("payout", "list"), ["支付编号", "已付清"]),
        (("household", "search", "XC-0001"), ["户号", "已付清"]),
    ],
)
def test_every_read_speaks_chinese_when_asked(
    sample_db: str, args: tuple[str, ...], chinese: list[str]
) -> None:
    english = oneruler(*args, "--db", sample_db)
    result = oneruler(*args, "--db", sample_db, "--lang", "zh")
    assert (english.exit_code, result.exit_code) == (0, 0), result.output
    for text in chinese:
        assert text in result.stdout and text not in english.stdout


# --- the facade the web pages call --------------------------------------------------------


def test_the_facade_masks_the_caller_for_every_role_but_hotline_supervisors_and_admin(
    sample_db: str,
) -> None:
    assert write(sample_db, "s-030", "call-9", *CALL).exit_code == 0
    code = assigned_complaint_code("call-9")
    ledger = open_ledger(sample_db)
    try:
        reads = Reads(ledger)
        for role in ("admin", "hotline", "supervisor"):
            assert reads.complaint(code, role=role)["caller"]["phone"] == "13812345678"
        for role in ("clerk", "appraiser", "finance", None):
            caller = reads.complaint(code, role=role)["caller"]
            assert (caller["name"], caller["phone"]) == ("龚某", "*******5678")
        assert reads.search_households("王五", group="G02") == {"households": [ROW_3]}
        assert reads.search_households("王五", group="G01") == {"households": []}
        assert len(reads.search_households("XC-000", limit=2)["households"]) == 2
        listed = reads.complaint_list(open=True, household="XC-0004")["complaints"]
        assert [c["complaint"] for c in listed] == [code]
    finally:
        ledger.close()
