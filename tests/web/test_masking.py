"""As a hotline officer, no full ID number or address appears in any page or API
response: every page a hotline officer can open and every API read, on every
household of the sample programme."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from tests.conftest import SAMPLE
from tests.web.conftest import log_in_page, token_of

REGISTERED = [
    json.loads(line)
    for line in SAMPLE.read_text(encoding="utf-8").splitlines()
    if '"register_household"' in line
]
SECRETS = [r["id_number"] for r in REGISTERED] + [r["address"] for r in REGISTERED]
HOUSEHOLDS = [r["household"] for r in REGISTERED]


def pages() -> list[str]:
    paths = ["/", "/households", "/households?q=XC", "/public/disclosure", "/password",
             "/public/bulletin?date=2018-03-15", "/public/policies"]  # fmt: skip
    paths += [f"/households?q={r['head']}" for r in REGISTERED]
    paths += [f"/households?q={r['id_number']}" for r in REGISTERED]
    for code in HOUSEHOLDS:
        paths += [f"/households/{code}", f"/households/{code}?as_of=2018-03-05"]
    return paths


def api_reads() -> list[str]:
    paths = ["/api/v1/reports/groups", "/api/v1/complaints", "/api/v1/households?q=XC"]
    paths += [f"/api/v1/households?q={r['id_number']}" for r in REGISTERED]
    for code in HOUSEHOLDS:
        paths += [f"/api/v1/households/{code}", f"/api/v1/households/{code}/history",
                  f"/api/v1/households/{code}/bundle"]  # fmt: skip
    return paths


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_no_full_id_number_or_address_in_any_page_of_a_hotline_officer(app: TestClient) -> None:
    log_in_page(app, "s-030")
    for path in pages():
        answer = app.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        assert leaked(answer.text) == [], path


def test_no_full_id_number_or_address_in_any_api_response_to_a_hotline_officer(
    app: TestClient,
) -> None:
    headers = {"Authorization": f"Bearer {token_of(app, 's-030')}"}
    for path in api_reads():
        answer = app.get(path, headers=headers)
        assert answer.status_code in (200, 403), (path, answer.status_code)
        assert leaked(answer.text) == [], path


def test_a_supervisor_sees_them_whole(app: TestClient) -> None:
    """The test above could not fail if the numbers were nowhere to be seen."""
    headers = {"Authorization": f"Bearer {token_of(app, 's-020')}"}
    text = app.get("/api/v1/households/XC-0001/history", headers=headers).text
    assert "211481197001081001" in text and "兴城镇一村1号" in text
    assert re.search(r"\*{14}1001", app.get("/public/disclosure").text)
