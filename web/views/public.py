"""The public pages, no login: the daily bulletin with its chart and the signed
checkpoint (drawn as `oneruler report bulletin` draws them, cli/bulletin.py), the masked
disclosure list, and the published policy versions."""

from __future__ import annotations

from datetime import date

import click
from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import NotFound
from domain.values import LEDGER_TZ, parse_date
from web import access
from web.nav import Link
from web.pages import Visit, page

# The chart is an image of its own (its SVG is full of style attributes, which the
# pages' policy refuses inline); as an image it runs nothing.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _bulletin_day(visit: Visit) -> date:
    asked = visit.query("date")
    if asked:
        return parse_date(asked, "date")
    # The latest day on record: today while the programme runs, its last day after.
    reads = visit.office.reads
    today = reads.now().astimezone(LEDGER_TZ).date()
    latest = reads.last_business_day()
    return min(today, latest.astimezone(LEDGER_TZ).date()) if latest else today


def _bulletin(visit: Visit, history: bool):  # type: ignore[no-untyped-def]
    from cli import bulletin  # matplotlib is loaded only when a bulletin is drawn

    try:
        return bulletin.read(visit.office.reads, _bulletin_day(visit), history=history)
    except click.ClickException as refused:  # the command line's own refusals
        raise NotFound(refused.message) from None


@page(public=True)
def bulletin_page(visit: Visit) -> Response:
    from cli import bulletin

    contents = _bulletin(visit, history=False)  # the chart is an image of its own
    return visit.render(
        "bulletin.html",
        day=contents.day.isoformat(),
        programme_day=contents.programme_day,
        as_of=contents.document["as_of"],
        groups=Markup(bulletin.groups_table(contents, visit.lang)),
        ranking=Markup(bulletin.ranking_table(contents, visit.lang)),
        checkpoint=visit.office.reads.latest_checkpoint(),
    )


@page(public=True)
def bulletin_chart(visit: Visit) -> Response:
    from cli import bulletin

    contents = _bulletin(visit, history=True)
    groups = [r["group"] for r in contents.document["groups"]]
    rates: dict[str, list[float]] = {g: [float("nan")] * len(contents.history) for g in groups}
    for i, document in enumerate(contents.history):
        for row in document["groups"]:
            if row["group"] in rates:
                rates[row["group"]][i] = row["signing_rate"]
    svg = bulletin.signing_chart(contents.days, rates, contents.names, visit.lang)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"content-security-policy": CHART_POLICY, "cache-control": "no-cache"},
    )


@page(public=True)
def disclosure_page(visit: Visit) -> Response:
    reads = visit.office.reads
    group = visit.query("group") or None
    document = reads.disclosure(group, access.as_of(visit.query("as_of"), reads))
    return visit.render(
        "disclosure.html",
        document=document,
        groups=sorted(reads.group_names().items()),
        group=group or "",
    )


@page(public=True)
def policies_page(visit: Visit) -> Response:
    documents = visit.office.reads.published_policies()
    if not documents:
        raise NotFound("no policy has been published yet.")
    return visit.render("policies.html", policies=documents)


ROUTES = [
    Route("/public/bulletin", bulletin_page, methods=["GET"]),
    Route("/public/bulletin/chart.svg", bulletin_chart, methods=["GET"]),
    Route("/public/disclosure", disclosure_page, methods=["GET"]),
    Route("/public/policies", policies_page, methods=["GET"]),
]
LINKS: list[Link] = []
