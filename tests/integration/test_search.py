"""Reads that were made cheaper for the web, on both stores. The household search:
exact matches first, then the beginnings of codes and names (an index's range, in byte
order whatever the database's collation), then, only when nothing begins with the text,
codes and names holding it. The group reports at many moments in one pass."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ledger.ingest import ingest
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.conftest import SAMPLE
from tests.credentials import ADMIN

AT = "2018-03-12T09:00:00+08:00"
# (code, head): the sample's four households are XC-0001 … XC-0004.
MORE = [(f"XC-{1000 + i}", "龚波") for i in range(120)] + [
    ("XC-2001", "张龚"),
    ("XC-2002", "龚小波"),
    ("XC-2003", "波涛"),
    ("XB-0001", "李四海"),
    ("XD-0001", "三张"),
]


def registration(code: str, head: str) -> dict[str, str]:
    return {"id": f"r-{code}", "cmd": "register_household", "actor": "admin", "at": AT,
            "household": code, "group": "G01", "village": "一村", "head": head}  # fmt: skip


@pytest.fixture
def reads(store_url: str) -> Iterator[Reads]:
    ledger = open_ledger(store_url)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines() + [
        json.dumps(registration(code, head), ensure_ascii=False) for code, head in MORE
    ]
    try:
        report = ingest(ledger, lines, ADMIN)
        assert report.rejected == 0, report.rejections
        yield Reads(ledger)
    finally:
        ledger.close()


def codes(reads: Reads, q: str, **options: object) -> list[str]:
    return [h["household"] for h in reads.search_households(q, **options)["households"]]  # type: ignore[arg-type]


def test_an_exact_match_is_all_that_is_listed(reads: Reads) -> None:
    assert codes(reads, "龚小波") == ["XC-2002"]
    assert codes(reads, "xc-2001") == ["XC-2001"]


def test_the_beginning_of_a_code_or_name_lists_those_beginning_with_it_in_code_order(
    reads: Reads,
) -> None:
    assert codes(reads, "XC-200") == ["XC-2001", "XC-2002", "XC-2003"]
    # 龚波 (120 households) and 龚小波 begin with 龚; 张龚 holds it later and is not listed.
    found = codes(reads, "龚")
    assert len(found) == 100 and "XC-2001" not in found
    assert found == sorted(found) and found[0] == "XC-1000"
    assert codes(reads, "xb") == ["XB-0001"]  # any case
    # 波涛 begins with 波: the 121 names holding it later are not listed.
    assert codes(reads, "波") == ["XC-2003"]
    assert codes(reads, "XC-10", group="G02") == []


def test_text_that_begins_nothing_finds_what_holds_it(reads: Reads) -> None:
    # Nothing begins with 四海, 小波 or 涛: the names holding them are listed.
    assert codes(reads, "四海") == ["XB-0001"]
    assert codes(reads, "小波") == ["XC-2002"]
    assert codes(reads, "涛") == ["XC-2003"]
    assert len(codes(reads, "-1")) == 100  # XC-1000 … XC-1099 hold it
    # A LIKE wildcard in the text is the character itself.
    assert codes(reads, "%") == [] and codes(reads, "_") == []


def test_the_reports_at_many_moments_are_each_moments_report(reads: Reads) -> None:
    """The bulletin's chart reads the group report at every day's end in one pass (a
    running sum of the daily table); each must be the report as of that moment alone,
    in any order, repeated, and a microsecond either side of a day's end."""
    from datetime import timedelta

    from domain.values import LEDGER_TZ, end_of_day

    first = reads.first_business_day()
    last = reads.last_business_day()
    assert first is not None and last is not None
    day, ends = first.astimezone(LEDGER_TZ).date(), []
    while day <= last.astimezone(LEDGER_TZ).date() + timedelta(days=1):
        ends.append(end_of_day(day, LEDGER_TZ))
        day += timedelta(days=1)
    tick = timedelta(microseconds=1)
    moments = [m + d for m in ends for d in (-tick, timedelta(0), tick)]
    moments = moments[::-1] + moments[:3] + [first - tick, first, last]
    assert reads.group_reports(moments) == [reads.group_report(m) for m in moments]
    assert len({str(r["total"]) for r in reads.group_reports(moments)}) > 2  # they differ


def test_a_stage_asked_for_looks_further_than_the_beginnings(reads: Reads) -> None:
    """三张 begins with 三 but is only registered; 张三 (XC-0001) holds it and is further
    on: asked for at XC-0001's stage, the search finds it among those holding 三."""
    stage = reads.search_households("XC-0001")["households"][0]["status"]
    assert stage != "registered"
    assert codes(reads, "三") == ["XD-0001"]  # without a stage: the beginnings only
    assert codes(reads, "三", status=stage) == ["XC-0001"]
    assert codes(reads, "三", status="registered") == ["XD-0001"]
    assert codes(reads, "三", status="signed" if stage != "signed" else "paid") == []
