"""The pages everyone uses, through the application in-process (SQLite and
PostgreSQL): a household's page and its replay as of a moment, the public pages, and
what each role may open."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ledger.checkpoint import generate_key, parse_signer
from tests.web.conftest import log_in_page


def test_a_household_page_shows_its_state_timeline_and_who_entered_what(app: TestClient) -> None:
    log_in_page(app, "s-020")
    page = app.get("/households/XC-0001")
    assert page.status_code == 200
    text = page.text
    assert "XC-0001 · 张三" in text
    assert '<dd id="status" data-status="paid">已付清</dd>' in text
    assert "P-0001" in text and "ICBC-20180312-0001" in text
    # Every event, with its actor, and admin shown as who entered the sample's lines.
    assert text.count("<tr><td>2018-") == 14
    assert "<td>s-040</td><td>admin</td>" in text
    assert "2018-03-12 16:00:00+08:00" in text
    # What each event holds, in the page's language.
    assert '<td class="details">户号=XC-0001 工作组=G01 村=一村 户主=张三 ' in text
    assert '<td class="details">材料=身份证 sha256=' in text
    assert '<td class="details">支付编号=P-0001 银行流水号=ICBC-20180312-0001</td>' in text
    english = app.get("/households/XC-0001?lang=en").text
    assert '<td class="details">household=XC-0001 group=G01 village=一村 head=张三 ' in english


def test_a_household_page_replays_as_of_a_moment(app: TestClient) -> None:
    log_in_page(app, "s-030")
    then = app.get("/households/XC-0001?as_of=2018-03-05T12:00")
    assert then.status_code == 200
    assert '<dd id="status" data-status="surveyed">已摸底</dd>' in then.text
    assert then.text.count("<tr><td>2018-") == 2
    assert "P-0001" not in then.text
    before = app.get("/households/XC-0001?as_of=2018-02-01")
    assert before.status_code == 404
    assert "was not yet registered" in before.text
    bad = app.get("/households/XC-0001?as_of=someday")
    assert bad.status_code == 400
    assert "查询条件有误。说明：" in bad.text  # a page only read changed nothing to say so


def test_a_complaint_shows_on_its_households_page_as_it_stood(app: TestClient) -> None:
    log_in_page(app, "s-030")
    during = app.get("/households/XC-0003?as_of=2018-03-10").text
    assert "C-0001" in during and "办理中" in during
    after = app.get("/households/XC-0003").text
    assert "已办结" in after and "substantiated" in after


def test_an_unknown_household_is_one_sentence(app: TestClient) -> None:
    log_in_page(app, "s-030")
    answer = app.get("/households/XC-0999")
    assert answer.status_code == 404
    assert "unknown household XC-0999" in answer.text


@pytest.mark.parametrize(
    ("staff", "sees"),
    [("admin", True), ("s-020", True), ("s-001", True), ("s-002", False), ("s-030", False),
     ("s-040", False), ("s-010", False)],
)  # fmt: skip
def test_full_id_numbers_and_addresses_only_for_who_may_see_them(
    app: TestClient, staff: str, sees: bool
) -> None:
    """XC-0001 is of group G01: s-001 is its clerk, s-002 a clerk of G02."""
    log_in_page(app, staff)
    page = app.get("/households/XC-0001").text
    assert ("211481197001081001" in page) is sees
    assert ("兴城镇一村1号" in page) is sees
    assert "1001" in page


def test_the_public_pages_need_no_login(app: TestClient) -> None:
    bulletin = app.get("/public/bulletin?date=2018-03-15")
    assert bulletin.status_code == 200
    assert 'id="groups"' in bulletin.text and 'id="ranking"' in bulletin.text
    chart = app.get("/public/bulletin/chart.svg?date=2018-03-15")
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.startswith("<svg")
    disclosure = app.get("/public/disclosure")
    assert disclosure.status_code == 200
    assert "张某" in disclosure.text and "**************1001" in disclosure.text
    assert "211481197001081001" not in disclosure.text
    policies = app.get("/public/policies?lang=en")
    assert "XC-2018" in policies.text and "Required documents" in policies.text


def test_the_bulletin_is_of_the_latest_day_on_record_unless_asked(app: TestClient) -> None:
    """The sample programme's bulletin figures last change on 2018-03-13 (a complaint
    resolved)."""
    assert "<h1>每日进度公告 · 2018-03-13</h1>" in app.get("/public/bulletin").text
    assert "<h1>每日进度公告 · 2018-03-10</h1>" in app.get("/public/bulletin?date=2018-03-10").text


def test_the_bulletin_shows_the_signed_checkpoint(app: TestClient) -> None:
    signer, _ = generate_key("ledger.example.gov.cn/xingcheng")
    stored = app.app.state.office.ledger.sign_checkpoint([parse_signer(signer)])  # type: ignore[attr-defined]
    page = app.get("/public/bulletin?date=2018-03-15").text
    assert stored.note.splitlines()[0] in page


def test_a_bulletin_before_the_programme_is_one_sentence(app: TestClient) -> None:
    answer = app.get("/public/bulletin?date=2017-01-01")
    assert answer.status_code == 404
    assert "there is no bulletin before 2018-03-01" in answer.text


@pytest.mark.parametrize("path", ["/finance/ready", "/finance/paid", "/finance/blocked"])
def test_finance_pages_are_finances_alone(app: TestClient, path: str) -> None:
    log_in_page(app, "s-030")
    answer = app.get(path)
    assert answer.status_code == 403
    assert "s-030 is hotline staff and may not open this page" in answer.text


def test_an_idle_session_ends(sample_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from web.app import create_app
    from web.office import Settings

    now = [datetime.now(UTC)]
    app = create_app(sample_url, Settings(clock=lambda: now[0]))
    with TestClient(app, base_url="http://testserver") as client:
        log_in_page(client, "s-030")
        assert client.get("/households/XC-0001").status_code == 200
        now[0] += timedelta(minutes=29)
        assert client.get("/households/XC-0001").status_code == 200
        now[0] += timedelta(minutes=31)
        ended = client.get("/households/XC-0001", follow_redirects=False)
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/login?next=")
        assert "会话已结束" in client.get(ended.headers["location"]).text
