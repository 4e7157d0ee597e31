"""The frame of every page: logging in and out, each role's home page, the language
switch, the security headers, and the one-sentence error pages."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ledger.identity import Identity
from tests.credentials import ADMIN, PASSWORD
from tests.web.conftest import csrf_of, log_in_page
from web.security import CROSS_SITE
from web.sessions import SESSION_COOKIE

ROLES = {"admin": "admin", "s-001": "clerk", "s-020": "supervisor", "s-030": "hotline",
         "s-040": "finance"}  # fmt: skip


def set_password(client: TestClient, staff: str) -> None:
    identity: Identity = client.app.state.office.identity  # type: ignore[attr-defined]
    identity.set_password(staff, PASSWORD, None if staff == "admin" else ADMIN)


def test_a_page_needs_a_login_and_the_login_brings_you_back(app: TestClient) -> None:
    set_password(app, "s-040")
    first = app.get("/password", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fpassword"
    form = app.get(first.headers["location"])
    assert form.status_code == 200
    cookie = form.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    answer = app.post(
        "/login",
        data={
            "csrf": csrf_of(form.text),
            "staff": "s-040",
            "password": PASSWORD,
            "next": "/password",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/password"
    session_cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert app.get("/password").status_code == 200


def test_a_wrong_password_is_one_sentence_and_401(app: TestClient) -> None:
    set_password(app, "s-040")
    form = app.get("/login")
    answer = app.post(
        "/login", data={"csrf": csrf_of(form.text), "staff": "s-040", "password": "wrong-password!"}
    )
    assert answer.status_code == 401
    assert "工号或密码不正确；请检查后重试，或请管理员重设密码。" in answer.text
    assert SESSION_COOKIE not in app.cookies
    app.get("/login?lang=en")  # the same refusal, in English
    form = app.get("/login")
    answer = app.post(
        "/login", data={"csrf": csrf_of(form.text), "staff": "s-040", "password": "wrong-password!"}
    )
    assert answer.status_code == 401
    assert "wrong staff id or password; check both, or ask an administrator" in answer.text


def test_a_login_form_without_its_token_is_refused(app: TestClient) -> None:
    set_password(app, "s-040")
    answer = app.post("/login", data={"csrf": "forged", "staff": "s-040", "password": PASSWORD})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in app.cookies


@pytest.mark.parametrize("staff", sorted(ROLES))
def test_each_role_has_a_home_page_in_chinese_and_english(app: TestClient, staff: str) -> None:
    log_in_page(app, staff)
    home = app.get("/")
    assert home.status_code == 200
    assert "修改密码" in home.text and "/password" in home.text
    english = app.get("/?lang=en")
    assert "Change password" in english.text
    assert app.get("/").text.count("Change password") == 1  # remembered


def test_every_response_carries_a_policy_that_allows_no_inline_script(app: TestClient) -> None:
    for path in ("/login", "/nowhere"):
        policy = app.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_an_unknown_page_is_one_sentence(app: TestClient) -> None:
    answer = app.get("/nowhere")
    assert answer.status_code == 404
    assert "没有这个页面；请检查网址，或从首页进入。" in answer.text
    english = app.get("/nowhere?lang=en")
    assert english.status_code == 404
    assert "there is no such page or endpoint" in english.text
    assert "Traceback" not in answer.text


def test_a_form_posted_from_another_site_is_refused(app: TestClient) -> None:
    log_in_page(app, "s-040")
    csrf = csrf_of(app.get("/password").text)
    answer = app.post("/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "此表单来自其他网站，已被拒绝，未作任何更改" in answer.text
    app.get("/?lang=en")
    answer = app.post("/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert CROSS_SITE.split(",")[0] in answer.text.replace("&#39;", "'")
    assert app.get("/").status_code == 200  # still logged in: the logout did not happen
    answer = app.post("/logout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403


def test_logging_out_ends_the_token(app: TestClient) -> None:
    log_in_page(app, "s-040")
    csrf = csrf_of(app.get("/").text)
    assert app.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert app.get("/", follow_redirects=False).status_code == 303


def test_no_template_has_inline_script_or_style() -> None:
    """The Content-Security-Policy would refuse them; none is written."""
    from web.render import TEMPLATES

    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<script" not in text and "style=" not in text and "<style" not in text, template
        assert " on" + "click=" not in text, template


def test_an_unexpected_failure_is_one_sentence_and_500(sample_url: str) -> None:
    from web.app import create_app
    from web.office import Settings

    app = create_app(sample_url, Settings())

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret details of a bug")

    app.state.office.reads.household = broken
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        log_in_page(client, "s-020")
        page = client.get("/households/XC-0001")
        assert page.status_code == 500
        assert "服务器发生意外错误，本次请求未作任何更改" in page.text
        assert "secret details" not in page.text and "Traceback" not in page.text
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {log_in_page(client, 's-020')}"}
        client.cookies.clear()
        answer = client.get("/api/v1/households/XC-0001", headers=headers)
        assert answer.status_code == 500
        assert set(answer.json()) == {"error"}
        assert "secret details" not in answer.text


def test_a_suspended_staff_member_is_told_so_not_that_the_password_is_wrong(
    app: TestClient,
) -> None:
    """The right password of a suspended member: the page says the suspension (before
    this was caught as a wrong password, which a new password cannot mend)."""
    from tests.integration.test_identity import suspend

    set_password(app, "s-040")
    suspend(app.app.state.office.ledger, "s-040")  # type: ignore[attr-defined]
    form = app.get("/login")
    answer = app.post(
        "/login", data={"csrf": csrf_of(form.text), "staff": "s-040", "password": PASSWORD}
    )
    assert answer.status_code == 401
    assert "s-040 is suspended (since 2018-03-20T10:00:00+08:00: 调查期间停职)" in answer.text
    assert "工号或密码不正确" not in answer.text
    assert SESSION_COOKIE not in app.cookies


def test_too_many_failed_logins_on_the_page_is_429(app: TestClient) -> None:
    set_password(app, "s-040")
    for _ in range(5):
        form = app.get("/login")
        data = {"csrf": csrf_of(form.text), "staff": "s-040", "password": "not the password"}
        assert app.post("/login", data=data).status_code == 401
    form = app.get("/login")
    data = {"csrf": csrf_of(form.text), "staff": "s-040", "password": PASSWORD}
    locked = app.post("/login", data=data)
    assert locked.status_code == 429
    assert "too many failed logins for s-040" in locked.text


def test_a_form_larger_than_a_page_reads_is_refused_before_anyone_logs_in(
    app: TestClient,
) -> None:
    """Read before the login is known: a form's files could fill the server's disk, so
    its declared size is checked first (an upload's page allows a document's size)."""
    big = {"file": ("big.bin", b"x" * (300 * 1024), "application/octet-stream")}
    answer = app.post("/login", data={"staff": "s-001", "password": "x"}, files=big)
    assert answer.status_code == 413
    assert "larger than the 256 KiB a page reads" in answer.text
    assert "Traceback" not in answer.text
