"""A form posted from another site, or without its CSRF token, is refused and appends
nothing (the datasette model: CSRF tested directly)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ledger.identity import Identity
from tests.credentials import ADMIN, PASSWORD
from tests.web.conftest import csrf_of, log_in_page

NEW = "a brand new passphrase 42"


def stored(app: TestClient) -> int:
    return int(app.app.state.office.reads.events_stored())  # type: ignore[attr-defined]


@pytest.fixture
def officer(app: TestClient) -> TestClient:
    Identity(app.app.state.office.ledger).set_password("s-030", PASSWORD, ADMIN)  # type: ignore[attr-defined]
    log_in_page(app, "s-030")
    return app


def change(app: TestClient, csrf: str, **headers: str) -> int:
    form = {"csrf": csrf, "current": PASSWORD, "new": NEW, "again": NEW}
    return app.post("/password", data=form, headers=headers, follow_redirects=False).status_code


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
     {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}],
)  # fmt: skip
def test_a_form_from_another_site_is_refused_and_appends_nothing(
    officer: TestClient, headers: dict[str, str]
) -> None:
    csrf = csrf_of(officer.get("/password").text)
    before = stored(officer)
    assert change(officer, csrf, **headers) == 403
    assert stored(officer) == before


@pytest.mark.parametrize("csrf", ["", "0" * 64])
def test_a_form_without_its_token_is_refused_and_appends_nothing(
    officer: TestClient, csrf: str
) -> None:
    before = stored(officer)
    assert change(officer, csrf, Origin="http://testserver") == 403
    assert stored(officer) == before


def test_the_same_form_from_this_site_is_applied(officer: TestClient) -> None:
    csrf = csrf_of(officer.get("/password").text)
    before = stored(officer)
    assert (
        change(officer, csrf, Origin="http://testserver", **{"Sec-Fetch-Site": "same-origin"})
        == 303
    )
    assert stored(officer) == before + 1  # the password's Account event
    # The new password ends every session of the officer's, this one's too.
    assert officer.get("/", follow_redirects=False).status_code == 303
