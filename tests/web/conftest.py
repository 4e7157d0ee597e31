"""The web application on a ledger holding the sample programme, in either store,
driven in-process by Starlette's TestClient; staff logged in by tokens the identity
service issues (as a login would, without Argon2's wait)."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from ledger.identity import Identity
from ledger.ingest import ingest
from ledger.store import open_ledger
from tests.conftest import SAMPLE
from tests.credentials import ADMIN
from web.app import create_app
from web.office import Settings
from web.serving import PROTOCOL
from web.sessions import SESSION_COOKIE

BASE = "http://testserver"


def load_sample(url: str) -> None:
    ledger = open_ledger(url)
    try:
        report = ingest(ledger, SAMPLE.read_text(encoding="utf-8").splitlines(), ADMIN)
        assert report.rejected == 0, report.rejections
    finally:
        ledger.close()


@pytest.fixture
def sample_url(store_url: str) -> str:
    """A store (SQLite or PostgreSQL) holding the sample programme."""
    load_sample(store_url)
    return store_url


@pytest.fixture
def app(sample_url: str) -> Iterator[TestClient]:
    """An anonymous browser (or program) talking to the application."""
    with TestClient(create_app(sample_url, Settings()), base_url=BASE) as client:
        yield client


def token_of(client: TestClient, staff: str, idle: bool = False) -> str:
    identity: Identity = client.app.state.office.identity  # type: ignore[attr-defined]
    token, _ = identity.issue_token(staff, idle=timedelta(minutes=30) if idle else None)
    return token


def log_in_page(client: TestClient, staff: str) -> str:
    """Log the client's browser in as staff (the session cookie a login sets)."""
    token = token_of(client, staff, idle=True)
    client.cookies.set(SESSION_COOKIE, token)
    return token


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@contextlib.contextmanager
def served(url: str) -> Iterator[str]:
    """The application on the ledger at url, served by uvicorn in a thread on a free
    port, for a real browser; its address."""
    config = uvicorn.Config(create_app(url, Settings()), host="127.0.0.1", port=0,
                            log_level="warning", lifespan="on", http=PROTOCOL)  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        if not thread.is_alive():
            pytest.fail("the server did not start")
        threading.Event().wait(0.05)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=30)


# --- the browser tests (Debian's Chromium driven by Playwright for Python) -----------
# A module takes `needs_chromium` as its pytestmark and defines a `server` fixture,
# which `page` asks for so that the server starts first; screenshots go to
# tests/artifacts/screenshots/, kept by CI as an artefact.

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"

# CI installs chromium (.ci/run): there, a missing browser fails these tests.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="no /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-proxy-server"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    opened = context.new_page()
    yield opened
    context.close()
