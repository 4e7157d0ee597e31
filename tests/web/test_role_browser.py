"""The role pages in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
Playwright for Python against the application served by uvicorn on a free port. The
hotline takes a call about a household found by its head's name and a supervisor
resolves it; a clerk cannot open another group's household form; screenshots of the
supervisor's, the hotline's and the clerk's home and daily pages, and of a printed
agreement, in tests/artifacts/screenshots/ (kept by CI as an artefact)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.identity import Identity
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.credentials import ADMIN, PASSWORD
from tests.web.conftest import SCREENSHOTS, load_sample, needs_chromium, served

STAFF = ("s-001", "s-020", "s-030")

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The application on the sample programme, served by uvicorn in a thread on a
    free port; the clerk, the supervisor and the hotline officer have PASSWORD."""
    url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'ledger.db'}"
    load_sample(url)
    ledger = open_ledger(url)
    try:
        identity = Identity(ledger)
        for staff in STAFF:
            identity.set_password(staff, PASSWORD, ADMIN)
    finally:
        ledger.close()
    with served(url) as address:
        yield address


def log_in(page: Any, server: str, staff: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=staff]", staff)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(f"{server}/")


def log_out(page: Any, server: str) -> None:
    page.click("header button[type=submit]")
    page.wait_for_url(f"{server}/login")


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.skipif(
    not hasattr(Reads, "search_households"),
    reason="household search (Reads.search_households) comes with the worklists branch",
)
def test_the_hotline_takes_a_call_about_a_household_found_by_name_and_a_supervisor_resolves_it(
    page: Any, server: str
) -> None:
    log_in(page, server, "s-030")
    page.click("main a[href='/complaints/new']")
    page.fill("#find input[name=q]", "赵六")
    page.click("#find button")
    page.click("ul.found a:has-text('XC-0004')")
    assert page.input_value("#call input[name=household]") == "XC-0004"
    if page.locator("#call input[name=caller_name]").count():
        page.fill("#call input[name=caller_name]", "龚波")
        page.fill("#call input[name=caller_phone]", "13812345678")
    page.select_option("#call select[name=channel]", "hotline")
    page.fill("#call textarea[name=summary]", "户主称砖混结构面积测量偏小")
    page.click("#call button[type=submit]")
    code = page.inner_text("#filed-id")
    assert code.startswith("C-") and len(code) == 11
    assert page.inner_text("#acknowledge-by") and page.inner_text("#resolve-by")
    shoot(page, "roles-hotline-call-taken.png")
    log_out(page, server)

    log_in(page, server, "s-020")
    page.click("main a[href='/complaints']")
    page.click(f"#inbox a:has-text('{code}')")
    page.select_option("#act-resolve select[name=finding]", "substantiated")
    page.fill("#act-resolve textarea[name=outcome]", "复核后面积更正")
    page.click("#act-resolve button[type=submit]")
    assert page.inner_text("#done") == f"已办结投诉 {code}：属实"
    assert page.inner_text("#complaint-status").startswith("已办结")
    assert "s-020" in page.inner_text("#complaint-events")


def test_a_clerk_cannot_open_another_groups_household_form(page: Any, server: str) -> None:
    log_in(page, server, "s-001")
    page.click("main a[href='/clerk']")
    assert "XC-0002" in page.inner_text("#group-households")
    page.click("#group-households a[href='/households/XC-0002/survey']")
    assert page.locator("form[action='/households/XC-0002/survey']").count() == 1
    answer = page.goto(f"{server}/households/XC-0003/survey")
    assert answer.status == 403
    assert "XC-0003 belongs to group G02" in page.inner_text(".refusal")
    assert page.locator("form[action='/households/XC-0003/survey']").count() == 0


def test_screenshots_of_the_role_pages(page: Any, server: str) -> None:
    for staff, role, daily in (
        ("s-020", "supervisor", "/dispute?household=XC-0002"),
        ("s-030", "hotline", "/complaints?show=all"),
        ("s-001", "clerk", "/households/XC-0001/file"),
    ):
        log_in(page, server, staff)
        shoot(page, f"roles-home-{role}.png")
        page.goto(f"{server}{daily}")
        shoot(page, f"roles-{role}-daily.png")
        log_out(page, server)
    log_in(page, server, "s-020")
    page.goto(f"{server}/households/XC-0001/print/agreement")
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()  # print CSS hides the site's frame
    shoot(page, "roles-print-agreement.png")
    for name in ("roles-home-supervisor.png", "roles-home-hotline.png", "roles-home-clerk.png"):
        assert (SCREENSHOTS / name).stat().st_size > 0
