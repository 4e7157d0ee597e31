"""`--lang zh` on the reads that print tables: the exact Chinese the office reads, in
the commands the audit found speaking English (late entries, a policy, the consistency
report's own sections, a household's history, a complaint's record)."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import domain
from ledger.event_names import EVENTS
from tests.e2e.test_cli import oneruler

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"

# A moment recorded now (the sample is entered today, its business times are 2018's),
# masked so that a line can be compared whole; same width, so the columns stay.
NOW = re.compile(r"20(?!18)\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
RECORDED = "<recorded now>".ljust(25)


@pytest.fixture
def sample_db(tmp_path: Path) -> str:
    db = str(tmp_path / "sample.db")
    result = oneruler("ingest", SAMPLE, "--db", db)
    assert result.exit_code == 0, result.output
    return db


def lines(*args: str) -> list[str]:
    result = oneruler(*args, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return [NOW.sub(RECORDED, line) for line in result.stdout.splitlines()]


def write(db: str, actor: str, *args: str) -> None:
    at = "2018-03-20T10:00:00+08:00"
    result = oneruler(*args, "--db", db, "--actor", actor, "--at", at)
    assert result.exit_code == 0, result.output


def test_late_entries_in_chinese(sample_db: str) -> None:
    shown = lines("report", "late-entries", "--db", sample_db)
    assert shown[1].split() == [
        "序号", "事件", "户号", "投诉编号", "发生时间", "记录时间", "经办人", "录入人", "迟录天数"
    ]  # fmt: skip
    assert shown[3].startswith("1     发布补偿方案    -        -         2018-03-01T08:00:00+08:00")
    registered = next(line for line in shown if line.startswith("15 "))
    assert registered.split()[:3] == ["15", "登记", "XC-0001"]
    assert not any("Household." in line or "Policy." in line for line in shown)
    english = oneruler("report", "late-entries", "--db", sample_db).stdout
    assert "position  event" in english and "Household.Registered" in english


def test_policy_show_in_chinese(sample_db: str) -> None:
    assert lines("policy", "show", "XC-2018", "--db", sample_db) == [
        "兴城镇棚户区改造房屋征收补偿方案（XC-2018 第 1 版，共 1 版，2018-03-01 起施行）",
        "单价                     元",
        "-----------------------  -------",
        "building:brick_concrete  3200.00",
        "building:brick_wood      2600.00",
        "building:simple          800.00",
        "land:homestead           500.00",
        "每户补助                元",
        "----------------------  --------",
        "moving                  2000.00",
        "temporary_resettlement  12000.00",
        "奖励           元        签约截止",
        "-------------  --------  -------------------------",
        "early_signing  20000.00  2018-03-31T23:59:59+08:00",
        "所需材料：身份证、户口簿、房产证、入户调查表、评估报告、补偿协议、银行账户",
    ]
    assert lines("policy", "show", "XC-2018", "--diff", "1", "1", "--db", sample_db) == [
        "XC-2018：第 1 版到第 1 版的变化",
        "没有变化",
    ]
    english = oneruler("policy", "show", "XC-2018", "--db", sample_db).stdout
    assert "incentive      yuan      signed by" in english


def test_consistency_sections_in_chinese(sample_db: str) -> None:
    shown = lines("report", "consistency", "--db", sample_db)
    deviation = shown.index("deviations: agreements in force that depart from their entitlement: 1")
    assert shown[deviation + 1].split() == [
        "户号", "工作组", "协议", "应补偿额", "协议金额", "差额", "原因", "批准人", "批准",
        "签约经办人",
    ]  # fmt: skip
    assert "  已记录 2018-03-11T14:30:00+08:00  s-001" in shown[deviation + 3]
    acts = shown.index("approvals and money acts entered on someone else's behalf: 3")
    assert [line.split()[0] for line in shown[acts + 3 : acts + 6]] == [
        "批准偏离", "确认支付", "办结投诉"
    ]  # fmt: skip
    assert not any("recorded 20" in line for line in shown)


def test_consistency_checks_in_chinese(sample_db: str) -> None:
    write(sample_db, "s-001", "household", "vacated", "--household", "XC-0002",
          "--chose-early", "自愿先搬")  # fmt: skip
    write(sample_db, "s-020", "agreement", "void", "--household", "XC-0002",
          "--agreement", "A-0002", "--reason", "签错了")  # fmt: skip
    write(sample_db, "admin", "household", "register", "--household", "XC-0005",
          "--group", "G01", "--village", "一村", "--head", "张三",
          "--id-number", "211481197001081001")  # fmt: skip
    shown = lines("report", "consistency", "--db", sample_db)
    voided = shown.index("voided agreements: 1")
    assert shown[voided + 1 : voided + 4] == [
        "户号     协议    金额       作废时间                   经办人  原因    重新签约  重签金额",
        "-------  ------  ---------  -------------------------  ------  ------  --------  --------",
        "XC-0002  A-0002  370000.00  2018-03-20T10:00:00+08:00  s-020   签错了  尚未      -",
    ]
    shared = shown.index("shared ID numbers: one head's ID number on several households: 1")
    assert shown[shared + 1 : shared + 4] == [
        "身份证号            户号              户主",
        "------------------  ----------------  ----------",
        "211481197001081001  XC-0001, XC-0005  张三, 张三",
    ]
    vacated = shown.index("vacated before paid in full (compensation first, then relocation): 1")
    assert shown[vacated + 1 : vacated + 4] == [
        "户号     腾空时间                   协议金额  腾空时已付  自愿提前腾空  原因",
        "-------  -------------------------  --------  ----------  ------------  --------",
        "XC-0002  2018-03-20T10:00:00+08:00  -         0.00        是            自愿先搬",
    ]
    english = oneruler("report", "consistency", "--db", sample_db).stdout
    assert "2018-03-20T10:00:00+08:00  -       0.00       yes       自愿先搬" in english


def test_household_history_in_chinese(sample_db: str) -> None:
    shown = lines("household", "history", "XC-0001", "--db", sample_db)
    assert shown[0].split() == ["发生时间", "记录时间", "经办人", "事件", "详情"]
    assert shown[2:5] == [
        f"2018-03-01T09:01:00+08:00  {RECORDED}  admin                登记      户号=XC-0001 "
        "工作组=G01 村=一村 户主=张三 身份证号=211481197001081001 地址=兴城镇一村1号",
        f"2018-03-03T10:01:00+08:00  {RECORDED}  s-001（admin 代录）  入户调查  人口=4 "
        '建筑面积m²={"brick_concrete": "95.50"} 土地面积m²=20.00',
        f"2018-03-06T10:01:00+08:00  {RECORDED}  s-010（admin 代录）  评估      评估编号=V-0001 "
        '补偿方案=XC-2018 方案版本=1 项目=[{"item": "building:brick_concrete", "quantity": '
        '"95.50"}, {"item": "land:homestead", "quantity": "20.00"}, {"item": "well", '
        '"value": "1500.00"}]',
    ]
    assert shown[5].endswith(
        "s-001（admin 代录）  签订协议  协议编号=A-0001 补偿方式=货币补偿 金额=351100.00 "
        "应补偿额=351100.00 评估编号=V-0001 补偿方案=XC-2018 方案版本=1"
    )
    assert "上传材料  材料=身份证 sha256=" in shown[6]
    assert shown[-2].endswith("确认支付  支付编号=P-0001 银行流水号=ICBC-20180312-0001")
    assert shown[-1].endswith("s-001（admin 代录）  腾退")
    assert not any("Household." in line or "entered by" in line for line in shown)


def test_a_complaint_in_a_households_history_and_its_record_in_chinese(sample_db: str) -> None:
    shown = lines("household", "history", "XC-0003", "--db", sample_db)
    assert any(line.endswith("s-030（admin 代录）  关联投诉  投诉编号=C-0001") for line in shown)
    filed = next(line for line in shown if "投诉登记" in line)
    assert "投诉编号=C-0001 渠道=电话 反映对象=住户 XC-0003 内容=" in filed
    assert any("投诉办结  结论=属实 处理结果=" in line for line in shown)
    record = lines("complaint", "show", "C-0001", "--db", sample_db)
    resolved = next(line for line in record if line.startswith("2018-03-13T17:00:00+08:00"))
    assert resolved.startswith("2018-03-13T17:00:00+08:00  s-020（admin 代录）  已办结  属实; ")


def test_a_disputes_verdict_and_findings_in_chinese(sample_db: str) -> None:
    shown = lines("dispute", "XC-0002", "--db", sample_db)
    assert shown[-2:] == [
        "结论：XC-0002 与同类住户的计价标准不同：偏离标准（详见各项说明）。",
        "- XC-0002 协议金额 370000.00 元，比应补偿额 367100.00 元多 2900.00 元，偏离标准；"
        "理由：残疾人家庭困难补助 (hardship: disabled resident)（经 s-020 批准）。",
    ]
    english = oneruler("dispute", "XC-0002", "--db", sample_db).stdout.splitlines()
    assert english[-2:] == [
        "verdict: XC-0002 was priced differently from its peers: deviation (see the findings).",
        "- XC-0002 agreed 370000.00, 2900.00 more than its entitlement 367100.00: "
        "残疾人家庭困难补助 (hardship: disabled resident) (approved by s-020).",
    ]
    # --json keeps the English fields and adds the Chinese beside them.
    document = json.loads(oneruler("dispute", "XC-0002", "--json", "--db", sample_db).stdout)
    assert document["verdict"]["summary"] == english[-2].removeprefix("verdict: ")
    assert document["verdict"]["summary_zh"] == shown[-2].removeprefix("结论：")
    assert [f["text_zh"] for f in document["verdict"]["findings"]] == [shown[-1][2:]]
    assert [f["text"] for f in document["verdict"]["findings"]] == [english[-1][2:]]
    # Items by their Chinese names; its only peer said so.
    same = lines("dispute", "XC-0001", "--db", sample_db)
    assert same[-2] == (
        "结论：XC-0001 与其 1 户同类住户用同一把尺子计价：补偿方案 XC-2018 第 1 版，"
        "各计价项目每平方米单价相同（房屋（砖混结构） 3200.00 元、宅基地 500.00 元；"
        "唯一的 1 户同类住户单价与之完全相同），且无偏离标准，也无复核。其每平方米建筑面积的"
        "应补偿额与同类住户的差别，只来自土地面积、评估项目、每户固定补助和奖励，而不是单价。"
    )


def test_every_event_the_ledger_records_has_a_chinese_name() -> None:
    stored = set()
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        for aggregate in vars(importlib.import_module(module.name)).values():
            for name, event in vars(aggregate).items() if inspect.isclass(aggregate) else ():
                topic = getattr(event, "TOPIC", None)
                if inspect.isclass(event) and topic and name not in ("Event", "Created"):
                    stored.add(str(topic).partition(":")[2])
    assert stored and stored <= set(EVENTS), stored - set(EVENTS)
