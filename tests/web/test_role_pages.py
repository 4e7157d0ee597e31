"""The role pages of the supervisor, the hotline and the clerk, and the printables,
through the application in-process (SQLite and PostgreSQL): what each shows, what each
write appends (and nothing on a refusal), who may open which, and masking."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledger.checkpoint import generate_key, parse_signer
from ledger.commands import parse_command
from ledger.log.notes import parse_receipt
from tests.credentials import execute_as_actor
from tests.web.conftest import csrf_of, log_in_page
from web.acts import shown
from web.views import clerk, printable

CLERK_G01, CLERK_G02, SUPERVISOR, HOTLINE, FINANCE = "s-001", "s-002", "s-020", "s-030", "s-040"


def stored(client: TestClient) -> int:
    """How many events the ledger holds."""
    return client.app.state.office.reads.events_stored()  # type: ignore[attr-defined,no-any-return]


def text(response: Any) -> str:
    return html.unescape(response.text)


def run_as(client: TestClient, line: dict[str, Any]) -> None:
    """Enter a command as its own actor, beside the pages (set-up of a test)."""
    ledger = client.app.state.office.ledger  # type: ignore[attr-defined]
    execute_as_actor(ledger, parse_command(line))
    ledger.read_models.catch_up()


def post(client: TestClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    csrf = csrf_of(client.get("/").text)
    return client.post(path, data={"csrf": csrf, **data}, **kwargs)


# --- who may open what ------------------------------------------------------------------

PAGES = {
    "/dispute": ("supervisor",),
    "/consistency": ("supervisor",),
    "/deviations": ("supervisor",),
    "/agreements/void": ("supervisor",),
    "/complaints": ("supervisor", "hotline"),
    "/complaints/new": ("hotline",),
    "/clerk": ("clerk",),
}
STAFF = {CLERK_G01: "clerk", SUPERVISOR: "supervisor", HOTLINE: "hotline", FINANCE: "finance"}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_each_page_opens_for_its_roles_only_and_is_on_their_home_page(
    app: TestClient, path: str
) -> None:
    for staff, role in STAFF.items():
        log_in_page(app, staff)
        answer = app.get(path)
        listed = f'href="{path}"' in app.get("/").text
        if role in PAGES[path]:
            assert answer.status_code == 200, (staff, text(answer))
            assert listed, (staff, path)
        else:
            assert answer.status_code == 403, (staff, path)
            assert f"{staff} is {role} staff and may not open this page" in text(answer)
            assert not listed


# --- the supervisor -----------------------------------------------------------------------


def test_the_dispute_page_shows_line_items_peers_and_the_verdict(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    answer = app.get("/dispute?household=XC-0002")
    assert answer.status_code == 200
    page = text(answer)
    # The line items in the page's words: kind, item, quantity, rate, amount.
    assert re.search(
        r"<td>按面积计价</td><td>房屋（砖混结构）</td><td[^>]*>100\.50</td>"
        r"<td[^>]*>3200\.00</td><td[^>]*>321600\.00</td>",
        page,
    ), page
    assert "<td>按户补助</td><td>临时安置费</td>" in page
    assert "<td>2018-03-31T23:59:59+08:00 前签约</td>" in page  # the incentive's condition
    assert "<td>入户调查</td>" in page and "<td>评估</td>" in page  # the record's steps
    assert "<td>签订协议</td>" in page
    english = text(app.get("/dispute?household=XC-0002&lang=en"))
    assert "<td>rate × quantity</td><td>building, brick and concrete</td>" in english
    assert 'href="/dispute?household=XC-0001"' in page  # its peer
    assert "XC-0002 was priced differently from its peers: deviation" in english
    assert "2900.00 more than its entitlement 367100.00" in english
    # The verdict and its findings in the page's language.
    assert "XC-0002 与同类住户的计价标准不同：偏离标准（详见各项说明）。" in page
    assert (
        '<ul id="findings"><li>XC-0002 协议金额 370000.00 元，比应补偿额 367100.00 元多 '
        "2900.00 元，偏离标准；理由：残疾人家庭困难补助 (hardship: disabled resident)"
        "（经 s-020 批准）。</li></ul>"
    ) in page
    assert "priced differently" not in page and "more than its entitlement" not in page


def test_the_dispute_page_answers_what_if_under_another_version(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    refused = app.get("/dispute?household=XC-0002&other_version=2")
    assert refused.status_code == 409
    assert "policy XC-2018 has no version 2; it has only version 1." in text(refused)
    document = app.app.state.office.reads.published_policies()[0]  # type: ignore[attr-defined]
    raised = {**document, "version": 2, "effective": "2018-06-01"}
    raised["rates"] = {**document["rates"], "building:brick_concrete": "3400.00"}
    run_as(app, {"id": "v2", "cmd": "publish_policy", "actor": "admin",
                 "at": "2018-05-01T08:00:00+08:00", "document": raised})  # fmt: skip
    answer = app.get("/dispute?household=XC-0002&other_version=2")
    assert answer.status_code == 200
    page = text(answer)
    assert 'id="what-if-entitlement">387200.00<' in page  # 100.50 m² × 200.00 more
    assert 'id="what-if-difference">20100.00<' in page
    assert "3400.00" in page


def test_an_unknown_household_in_the_dispute_page_is_one_sentence(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    answer = app.get("/dispute?household=XC-9999")
    assert answer.status_code == 404
    assert "unknown household XC-9999" in text(answer)


def test_the_consistency_report_lists_deviations_reviews_and_acts_for_others(
    app: TestClient,
) -> None:
    log_in_page(app, SUPERVISOR)
    page = text(app.get("/consistency"))
    assert "残疾人家庭困难补助" in page and "2900.00" in page
    assert "V-0003R" in page and "105.50 → 108.20" in page
    assert "xc-0031" not in page and "payout P-0001" in page


def test_a_supervisor_approves_a_deviation_and_a_clerk_may_not(app: TestClient) -> None:
    log_in_page(app, CLERK_G01)
    before = stored(app)
    refused = post(app, "/deviations", {"household": "XC-0004", "amount": "400000.00",
                                        "reason": "hardship"})  # fmt: skip
    assert refused.status_code == 403
    assert stored(app) == before
    log_in_page(app, SUPERVISOR)
    in_force = post(app, "/deviations", {"household": "XC-0002", "amount": "380000.00",
                                         "reason": "hardship"})  # fmt: skip
    assert in_force.status_code == 409
    assert "agreement A-0002 of XC-0002 is in force" in text(in_force)
    # On a Chinese page the ledger's sentence is led by what kind of refusal it is.
    assert "台账规则不允许，未作任何更改。说明：" in text(in_force)
    answer = post(app, "/deviations", {"household": "XC-0004", "amount": "400000.00",
                                       "reason": "hardship"})  # fmt: skip
    assert answer.status_code == 200
    assert "已批准 XC-0004 的协议金额 400000.00 元" in text(answer)
    assert stored(app) == before + 1
    history = app.app.state.office.reads.household_history("XC-0004", None)  # type: ignore[attr-defined]
    last = history["events"][-1]
    assert (last["type"], last["actor"]) == ("Household.DeviationApproved", SUPERVISOR)


def test_a_supervisor_voids_an_agreement_and_a_wrong_number_is_refused(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    before = stored(app)
    wrong = post(app, "/agreements/void", {"household": "XC-0002", "agreement": "A-9999",
                                           "reason": "typed twice"})  # fmt: skip
    assert wrong.status_code == 409
    assert "A-9999" in text(wrong)
    assert stored(app) == before
    app.get("/?lang=en")  # the English switch: what was done is said in English
    answer = post(app, "/agreements/void", {"household": "XC-0002", "agreement": "A-0002",
                                            "reason": "signed under the wrong method"})  # fmt: skip
    assert answer.status_code == 200
    assert "voided agreement A-0002 of XC-0002" in text(answer)
    assert stored(app) == before + 1


# --- the hotline and complaints -------------------------------------------------------------


def file_call(app: TestClient, **fields: str) -> Any:
    log_in_page(app, HOTLINE)
    data = {"household": "XC-0004", "channel": "hotline", "summary": "测量不公", **fields}
    return post(app, "/complaints/new", data)


def test_the_hotline_takes_a_call_and_is_told_the_id_and_the_deadlines(app: TestClient) -> None:
    before = stored(app)
    answer = file_call(app, command="call-1")
    assert answer.status_code == 200
    page = text(answer)
    found = re.search(r'id="filed-id"><a href="/complaints/(C-[0-9A-Z]{4}-[0-9A-Z]{4})"', page)
    assert found is not None, page
    code = found.group(1)
    assert f"已登记投诉 {code}，反映对象：住户 XC-0004" in page
    entry = next(
        e
        for e in app.app.state.office.reads.complaints(app.app.state.office.reads.now())  # type: ignore[attr-defined]
        if e["complaint"] == code
    )
    assert f'id="acknowledge-by">{shown(entry["acknowledge_by"])}<' in page
    assert f'id="resolve-by">{shown(entry["resolve_by"])}<' in page
    assert stored(app) == before + 2  # the complaint, and the household's link to it
    again = file_call(app, command="call-1")  # the same form sent twice
    assert "此表单已提交过" in text(again)
    assert stored(app) == before + 2
    assert code in text(app.get("/complaints"))


def test_a_call_about_nothing_or_an_unknown_household_appends_nothing(app: TestClient) -> None:
    before = stored(app)
    nothing = file_call(app, household="")
    assert nothing.status_code == 400
    assert "say what the complaint is about" in text(nothing)
    unknown = file_call(app, household="XC-9999")
    assert unknown.status_code == 404
    assert "XC-9999" in text(unknown)
    assert stored(app) == before


def test_the_inbox_shows_overdue_complaints(app: TestClient) -> None:
    run_as(app, {"id": "old", "cmd": "file_complaint", "actor": HOTLINE, "complaint": "C-0002",
                 "at": "2018-03-20T09:00:00+08:00", "channel": "letter",
                 "about": {"group": "G01"}, "summary": "迟迟未答复"})  # fmt: skip
    log_in_page(app, HOTLINE)
    overdue = text(app.get("/complaints?show=overdue"))
    assert "C-0002" in overdue and "C-0001" not in overdue
    assert "C-0001" in text(app.get("/complaints?show=all"))
    assert app.get("/complaints?show=late").status_code == 400


def test_the_hotline_acknowledges_the_supervisor_resolves_the_hotline_reopens(
    app: TestClient,
) -> None:
    answer = file_call(app)
    code = re.search(r"已登记投诉 (C-[0-9A-Z-]+)", text(answer)).group(1)  # type: ignore[union-attr]
    before = stored(app)
    acknowledged = post(app, f"/complaints/{code}", {"act": "acknowledge", "note": "已受理"})
    assert acknowledged.status_code == 200
    assert f"已受理投诉 {code}" in text(acknowledged)
    refused = post(app, f"/complaints/{code}", {"act": "resolve", "finding": "partial",
                                                 "outcome": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert stored(app) == before + 1
    log_in_page(app, SUPERVISOR)
    page = text(app.get(f"/complaints/{code}"))
    assert 'id="act-resolve"' in page and "已受理" in page
    resolved = post(app, f"/complaints/{code}", {"act": "resolve", "finding": "unsubstantiated",
                                                 "outcome": "复核无误"})  # fmt: skip
    assert resolved.status_code == 200
    assert f"已办结投诉 {code}：不属实" in text(resolved)
    again = post(app, f"/complaints/{code}", {"act": "resolve", "finding": "partial",
                                              "outcome": "again"})  # fmt: skip
    assert again.status_code == 409
    log_in_page(app, HOTLINE)
    reopened = post(app, f"/complaints/{code}", {"act": "reopen", "reason": "来电人不认可"})
    assert reopened.status_code == 200
    assert f"已重新打开投诉 {code}" in text(reopened)
    assert stored(app) == before + 3
    record = app.app.state.office.reads.complaint(code)["record"]  # type: ignore[attr-defined]
    assert [(e["event"], e["actor"]) for e in record[1:]] == [
        ("acknowledged", HOTLINE),
        ("resolved", SUPERVISOR),
        ("reopened", HOTLINE),
    ]


def test_an_unknown_complaint_is_404(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    answer = app.get("/complaints/C-9999")
    assert answer.status_code == 404
    assert "unknown complaint C-9999" in text(answer)


# --- the clerk ---------------------------------------------------------------------------------

CLERK_FORMS = ("survey", "agreement", "file", "vacated", "payout")


def test_a_clerk_sees_their_own_groups_households(app: TestClient) -> None:
    log_in_page(app, CLERK_G01)
    page = text(app.get("/clerk"))
    assert "XC-0001" in page and "XC-0002" in page and "XC-0003" not in page
    opened = app.get("/clerk?household=XC-0002", follow_redirects=False)
    assert opened.headers["location"] == "/households/XC-0002/file"
    assert app.get("/clerk?household=XC-0003").status_code == 403
    signed = text(app.get("/clerk?status=signed"))
    assert 'href="/households/XC-0002"' in signed and 'href="/households/XC-0001"' not in signed
    refused = app.get("/clerk?status=dreaming")
    assert refused.status_code == 400
    assert "status must be one of registered, surveyed, valued, signed, paid" in text(refused)


@pytest.mark.parametrize("form", CLERK_FORMS)
def test_another_groups_household_form_is_refused_and_appends_nothing(
    app: TestClient, form: str
) -> None:
    log_in_page(app, CLERK_G01)
    own = app.get(f"/households/XC-0002/{form}")
    assert own.status_code == 200
    other = app.get(f"/households/XC-0003/{form}")
    assert other.status_code == 403
    assert "XC-0003 belongs to group G02, and s-001 is a clerk of group G01" in text(other)
    before = stored(app)
    posted = post(app, f"/households/XC-0003/{form}",
                  {"residents": "3", "area_brick_concrete": "10", "land_area_m2": "1",
                   "agreement": "A-9", "method": "monetary", "amount": "1.00",
                   "payout": "P-9"})  # fmt: skip
    assert posted.status_code == 403
    assert stored(app) == before


def test_a_clerk_records_a_survey_and_a_bad_one_is_refused(app: TestClient) -> None:
    log_in_page(app, CLERK_G02)
    before = stored(app)
    survey = {"residents": "three", "area_brick_concrete": "100.50", "land_area_m2": "20"}
    bad = post(app, "/households/XC-0004/survey", survey)
    assert bad.status_code == 400
    assert "residents must be a whole number" in text(bad)
    assert stored(app) == before
    answer = post(app, "/households/XC-0004/survey",
                  {"residents": "3", "area_brick_concrete": "111.00", "land_area_m2": "20.00",
                   "reason": "remeasured"})  # fmt: skip
    assert answer.status_code == 200, text(answer)
    assert "已记录 XC-0004 的入户调查" in text(answer)
    assert stored(app) == before + 1
    log_in_page(app, CLERK_G01)
    in_force = post(app, "/households/XC-0002/survey",
                    {"residents": "3", "area_brick_concrete": "101.00", "land_area_m2": "20.00",
                     "reason": "remeasured"})  # fmt: skip
    assert in_force.status_code == 409
    assert "agreement A-0002 of XC-0002 is in force; a supervisor must void it" in text(in_force)
    assert stored(app) == before + 1


def test_a_clerk_records_an_agreement_for_the_entitlement_only(app: TestClient) -> None:
    log_in_page(app, CLERK_G02)
    before = stored(app)
    form = text(app.get("/households/XC-0004/agreement"))
    entitlement = re.search(r'id="entitlement">([0-9.]+)<', form).group(1)  # type: ignore[union-attr]
    more = post(app, "/households/XC-0004/agreement",
                {"agreement": "A-0004", "method": "monetary", "amount": "999999.00"})  # fmt: skip
    assert more.status_code == 409
    assert f"the amount 999999.00 differs from the entitlement {entitlement}" in text(more)
    assert stored(app) == before
    answer = post(app, "/households/XC-0004/agreement",
                  {"agreement": "A-0004", "method": "monetary", "amount": entitlement})  # fmt: skip
    assert answer.status_code == 200, text(answer)
    said = f"已记录 XC-0004 的协议 A-0004：{entitlement} 元，货币补偿"
    assert said in text(answer)
    assert stored(app) == before + 1


def test_an_uploaded_document_is_kept_by_its_digest_and_checked_off(app: TestClient) -> None:
    log_in_page(app, CLERK_G01)
    content = b"%PDF-1.4 the head's ID card, scanned"
    digest = hashlib.sha256(content).hexdigest()
    before = stored(app)
    scanned = ("../../XC-0002 id card.pdf", content, "application/pdf")
    answer = post(app, "/households/XC-0002/file", {"kind": "id_card"}, files={"file": scanned})
    assert answer.status_code == 200, text(answer)
    page = text(answer)
    assert "已将身份证（XC-0002 id card.pdf）归入 XC-0002 的档案" in page
    assert f"SHA-256 {digest}" in page
    assert stored(app) == before + 1
    checklist = page[page.index('id="checklist"') :]
    row = checklist[checklist.index("<td>id_card</td>") :].split("</tr>")[0]
    assert "已上传" in row and f"/households/XC-0002/documents/{digest}" in row
    assert "<td>hukou</td>" in checklist
    download = app.get(f"/households/XC-0002/documents/{digest}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="XC-0002_id_card.pdf"'
    # The same bytes again: attached again, kept once, never overwritten.
    post(app, "/households/XC-0002/file", {"kind": "agreement"},
         files={"file": ("copy.pdf", content, "application/pdf")})  # fmt: skip
    office = app.app.state.office  # type: ignore[attr-defined]
    assert office.reads.document(digest, "XC-0002") == content
    # Who does not see the household's private fields does not read its documents.
    log_in_page(app, HOTLINE)
    assert app.get(f"/households/XC-0002/documents/{digest}").status_code == 403
    log_in_page(app, CLERK_G02)
    assert app.get(f"/households/XC-0002/documents/{digest}").status_code == 403
    # Another group's clerk who reads the digest off the timeline and attaches it to a
    # household of her own does not get the file: it was not uploaded for that one.
    stolen = {"id": "steal-1", "cmd": "attach_document", "actor": CLERK_G02,
              "at": "2018-03-25T10:00:00+08:00", "household": "XC-0003", "kind": "id_card",
              "sha256": digest, "filename": "theirs.pdf"}  # fmt: skip
    assert execute_as_actor(office.ledger, parse_command(stolen))
    assert app.get(f"/households/XC-0003/documents/{digest}").status_code == 404
    assert office.reads.document(digest, "XC-0003") is None


def test_finance_may_not_download_a_households_documents(app: TestClient) -> None:
    """docs/security.md: only those who see a household's private fields read its
    scans; finance sees them masked, and pays against the ledger's completeness check."""
    log_in_page(app, CLERK_G01)
    content = b"%PDF-1.4 the bank account's passbook, scanned"
    digest = hashlib.sha256(content).hexdigest()
    scanned = ("passbook.pdf", content, "application/pdf")
    attached = post(app, "/households/XC-0002/file", {"kind": "bank_account"},
                    files={"file": scanned})  # fmt: skip
    assert attached.status_code == 200, text(attached)
    assert app.get(f"/households/XC-0002/documents/{digest}").content == content
    log_in_page(app, FINANCE)
    refused = app.get(f"/households/XC-0002/documents/{digest}")
    assert refused.status_code == 403
    assert content not in refused.content
    said = "s-040 is finance staff and may not open this page; only admin or clerk or supervisor"
    assert said in text(refused)
    log_in_page(app, SUPERVISOR)
    assert app.get(f"/households/XC-0002/documents/{digest}").content == content


def test_an_upload_too_large_or_empty_is_refused_and_appends_nothing(
    app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in_page(app, CLERK_G01)
    before = stored(app)
    empty = post(app, "/households/XC-0002/file", {"kind": "id_card"},
                 files={"file": ("empty.pdf", b"", "application/pdf")})  # fmt: skip
    assert empty.status_code == 400
    assert "the file is empty" in text(empty)
    monkeypatch.setattr(clerk, "MAX_UPLOAD_BODY", 2000)
    large = post(app, "/households/XC-0002/file", {"kind": "id_card"},
                 files={"file": ("big.pdf", b"x" * 5000, "application/pdf")})  # fmt: skip
    assert large.status_code == 413
    assert "nothing was kept or attached" in text(large)
    assert stored(app) == before


# --- forms that are not whole forms -----------------------------------------------------

BOUNDARY = "oneruler-test-boundary"


def multipart(fields: dict[str, str], file: bytes | None) -> bytes:
    """A form as a browser posts it: the fields, then the file's part, then the closing
    boundary."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    if file is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="id.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        )
    body = "".join(parts).encode() + (file + b"\r\n" if file is not None else b"")
    return body + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client: TestClient, path: str, body: bytes, boundary: str | None = BOUNDARY) -> Any:
    kind = "multipart/form-data" + (f"; boundary={boundary}" if boundary else "")
    return client.post(path, content=body, headers={"content-type": kind})


SCAN = b"%PDF-1.4 the head's ID card, scanned"
CUT_SHORT = "the form arrived cut short (its body ended before the form did), and nothing was"
MALFORMED = "the form could not be read (its body is not a well-formed form"


@pytest.mark.parametrize(
    "how",
    ["cut inside the file", "cut before the closing boundary", "another boundary",
     "no boundary", "a part without a name"],
)  # fmt: skip
def test_an_upload_that_is_not_a_whole_form_is_refused_and_keeps_nothing(
    app: TestClient, how: str
) -> None:
    log_in_page(app, CLERK_G01)
    whole = multipart({"csrf": csrf_of(app.get("/").text), "kind": "id_card"}, SCAN)
    body, boundary, said = {
        "cut inside the file": (whole[: whole.index(SCAN) + 10], BOUNDARY, CUT_SHORT),
        "cut before the closing boundary": (whole[:-4], BOUNDARY, CUT_SHORT),
        "another boundary": (whole, "not-the-bodys-boundary", MALFORMED),
        "no boundary": (whole, None, MALFORMED),
        "a part without a name": (
            whole.replace(b'form-data; name="kind"', b"form-data"),
            BOUNDARY,
            MALFORMED,
        ),
    }[how]
    before = stored(app)
    answer = post_raw(app, "/households/XC-0002/file", body, boundary)
    assert answer.status_code == 400, text(answer)
    assert said in text(answer)
    assert "failed unexpectedly" not in text(answer)
    assert stored(app) == before
    office = app.app.state.office  # type: ignore[attr-defined]
    assert office.reads.documents_kept([hashlib.sha256(SCAN).hexdigest()], "XC-0002") == set()
    # The same form whole is taken: what was refused was its shape, nothing else.
    taken = post_raw(app, "/households/XC-0002/file", whole)
    assert taken.status_code == 200, text(taken)
    assert stored(app) == before + 1


def test_a_text_field_where_the_file_should_be_is_refused_and_appends_nothing(
    app: TestClient,
) -> None:
    log_in_page(app, CLERK_G01)
    fields = {"csrf": csrf_of(app.get("/").text), "kind": "id_card", "file": "id.pdf"}
    before = stored(app)
    answer = post_raw(app, "/households/XC-0002/file", multipart(fields, None))
    assert answer.status_code == 400
    assert "choose the scanned file to upload." in text(answer)
    assert stored(app) == before


def test_any_page_form_cut_short_is_refused_not_acted_on(app: TestClient) -> None:
    """Every page reads its form through the frame: the vacating form cut before its
    closing boundary still holds its token, and would have been recorded."""
    log_in_page(app, CLERK_G01)
    whole = multipart({"csrf": csrf_of(app.get("/").text)}, None)
    before = stored(app)
    answer = post_raw(app, "/households/XC-0002/vacated", whole[: -len(f"--{BOUNDARY}--\r\n")])
    assert answer.status_code == 400
    assert CUT_SHORT in text(answer)
    assert stored(app) == before
    assert post_raw(app, "/households/XC-0002/vacated", whole).status_code == 200
    assert stored(app) == before + 1


def test_a_payout_of_an_incomplete_file_is_refused_with_its_reason(app: TestClient) -> None:
    log_in_page(app, CLERK_G01)
    form = text(app.get("/households/XC-0002/payout"))
    assert 'value="P-XC-0002-1"' in form
    before = stored(app)
    answer = post(app, "/households/XC-0002/payout", {"payout": "P-XC-0002-1",
                                                      "amount": "370000.00"})  # fmt: skip
    assert answer.status_code == 409
    assert "id_card" in text(answer)
    assert stored(app) == before


def test_vacating_is_recorded_once_after_an_agreement(app: TestClient) -> None:
    log_in_page(app, CLERK_G01)
    before = stored(app)
    answer = post(app, "/households/XC-0002/vacated", {})
    assert answer.status_code == 200
    assert "已记录 XC-0002 腾空交房" in text(answer)
    again = post(app, "/households/XC-0001/vacated", {})
    assert again.status_code == 409
    assert "XC-0001 was already recorded as vacated." in text(again)
    assert stored(app) == before + 1


# --- the printables ---------------------------------------------------------------------------


def test_the_printed_agreement_names_its_event_and_its_checkpoint(app: TestClient) -> None:
    log_in_page(app, SUPERVISOR)
    page = text(app.get("/households/XC-0001/print/agreement"))
    assert "A-0001" in page and "351100.00" in page
    assert "Household.AgreementSigned · 户编号 XC-0001 · 版本 4" in page
    assert "xc-0022" in page
    assert "尚无签名检查点包含该记录" in page
    assert full_id_numbers(app)[0] in page  # a supervisor sees the full ID number
    signer, _ = generate_key("office.example/log")
    ledger = app.app.state.office.ledger  # type: ignore[attr-defined]
    made = ledger.sign_checkpoint([parse_signer(signer)], origin=None)
    page = text(app.get("/households/XC-0001/print/agreement"))
    assert f"包含该记录的签名检查点: 大小 {made.size}" in page
    assert made.root.hex() in page


def test_the_payment_notice_names_the_confirmation(app: TestClient) -> None:
    log_in_page(app, FINANCE)
    page = text(app.get("/households/XC-0001/print/payment-notice"))
    assert "P-0001" in page and "351100.00" in page and "ICBC-20180312-0001" in page
    assert "Household.PayoutConfirmed" in page
    assert app.get("/households/XC-0002/print/payment-notice").status_code == 404


def test_the_receipt_carries_the_signed_note_and_its_qr_code(
    app: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log_in_page(app, CLERK_G01)
    monkeypatch.delenv(printable.KEY_ENV, raising=False)
    unsigned = text(app.get("/households/XC-0001/print/receipt"))
    assert "this server was not given the office's signing key" in unsigned
    signer, _ = generate_key("office.example/log")
    key = tmp_path / "office.key"
    key.write_text(signer, encoding="utf-8")
    monkeypatch.setenv(printable.KEY_ENV, str(key))
    page = text(app.get("/households/XC-0001/print/receipt?version=4"))
    note = re.search(r'<pre class="note" id="note">(.*?)</pre>', page, re.S)
    assert note is not None
    receipt = parse_receipt(note.group(1))
    assert (receipt.kind, receipt.code, receipt.version) == ("household", "XC-0001", 4)
    assert 'id="qr" src="data:image/svg+xml' in page
    place = app.app.state.office.reads.in_log("household", "XC-0001", 4)  # type: ignore[attr-defined]
    assert receipt.index == place["index"]
    assert app.get("/households/XC-0001/print/receipt?version=99").status_code == 404


# --- masking ------------------------------------------------------------------------------------


def full_id_numbers(client: TestClient) -> list[str]:
    """Every household's full ID number, as registered."""
    reads = client.app.state.office.reads  # type: ignore[attr-defined]
    numbers = []
    for code in ("XC-0001", "XC-0002", "XC-0003", "XC-0004"):
        registered = reads.household_history(code, None)["events"][0]["data"]
        numbers.append(registered["id_number"])
    assert all(len(n) == 18 for n in numbers)
    return numbers


def test_a_hotline_officer_sees_no_full_id_number_on_any_page(app: TestClient) -> None:
    numbers = full_id_numbers(app)
    log_in_page(app, HOTLINE)
    file_call(app)
    for path in (
        "/",
        "/complaints",
        "/complaints?show=all",
        "/complaints/new",
        "/complaints/C-0001",
        "/households/XC-0001/print/agreement",
        "/households/XC-0001/print/payment-notice",
        "/households/XC-0001/print/receipt",
    ):
        answer = app.get(path)
        assert answer.status_code == 200, path
        assert not any(n in answer.text for n in numbers), path


# --- the English switch ---------------------------------------------------------------------

ENGLISH = {
    SUPERVISOR: ("/dispute?household=XC-0002", "/consistency", "/deviations",
                 "/agreements/void", "/complaints?show=all", "/complaints/C-0001",
                 "/households/XC-0001/print/agreement",
                 "/households/XC-0001/print/payment-notice",
                 "/households/XC-0001/print/receipt"),
    HOTLINE: ("/complaints/new", "/complaints", "/complaints/C-0001"),
    CLERK_G01: ("/clerk", "/households/XC-0001/file", "/households/XC-0002/survey",
                "/households/XC-0002/agreement", "/households/XC-0002/vacated",
                "/households/XC-0002/payout"),
}  # fmt: skip


@pytest.mark.parametrize("staff", sorted(ENGLISH))
def test_every_role_page_reads_in_english(app: TestClient, staff: str) -> None:
    log_in_page(app, staff)
    app.get("/?lang=en")
    for path in ENGLISH[staff]:
        answer = app.get(path)
        assert answer.status_code == 200, path
        assert '<html lang="en">' in answer.text, path


def test_the_caller_is_kept_for_the_hotline_and_supervisors_only(app: TestClient) -> None:
    answer = file_call(app, caller_name="龚波", caller_phone="13812345678")
    code = re.search(r"已登记投诉 (C-[0-9A-Z-]+)", text(answer)).group(1)  # type: ignore[union-attr]
    for staff in (HOTLINE, SUPERVISOR):
        log_in_page(app, staff)
        assert 'id="caller">龚波 13812345678<' in text(app.get(f"/complaints/{code}"))
    for staff in (CLERK_G02, FINANCE):
        log_in_page(app, staff)
        assert app.get(f"/complaints/{code}").status_code == 403
        page = app.get("/households/XC-0004").text
        assert "13812345678" not in page and "龚波" not in page
    history = app.app.state.office.reads.household_history("XC-0004", None)  # type: ignore[attr-defined]
    assert "13812345678" not in str(history)  # kept beside the events, not in them


def test_the_hotline_assigns_a_supervisor_who_adds_notes(app: TestClient) -> None:
    answer = file_call(app)
    code = re.search(r"已登记投诉 (C-[0-9A-Z-]+)", text(answer)).group(1)  # type: ignore[union-attr]
    before = stored(app)
    to_clerk = post(app, f"/complaints/{code}", {"act": "assign", "to": CLERK_G01})
    assert to_clerk.status_code == 409
    assert "s-001 is clerk staff; a complaint is assigned to a supervisor." in text(to_clerk)
    assert stored(app) == before
    assigned = post(app, f"/complaints/{code}", {"act": "assign", "to": SUPERVISOR})
    assert assigned.status_code == 200
    assert f"已将投诉 {code} 交办给 {SUPERVISOR}" in text(assigned)
    assert f'id="assignee">{SUPERVISOR}<' in text(assigned)
    assert code in text(app.get("/complaints")) and SUPERVISOR in text(app.get("/complaints"))
    log_in_page(app, SUPERVISOR)
    page = text(app.get(f"/complaints/{code}"))
    assert 'id="act-note"' in page and 'id="act-add"' not in page
    noted = post(app, f"/complaints/{code}", {"act": "note", "text": "已约户主周三复测"})
    assert noted.status_code == 200
    assert f"已为投诉 {code} 添加调查备注" in text(noted)
    assert "已约户主周三复测" in text(noted)
    refused = post(app, f"/complaints/{code}", {"act": "add", "text": "hotline only"})
    assert refused.status_code == 403
    assert stored(app) == before + 2


@pytest.mark.parametrize(
    ("staff", "path", "data"),
    [
        (HOTLINE, "/complaints/new", {"household": "XC-0004", "channel": "hotline",
                                      "summary": "x"}),
        (SUPERVISOR, "/agreements/void", {"household": "XC-0002", "agreement": "A-0002",
                                          "reason": "x"}),
        (CLERK_G01, "/households/XC-0002/vacated", {}),
    ],
)  # fmt: skip
def test_a_role_form_posted_from_another_site_or_without_its_token_appends_nothing(
    app: TestClient, staff: str, path: str, data: dict[str, str]
) -> None:
    log_in_page(app, staff)
    before = stored(app)
    forged = post(app, path, data, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    tokenless = app.post(path, data=data)
    assert tokenless.status_code == 403
    assert "表单的安全令牌缺失或已过期" in text(tokenless)
    assert stored(app) == before
