"""What a command did, said in one sentence: in English for the command line and in
Chinese for the pages, for every command the ledger declares, naming what it is about
and never a word of the ledger's enumerations untranslated in Chinese."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from ledger.commands import declarations, parse_command
from ledger.commands.outcome import already_sent, describe
from tests.conftest import SAMPLE

AT = "2018-03-20T10:00:00+08:00"

# The commands the sample programme does not hold, one line each.
OTHERS: list[dict[str, Any]] = [
    {"cmd": "refuse_deviation", "household": "XC-0004", "amount": "400000.00", "reason": "无据"},
    {"cmd": "void_agreement", "household": "XC-0002", "agreement": "A-0002", "reason": "重签"},
    {"cmd": "acknowledge_complaint", "complaint": "C-0001"},
    {"cmd": "add_to_complaint", "complaint": "C-0001", "text": "补充"},
    {"cmd": "note_complaint", "complaint": "C-0001", "text": "备注"},
    {"cmd": "assign_complaint", "complaint": "C-0001", "to": "s-020"},
    {"cmd": "reopen_complaint", "complaint": "C-0001", "reason": "不认可"},
    {"cmd": "suspend_staff", "staff": "s-001", "reason": "调离"},
    {"cmd": "reinstate_staff", "staff": "s-001", "reason": "返岗"},
    {"cmd": "change_staff_role", "staff": "s-001", "role": "supervisor", "reason": "轮岗"},
    {"cmd": "transfer_staff", "staff": "s-001", "group": "G02", "reason": "轮岗"},
]


def one_of_each() -> dict[str, Any]:
    """One command of every declared kind, parsed as the ledger parses it."""
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    lines += [{"id": f"other-{n}", "actor": "s-000", "at": AT, **o} for n, o in enumerate(OTHERS)]
    found: dict[str, Any] = {}
    for line in lines:
        found.setdefault(line["cmd"], parse_command(line))
    return found


COMMANDS = one_of_each()

# Words of the ledger's own enumerations and of the English sentences.
ENGLISH = re.compile(
    r"\b(monetary|property_swap|substantiated|unsubstantiated|partial|household|group|"
    r"staff|complaint|payout|agreement|yuan|recorded|applied|id_card|hukou|bank_account|"
    r"supervisor|clerk|hotline|finance|admin|appraiser)\b"
)


def test_every_declared_command_is_covered_here() -> None:
    assert sorted(COMMANDS) == sorted(d.cmd for d in declarations())


def as_written(body: Any) -> list[str]:
    """The body's values said as they are (codes, names, file names, reasons)."""
    values = []
    for field in dataclasses.fields(body):
        value = getattr(body, field.name)
        if field.name in ENUMERATED:
            continue
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            values += [v for v in value.values() if isinstance(v, str)]
    return sorted(values, key=len, reverse=True)


ENUMERATED = ("method", "finding", "role", "kind")


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_each_command_is_said_in_both_languages(cmd: str) -> None:
    command = COMMANDS[cmd]
    english = describe(command, [])
    chinese = describe(command, [], lang="zh")
    assert not english.endswith(" applied"), english  # a sentence of its own
    assert chinese.startswith("已") and not chinese.startswith("已办理"), chinese
    words = chinese
    for value in as_written(command.body):
        words = words.replace(value, "")
    assert ENGLISH.search(words) is None, chinese
    # Each names what it is about, in both languages alike.
    for field in ("household", "complaint", "payout", "staff", "agreement"):
        value = getattr(command.body, field, None)
        if isinstance(value, str):
            assert value in english and value in chinese, (field, english, chinese)


def test_the_sentences_read_as_the_users_expect() -> None:
    said = {cmd: describe(COMMANDS[cmd], [], lang="zh") for cmd in COMMANDS}
    assert said["sign_agreement"] == "已记录 XC-0001 的协议 A-0001：351100.00 元，货币补偿"
    assert said["resolve_complaint"] == "已办结投诉 C-0001：属实"
    assert said["file_complaint"] == "已登记投诉 C-0001，反映对象：住户 XC-0003"
    assert said["enroll_staff"] == "已登记工作人员 s-001（李明），角色：工作组经办人，G01"
    assert said["attach_document"] == "已将身份证（XC-0001-id_card.pdf）归入 XC-0001 的档案"
    assert said["change_staff_role"] == "已将 s-001 的角色改为纪检监督"
    assert (
        describe(COMMANDS["file_complaint"], []) == "filed complaint C-0001 about household XC-0003"
    )
    assert describe(COMMANDS["sign_agreement"], []) == (
        "recorded agreement A-0001 of XC-0001: 351100.00 yuan, monetary"
    )


def test_free_text_is_said_as_written_even_where_it_spells_an_enumerated_word() -> None:
    group = parse_command(
        {
            "id": "g",
            "cmd": "create_group",
            "actor": "s-000",
            "at": AT,
            "group": "G09",
            "name": "clerk",
        }
    )
    assert describe(group, [], lang="zh") == "已设立工作组 G09（clerk）"


def test_a_form_sent_again_is_said_in_both_languages() -> None:
    command = COMMANDS["record_survey"]
    assert already_sent(command, "zh") == f"此表单已提交过（指令 {command.id}），未重复办理。"
    assert already_sent(command) == (
        f"this form was already sent (command {command.id}); nothing was done again."
    )
