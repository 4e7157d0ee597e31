"""The JSON API under /api/v1 (specs/web.md): a Bearer token on every request but
logging in; reads through the read facade, writes through the ledger's command API as
the logged-in staff member, errors as {"error": "one sentence"} with the spec's
statuses."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
