"""The application factory: `create_app(db_url, settings)` opens the ledger and wires
the pages (web/views/), the API (web/api.py), the static files and the guards. The
tests drive it with Starlette's TestClient; `oneruler serve` runs it on uvicorn."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from ledger.application import utc_now
from ledger.store import open_ledger
from web import api, render
from web.errors import UNEXPECTED, bilingual
from web.nav import Link
from web.office import Office, Settings
from web.security import CROSS_SITE, Guard
from web.views import MODULES

log = logging.getLogger("uvicorn.error")

STATIC = Path(__file__).parent / "static"
DB_ENV = "ONERULER_DB"

NOT_FOUND = bilingual(
    "there is no such page or endpoint; check the address, or start from the home page.",
    "没有这个页面；请检查网址，或从首页进入。",
)
NOT_ALLOWED_API = "this endpoint does not take that method; the Allow header names those it takes."
NOT_ALLOWED = bilingual(
    "this page does not take that kind of request; open it from the site's own links.",
    "此页面不接受这种请求；请通过本站的链接打开。",
)


def create_app(db_url: str | None, settings: Settings | None = None) -> Starlette:
    """The web application of the ledger at db_url, which must exist."""
    settings = settings or Settings()
    ledger = open_ledger(db_url, must_exist=True, clock=settings.clock or utc_now)
    office = Office(ledger)

    routes: list[BaseRoute] = [*api.ROUTES]
    links: list[Link] = []
    for module in MODULES:
        routes.extend(module.ROUTES)
        links.extend(module.LINKS)
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        office.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, refusal=_cross_site)],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.office = office
    app.state.settings = settings
    app.state.links = links
    return app


def from_environment() -> Starlette:
    """The factory uvicorn's worker processes call (`oneruler serve --workers N`)."""
    from web.serving import settle

    secure = os.environ.get("ONERULER_SECURE_COOKIES") == "1"
    app = create_app(os.environ.get(DB_ENV), Settings(secure_cookies=secure))
    settle()
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return render.error(request, 404, NOT_FOUND)
    if exc.status_code == 405:
        said = NOT_ALLOWED_API if render.wants_json(request) else NOT_ALLOWED
        response = render.error(request, 405, said)
        response.headers.update(exc.headers or {})  # Allow: the methods it takes
        return response
    return render.error(request, exc.status_code, UNEXPECTED)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The details go to the server's log for whoever runs it, never to the visitor.
    log.error("unexpected failure of %s %s", request.method, request.url.path, exc_info=exc)
    return render.error(request, 500, UNEXPECTED)


async def _cross_site(scope: Scope, receive: Receive, send: Send) -> None:
    response = render.error(Request(scope, receive), 403, CROSS_SITE)
    await response(scope, receive, send)
