"""The pages, one module per kind of page. Each module has ROUTES (Starlette routes)
and LINKS (web/nav.py: which roles' home pages list which of its pages); listing a
module here serves its routes and puts its links on the home pages, in this order."""

from __future__ import annotations

from web.views import (
    account,
    clerk,
    complaints,
    finance,
    home,
    households,
    printable,
    public,
    supervisor,
)

MODULES = (home, households, finance, supervisor, complaints, clerk, printable, account, public)
