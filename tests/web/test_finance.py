"""Finance's pages and the API's worklist rows, on SQLite and PostgreSQL: only the
payouts a confirmation would pass are offered; confirming one or a batch records the
logged-in officer; a blocked payout says why; the batch exported for the bank."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from tests.web.conftest import BASE, csrf_of, log_in_page, token_of
from tests.web.payouts import add_payouts
from web.app import create_app
from web.office import Settings


@pytest.fixture
def finance(sample_url: str) -> Iterator[TestClient]:
    """Finance officer s-040 logged in, on the sample with P-0002 ready and P-0003
    blocked by an open complaint."""
    add_payouts(sample_url)
    with TestClient(create_app(sample_url, Settings()), base_url=BASE) as client:
        log_in_page(client, "s-040")
        yield client


def worklist(client: TestClient) -> tuple[str, dict[str, str]]:
    page = client.get("/finance/ready")
    assert page.status_code == 200
    batch = page.text.split('name="batch" value="', 1)[1].split('"', 1)[0]
    return page.text, {"csrf": csrf_of(page.text), "batch": batch}


def test_the_worklist_offers_only_what_a_confirmation_would_pass(finance: TestClient) -> None:
    page, _ = worklist(finance)
    assert 'value="P-0002"' in page
    assert "P-0003" not in page and "P-0001" not in page
    blocked = finance.get("/finance/blocked").text
    assert "P-0003" in blocked
    assert "XC-0003 has an open complaint (C-0002)" in blocked


def test_confirming_a_ready_payout_records_the_officer(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post(
        "/finance/confirm",
        data={**form, "payout": ["P-0002"], "ref-P-0002": "ICBC-20180320-0002"},
    )
    assert answer.status_code == 200
    assert (
        "已确认支付单 P-0002：向 XC-0002 支付 370000.00 元（银行流水号 ICBC-20180320-0002）"
        in answer.text
    )
    assert 'value="P-0002"' not in answer.text
    paid = finance.get("/finance/paid").text
    assert "ICBC-20180320-0002" in paid and "<td>s-040</td>" in paid
    history = finance.get("/households/XC-0002").text
    assert "ICBC-20180320-0002" in history
    # The same form sent again (a reload) confirms nothing twice.
    again = finance.post(
        "/finance/confirm",
        data={**form, "payout": ["P-0002"], "ref-P-0002": "ICBC-20180320-0002"},
    )
    assert "支付单 P-0002 已由此表单确认，未重复办理" in again.text


def test_confirming_a_blocked_payout_is_refused_in_its_sentence(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post(
        "/finance/confirm",
        data={**form, "payout": ["P-0003"], "ref-P-0003": "ICBC-X"},
    )
    assert answer.status_code == 409
    assert "台账规则不允许，未作任何更改。说明：" in answer.text
    assert "XC-0003 has an open complaint (C-0002)" in answer.text
    assert "P-0003" in finance.get("/finance/blocked").text


def test_a_batch_confirms_what_passes_and_says_why_the_rest_did_not(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post(
        "/finance/confirm",
        data={**form, "payout": ["P-0002", "P-0003"], "ref-P-0002": "R-2", "ref-P-0003": "R-3"},
    )
    assert answer.status_code == 200
    assert "已确认支付单 P-0002：向 XC-0002 支付 370000.00 元（银行流水号 R-2）" in answer.text
    assert "open complaint (C-0002)" in answer.text


def test_a_confirmation_without_a_bank_reference_is_refused(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post("/finance/confirm", data={**form, "payout": ["P-0002"]})
    assert answer.status_code == 409
    assert "give the bank&#39;s reference for P-0002" in answer.text
    assert 'value="P-0002"' in answer.text


def test_the_batch_exported_as_csv_with_a_bom(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post("/finance/export.csv", data={**form, "ref-P-0002": "=HYPERLINK()"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["payout", "household", "amount", "requested_by", "requested_at",
                       "bank_reference"]  # fmt: skip
    assert rows[1][:4] == ["P-0002", "XC-0002", "370000.00", "s-001"]
    assert rows[1][5] == "'=HYPERLINK()"  # neutralised, as the reports' exports are
    assert len(rows) == 2


def test_the_batch_exported_as_xlsx(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post("/finance/export.xlsx", data={**form, "payout": ["P-0002"]})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[1][:3] == ["P-0002", "XC-0002", "370000.00"]


def test_an_export_posted_from_another_site_is_refused(finance: TestClient) -> None:
    _, form = worklist(finance)
    answer = finance.post(
        "/finance/export.csv", data=form, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403


# --- the API's worklist and search rows -------------------------------------------------


def test_the_api_lists_the_payouts_ready_to_pay(finance: TestClient) -> None:
    headers = {"Authorization": f"Bearer {token_of(finance, 's-040')}"}
    answer = finance.get("/api/v1/payouts?ready=true", headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "payouts": [
            {"payout": "P-0002", "household": "XC-0002", "amount": "370000.00",
             "requested_by": "s-001", "requested_at": "2018-03-13T09:00:00+08:00"}
        ]
    }  # fmt: skip
    assert finance.get("/api/v1/payouts", headers=headers).status_code == 400
    assert finance.get("/api/v1/payouts?ready=true").status_code == 401
    # Any other reader (a dashboard's, the hotline's, the clerk who requested it) sees
    # what a finance officer would pass: before, the requester saw an empty list.
    for staff in ("s-030", "s-001"):
        others = {"Authorization": f"Bearer {token_of(finance, staff)}"}
        assert finance.get("/api/v1/payouts?ready=true", headers=others).json() == answer.json()


def test_the_api_searches_by_code_name_and_id_number(finance: TestClient) -> None:
    headers = {"Authorization": f"Bearer {token_of(finance, 's-030')}"}
    for q in ("XC-0003", "王五", "211481197001011003"):
        answer = finance.get("/api/v1/households", params={"q": q}, headers=headers)
        assert answer.status_code == 200
        found = answer.json()["households"]
        assert [h["household"] for h in found] == ["XC-0003"], q
        assert set(found[0]) == {"household", "group", "village", "head", "status"}
    by_group = finance.get("/api/v1/households?q=XC&group=G01", headers=headers).json()
    assert [h["household"] for h in by_group["households"]] == ["XC-0001", "XC-0002"]
    bad = finance.get("/api/v1/households?q=XC&status=dancing", headers=headers)
    assert bad.status_code == 400
    nobody = finance.get("/api/v1/households?q=XC-0099", headers=headers)
    assert nobody.json() == {"households": []}


def test_the_search_page_finds_by_name_and_goes_straight_to_a_code(finance: TestClient) -> None:
    found = finance.get("/households?q=王五")
    assert found.status_code == 200
    assert 'href="/households/XC-0003"' in found.text
    direct = finance.get("/households?q=xc-0003", follow_redirects=False)
    assert direct.status_code == 303
    assert direct.headers["location"] == "/households/XC-0003"
    nothing = finance.get("/households?q=无此人")
    assert "没有找到" in nothing.text


def test_a_households_page_says_why_its_payout_cannot_be_paid(finance: TestClient) -> None:
    page = finance.get("/households/XC-0003").text
    assert "P-0003" in page
    assert '<td class="why">XC-0003 has an open complaint (C-0002)' in page
    replay = finance.get("/households/XC-0003?as_of=2018-03-20").text
    assert "P-0003" in replay and "open complaint (C-0002)" not in replay
