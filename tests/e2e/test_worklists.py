"""Issue 16's command-line side: `--json` of every write (the API's answer to a
command), the success line naming what a command is about, the complaint's record
(`complaint show`, assign, note, the caller and the id the ledger gives), finance's
payout list and the household search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from domain.complaint import assigned_complaint_code
from domain.ids import complaint_id, household_id, payout_id
from tests.e2e.test_cli import AT, oneruler, stored

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"


@pytest.fixture
def sample_db(tmp_path: Path) -> str:
    db = str(tmp_path / "ledger.db")
    result = oneruler("ingest", SAMPLE, "--db", db)
    assert result.exit_code == 0, result.output
    return db


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
                     "XC-0004", "--kind", kind, "--sha256", f"{i:064x}",
                     "--filename", f"{kind}.pdf").exit_code == 0  # fmt: skip
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
             "version": 5},
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
