"""Each role's home page: links to every page of the role (web/nav.py), and the
public pages."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from web.nav import Link
from web.pages import Visit, page


@page()
def home(visit: Visit) -> Response:
    """The logged-in staff member's pages, by role."""
    return visit.render("home.html")


ROUTES = [Route("/", home, methods=["GET"])]
LINKS: list[Link] = []
