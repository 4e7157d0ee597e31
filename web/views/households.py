"""Every staff member's pages of households: the search (by code, head's name or ID
number) and a household's page (state, missing documents, payouts, complaints, the
whole timeline with who did and who entered each act, business and recorded time),
replayed as of any moment. Private fields are masked for whoever may not see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from domain.ruler import mask_id_number
from domain.values import LEDGER_TZ
from ledger.event_names import details
from web import access, i18n
from web.masking import ID_NUMBER, SEE_ALL, masked
from web.nav import STAFF, Link
from web.pages import Visit, page


@page()
def search(visit: Visit) -> Response:
    reads = visit.office.reads
    q = visit.query("q")
    found: list[dict[str, Any]] | None = None
    if q:
        found = reads.search_households(q)["households"]
        if len(found) == 1 and found[0]["household"] == q.upper():
            return visit.redirect(f"/households/{found[0]['household']}")
    return visit.render("search.html", q=_echoed(visit, q), found=found)


def _echoed(visit: Visit, q: str) -> str:
    """The query shown back in the search box: an ID number masked for who may not see
    full ones, so that it is not left on their screen (or in a screenshot)."""
    if visit.session is not None and visit.session.role in SEE_ALL:
        return q
    if ID_NUMBER.fullmatch(q):
        return mask_id_number(q) or ""
    return q


def _payouts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each payout of the household, from its timeline: requested, then confirmed."""
    payouts: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "Household.PayoutRequested":
            payouts[data["payout"]] = {
                "payout": data["payout"],
                "amount": data["amount"],
                "requested_at": event["occurred_at"],
                "requested_by": event["actor"],
                "confirmed_at": None,
                "bank_reference": None,
                "why": None,
            }
        elif event["type"] == "Household.PayoutConfirmed" and data["payout"] in payouts:
            payouts[data["payout"]]["confirmed_at"] = event["occurred_at"]
            payouts[data["payout"]]["bank_reference"] = data["bank_reference"]
    return list(payouts.values())


def _by(moment: str | None, when: datetime) -> bool:
    """Whether a moment of the register had come by `when` (None: not at all)."""
    return moment is not None and datetime.fromisoformat(moment) <= when


def _shown_time(value: str) -> str:
    return (
        datetime.fromisoformat(value).astimezone(LEDGER_TZ).isoformat(sep=" ", timespec="seconds")
    )


@page()
def household(visit: Visit) -> Response:
    reads = visit.office.reads
    code = visit.request.path_params["hh"]
    asked = visit.query("as_of")
    when = access.as_of(asked, reads)
    shown = reads.household(code, when)
    code = shown["household"]
    see = access.sees_household(reads, visit.session, access.group_of(reads, code))
    history = masked(reads.household_history(code, when), see)
    events = history["events"]
    registered: dict[str, Any]
    registered = next((e["data"] for e in events if e["type"] == "Household.Registered"), {})
    complaints = [
        {**c, "resolved_then": _by(c["resolved_at"], when)}
        for c in masked(reads.complaints(when, household=code), see)
        if _by(c["filed_at"], when)
    ]
    timeline = [
        {
            **e,
            "label": i18n.event_label(e["type"], visit.lang),
            "occurred": _shown_time(e["occurred_at"]),
            "recorded": _shown_time(e["recorded_at"]),
            "details": details(e["data"], visit.lang),
        }
        for e in events
    ]
    payouts = _payouts(events)
    if not asked:
        # Now (not a replay): why each payout not yet paid cannot be, if it cannot.
        why = {p["payout"]: p["why"] for p in reads.payouts(household=code)["payouts"]}
        for p in payouts:
            p["why"] = why.get(p["payout"]) if p["confirmed_at"] is None else None
    return visit.render(
        "household.html",
        h=shown,
        registered=registered,
        payouts=payouts,
        complaints=complaints,
        timeline=timeline,
        as_of=asked,
        as_of_shown=when.isoformat(sep=" ", timespec="seconds"),
    )


ROUTES = [
    Route("/households", search, methods=["GET"]),
    Route("/households/{hh}", household, methods=["GET"]),
]
LINKS = [Link("/households", "households", STAFF)]
