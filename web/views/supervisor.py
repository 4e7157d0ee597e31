"""A supervisor's pages: the dispute page (how a household was priced, line by line,
beside its peers, the verdict, and what another policy version would have given), the
consistency report, the deviations (approve one before the agreement names you), and
voiding an agreement. Complaints are web/views/complaints.py's."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DomainError, InvalidInput
from web import access
from web.acts import declared, new_command_id, run
from web.errors import HTTPRefusal, sentence, status_of
from web.nav import Link
from web.pages import Visit, page

SUPERVISOR = ("supervisor", "admin")
DECIDES = ("supervisor",)


@page(roles=SUPERVISOR)
def dispute(visit: Visit) -> Response:
    """The dispute of a household asked for by code, as of a moment, with a what-if
    under another version of its policy."""
    reads = visit.office.reads
    code = visit.query("household")
    other = visit.query("other_version")
    asked_at = visit.query("as_of")
    document: dict[str, Any] | None = None
    message = None
    if code:
        try:
            if other and not other.isdigit():
                raise InvalidInput("the other policy version must be a whole number, such as 2.")
            document = reads.dispute(
                code, access.as_of(asked_at, reads), int(other) if other else None
            )
        except DomainError as refused:
            return visit.render(
                "supervisor/dispute.html",
                status=status_of(refused),
                d=None,
                code=code,
                other=other,
                as_of=asked_at,
                message=sentence(refused),
                versions=[],
            )
    versions = [
        p["version"]
        for p in reads.published_policies()
        if document is not None and p["policy"] == document["policy"]["policy"]
    ]
    return visit.render(
        "supervisor/dispute.html",
        d=document,
        code=code,
        other=other,
        as_of=asked_at,
        message=message,
        versions=versions,
    )


@page(roles=SUPERVISOR)
def consistency(visit: Visit) -> Response:
    reads = visit.office.reads
    asked_at = visit.query("as_of")
    report = reads.consistency(access.as_of(asked_at, reads))
    return visit.render("supervisor/consistency.html", r=report, as_of=asked_at)


def _deviations(visit: Visit, status: int = 200, **context: Any) -> Response:
    reads = visit.office.reads
    report = reads.consistency(reads.now())
    defaults: dict[str, Any] = {"message": None, "done": None, "values": {}}
    return visit.render(
        "supervisor/deviations.html",
        status=status,
        deviations=report["deviations"],
        refuses=declared("refuse_deviation"),
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=SUPERVISOR)
def deviations_page(visit: Visit) -> Response:
    return _deviations(visit)


@page(roles=DECIDES)
def decide_deviation(visit: Visit) -> Response:
    """Approve (or refuse) an amount other than the entitlement for a household; the
    clerk's agreement for that amount then names this supervisor's approval."""
    decision = visit.field("decision") or "approve"
    if decision not in ("approve", "refuse") or not declared(f"{decision}_deviation"):
        raise HTTPRefusal(400, "decide with the page's Approve or Refuse button.")
    try:
        done = run(
            visit,
            f"{decision}_deviation",
            household=visit.field("household"),
            amount=visit.field("amount"),
            reason=visit.field("reason"),
        )
    except DomainError as refused:
        return _deviations(visit, status_of(refused), message=sentence(refused), values=visit.form)
    return _deviations(visit, done=done.said)


def _void_form(visit: Visit, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"message": None, "done": None}
    values = {"household": visit.query("household"), "agreement": visit.query("agreement")}
    return visit.render(
        "supervisor/void.html",
        status=status,
        command_id=new_command_id(),
        **{**defaults, "values": values, **context},
    )


@page(roles=DECIDES)
def void_page(visit: Visit) -> Response:
    return _void_form(visit)


@page(roles=DECIDES)
def void(visit: Visit) -> Response:
    try:
        done = run(
            visit,
            "void_agreement",
            household=visit.field("household"),
            agreement=visit.field("agreement"),
            reason=visit.field("reason"),
        )
    except DomainError as refused:
        return _void_form(visit, status_of(refused), message=sentence(refused), values=visit.form)
    return _void_form(visit, done=done.said)


ROUTES = [
    Route("/dispute", dispute, methods=["GET"]),
    Route("/consistency", consistency, methods=["GET"]),
    Route("/deviations", deviations_page, methods=["GET"]),
    Route("/deviations", decide_deviation, methods=["POST"]),
    Route("/agreements/void", void_page, methods=["GET"]),
    Route("/agreements/void", void, methods=["POST"]),
]
LINKS = [
    Link("/dispute", "dispute", SUPERVISOR),
    Link("/consistency", "consistency", SUPERVISOR),
    Link("/deviations", "deviations", SUPERVISOR),
    Link("/agreements/void", "void_agreement", DECIDES),
]
