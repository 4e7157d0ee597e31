"""A real browser: Debian's Chromium (/usr/bin/chromium) driven by Playwright for
Python against the application served by uvicorn on a free port, as a person uses it:
logging in, finding a household by its head's name, finance confirming a ready payout
and never offered one that a confirmation would refuse; and a screenshot of each role's
home page, kept in tests/artifacts/screenshots/ (CI keeps the folder as an artefact)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.identity import Identity
from ledger.store import open_ledger
from tests.credentials import ADMIN, PASSWORD
from tests.web.conftest import SCREENSHOTS, load_sample, needs_chromium, served
from tests.web.payouts import add_payouts

STAFF = {"admin": "admin", "s-001": "clerk", "s-020": "supervisor", "s-030": "hotline",
         "s-040": "finance"}  # fmt: skip

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The application on the sample programme and its payouts, served by uvicorn in a
    thread on a free port; every staff member of STAFF has PASSWORD."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'ledger.db'}"
    load_sample(url)
    add_payouts(url)
    ledger = open_ledger(url)
    try:
        identity = Identity(ledger)
        for staff in STAFF:
            identity.set_password(staff, PASSWORD, None if staff == "admin" else ADMIN)
    finally:
        ledger.close()
    with served(url) as address:
        yield address


def log_in(page: object, server: str, staff: str) -> None:
    page.goto(f"{server}/")  # type: ignore[attr-defined]
    page.fill("input[name=staff]", staff)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("form.narrow button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/")  # type: ignore[attr-defined]


def test_each_role_logs_in_to_its_home_page(page: object, server: str) -> None:
    for old in SCREENSHOTS.glob("home-*.png"):
        old.unlink()
    for staff, role in STAFF.items():
        log_in(page, server, staff)
        assert staff in page.inner_text("header")  # type: ignore[attr-defined]
        page.screenshot(path=str(SCREENSHOTS / f"home-{role}.png"), full_page=True)  # type: ignore[attr-defined]
        page.click("header button:has-text('退出')")  # type: ignore[attr-defined]
        page.wait_for_url(f"{server}/login")  # type: ignore[attr-defined]
    assert sorted(p.name for p in SCREENSHOTS.glob("home-*")) == sorted(
        f"home-{role}.png" for role in STAFF.values()
    )


def test_a_wrong_password_is_said_on_the_login_page(page: object, server: str) -> None:
    page.goto(f"{server}/login")  # type: ignore[attr-defined]
    page.fill("input[name=staff]", "s-020")  # type: ignore[attr-defined]
    page.fill("input[name=password]", "not my password")  # type: ignore[attr-defined]
    page.click("form.narrow button[type=submit]")  # type: ignore[attr-defined]
    assert page.inner_text(".refusal") == "工号或密码不正确；请检查后重试，或请管理员重设密码。"  # type: ignore[attr-defined]


def test_a_household_is_found_by_its_heads_name(page: object, server: str) -> None:
    log_in(page, server, "s-030")
    page.click("a[href='/households']")  # type: ignore[attr-defined]
    page.fill("input[name=q]", "王五")  # type: ignore[attr-defined]
    page.press("input[name=q]", "Enter")  # type: ignore[attr-defined]
    page.click("#found a:has-text('XC-0003')")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/households/XC-0003")  # type: ignore[attr-defined]
    assert page.inner_text("h1") == "XC-0003 · 王五"  # type: ignore[attr-defined]
    # A hotline officer never sees the full ID number.
    assert "211481197001011003" not in page.content()  # type: ignore[attr-defined]
    assert page.inner_text("#id-number").endswith("1003")  # type: ignore[attr-defined]


def test_finance_confirms_a_ready_payout_and_is_not_offered_a_blocked_one(
    page: object, server: str
) -> None:
    log_in(page, server, "s-040")
    page.click("a[href='/finance/ready']")  # type: ignore[attr-defined]
    ready = page.inner_text("#ready")  # type: ignore[attr-defined]
    assert "P-0002" in ready
    assert "P-0003" not in ready  # its household has an open complaint
    page.check("#pick-P-0002")  # type: ignore[attr-defined]
    page.fill("input[name='ref-P-0002']", "ICBC-20180320-0002")  # type: ignore[attr-defined]
    page.click("#worklist button:has-text('确认支付')")  # type: ignore[attr-defined]
    assert "已确认支付单 P-0002：向 XC-0002 支付 370000.00 元" in page.inner_text(".result")  # type: ignore[attr-defined]
    assert page.locator("#nothing-ready").count() == 1  # type: ignore[attr-defined]
    page.click("a[href='/finance/blocked']")  # type: ignore[attr-defined]
    blocked = page.inner_text("#blocked")  # type: ignore[attr-defined]
    assert "P-0003" in blocked and "open complaint (C-0002)" in blocked
    page.goto(f"{server}/finance/paid")  # type: ignore[attr-defined]
    assert "ICBC-20180320-0002" in page.inner_text("#paid")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_pages_fit_an_office_screen_and_a_phone(
    browser: object, server: str, width: int, height: int
) -> None:
    """No page is wider than the screen: wide tables scroll inside their own box."""
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        log_in(page, server, "s-020")
        for path in ("/", "/households/XC-0001", "/public/bulletin", "/public/disclosure",
                     "/households?q=XC"):  # fmt: skip
            page.goto(f"{server}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
        page.goto(f"{server}/households/XC-0001")
        page.screenshot(path=str(SCREENSHOTS / f"household-{width}x{height}.png"), full_page=True)
    finally:
        context.close()
