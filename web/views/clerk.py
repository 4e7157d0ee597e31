"""A group clerk's pages, for the households of the clerk's own group only: the
group's households, and for each the survey, agreement and vacating forms, the file
(documents uploaded as files, kept by their SHA-256 in the ledger's database, and the
checklist against the policy's required documents), and a payout request. Another
group's household is refused (403) before any form is shown or anything appended."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DomainError, InvalidInput, NotFound
from domain.household import METHODS
from ledger.documents import MAX_BYTES, Documents
from web import access, render
from web.acts import check_own_group, declared, new_command_id, run
from web.errors import HTTPRefusal, sentence, status_of
from web.nav import Link
from web.pages import Visit, page

CLERK = ("clerk",)
# A household's stages, by which the group's list narrows (as `household search --status`).
STATUSES = ("registered", "surveyed", "valued", "signed", "paid")
# A search lists at most this many (specs/web.md); a larger group narrows by stage.
LISTED = 100
# Who may download a household's scanned documents: those who see its private fields
# (the scans show the full ID numbers and addresses), and no one else. Not finance:
# it sees them masked, and needs no scan to pay, because a confirmation passes only
# when the ledger finds the file complete (docs/security.md).
FILE_READERS = ("admin", "supervisor", "clerk")


def _hh(visit: Visit) -> str:
    value: str = visit.request.path_params["hh"]
    return value


def _policies(visit: Visit) -> list[dict[str, Any]]:
    return visit.office.reads.published_policies()


def _household_policy(visit: Visit, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The published policy version that priced the household (its latest valuation),
    else the latest published."""
    policies = _policies(visit)
    valued = [e["data"] for e in events if e["type"] == "Household.Valued"]
    if valued:
        wanted = (valued[-1]["policy"], valued[-1]["policy_version"])
        for document in policies:
            if (document["policy"], document["version"]) == wanted:
                return document
    return policies[-1] if policies else None


def _structures(visit: Visit) -> list[str]:
    """The building structures the latest policy prices (its building:* rates)."""
    policies = _policies(visit)
    rates = policies[-1]["rates"] if policies else {}
    return [key.partition(":")[2] for key in rates if key.startswith("building:")]


# --- the group's households ------------------------------------------------------------


@page(roles=CLERK)
def group_households(visit: Visit) -> Response:
    """The clerk's group and its households; any household opened by its code."""
    assert visit.session is not None
    reads = visit.office.reads
    group = reads.staff_group(visit.session.staff)
    wanted = visit.query("household")
    if wanted:
        check_own_group(visit, wanted)
        return visit.redirect(f"/households/{wanted.strip().upper()}/file")
    status = visit.query("status") or None
    rows = []
    if group is not None:
        found = reads.search_households("", group=group, status=status)["households"]
        rows = [reads.household(h["household"], reads.now()) for h in found]
    return visit.render(
        "clerk/households.html",
        group=group,
        rows=rows,
        chosen=status or "",
        statuses=STATUSES,
        most=LISTED,
    )


# --- the survey --------------------------------------------------------------------------


def _survey_form(visit: Visit, code: str, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"message": None, "done": None, "values": {}}
    return visit.render(
        "clerk/survey.html",
        status=status,
        household=code,
        structures=_structures(visit),
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=CLERK)
def survey_page(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    return _survey_form(visit, code)


@page(roles=CLERK)
def survey(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    areas = {
        structure: visit.field(f"area_{structure}")
        for structure in _structures(visit)
        if visit.field(f"area_{structure}")
    }
    try:
        if not areas:
            raise InvalidInput("give the building area of at least one structure.")
        done = run(
            visit,
            "record_survey",
            household=code,
            residents=_whole(visit.field("residents"), "residents"),
            building_area_m2=areas,
            land_area_m2=visit.field("land_area_m2"),
            notes=visit.field("notes"),
            reason=visit.field("reason"),
        )
    except DomainError as refused:
        return _survey_form(
            visit, code, status_of(refused), message=sentence(refused), values=visit.form
        )
    return _survey_form(visit, code, done=done.said)


def _whole(text: str, name: str) -> int:
    if not text.isdigit():
        raise InvalidInput(f"{name} must be a whole number, such as 4.")
    return int(text)


# --- the agreement -----------------------------------------------------------------------


def _agreement_form(visit: Visit, code: str, status: int = 200, **context: Any) -> Response:
    reads = visit.office.reads
    defaults: dict[str, Any] = {"message": None, "done": None, "values": {}}
    return visit.render(
        "clerk/agreement.html",
        status=status,
        household=code,
        h=reads.household(code, reads.now()),
        methods=METHODS,
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=CLERK)
def agreement_page(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    return _agreement_form(visit, code)


@page(roles=CLERK)
def agreement(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    reason, approver = visit.field("deviation_reason"), visit.field("approved_by")
    deviation = {"reason": reason, "approved_by": approver} if reason or approver else None
    try:
        done = run(
            visit,
            "sign_agreement",
            household=code,
            agreement=visit.field("agreement"),
            method=visit.field("method"),
            amount=visit.field("amount"),
            deviation=deviation,
        )
    except DomainError as refused:
        return _agreement_form(
            visit, code, status_of(refused), message=sentence(refused), values=visit.form
        )
    return _agreement_form(visit, code, done=done.said)


# --- the file: documents and their checklist ----------------------------------------------


def _checklist(visit: Visit, code: str) -> dict[str, Any]:
    reads = visit.office.reads
    events = reads.household_history(code, None)["events"]
    policy = _household_policy(visit, events)
    attached: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["type"] == "Household.DocumentAttached":
            data = event["data"]
            attached.setdefault(data["kind"], []).append(
                {**data, "at": event["occurred_at"], "actor": event["actor"]}
            )
    kept = reads.documents_kept([d["sha256"] for docs in attached.values() for d in docs], code)
    required = list(policy["required_documents"]) if policy else []
    kinds = required + sorted(set(attached) - set(required))
    rows = [
        {
            "kind": kind,
            "required": kind in required,
            "documents": [{**d, "kept": d["sha256"] in kept} for d in attached.get(kind, [])],
        }
        for kind in kinds
    ]
    return {
        "policy": policy,
        "rows": rows,
        "kinds": required,
        "h": reads.household(code, reads.now()),
    }


def _file_page(visit: Visit, code: str, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"message": None, "done": None}
    return visit.render(
        "clerk/file.html",
        status=status,
        household=code,
        max_mb=MAX_BYTES // (1024 * 1024),
        command_id=new_command_id(),
        **_checklist(visit, code),
        **{**defaults, **context},
    )


@page(roles=CLERK)
def file_page(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    return _file_page(visit, code)


@page(roles=CLERK, max_body=MAX_BYTES + 64 * 1024)
def upload(visit: Visit) -> Response:
    """Keep the uploaded file by its SHA-256 (the server computes it: what the event
    names is what was received), then attach it to the household's file."""
    code, _ = check_own_group(visit, _hh(visit))
    try:
        scanned = visit.form.get("file")
        if not isinstance(scanned, UploadFile) or not scanned.filename:
            raise InvalidInput("choose the scanned file to upload.")
        content = scanned.file.read(MAX_BYTES + 1)
        name = scanned.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
        digest = Documents(visit.office.ledger).keep(content, code)
        sized = {"size": len(content)} if declared("attach_document", "size") else {}
        done = run(
            visit,
            "attach_document",
            household=code,
            kind=visit.field("kind"),
            sha256=digest,
            filename=name,
            **sized,
        )
    except DomainError as refused:
        return _file_page(visit, code, status_of(refused), message=sentence(refused))
    kept = f"；SHA-256 {digest}。" if visit.lang == "zh" else f"; SHA-256 {digest}."
    return _file_page(visit, code, done=done.said + kept)


@page(roles=FILE_READERS)
def download(visit: Visit) -> Response:
    """A kept document, as an attachment of an opaque type: a browser saves it, and
    never renders or runs it on this site's pages."""
    reads = visit.office.reads
    code = _hh(visit)
    digest = visit.request.path_params["sha256"]
    household = reads.household(code, reads.now())
    see = access.sees_household(reads, visit.session, household["group"])
    if not see:
        raise HTTPRefusal(
            403,
            f"{visit.session.staff if visit.session else 'you'} may not read the scanned "
            f"documents of {household['household']}, a household of group {household['group']}.",
        )
    events = reads.household_history(household["household"], None)["events"]
    names = [
        e["data"]["filename"]
        for e in events
        if e["type"] == "Household.DocumentAttached" and e["data"]["sha256"] == digest
    ]
    content = reads.document(digest, household["household"]) if names else None
    if content is None:
        raise NotFound(
            f"{household['household']}'s file holds no document kept here with SHA-256 "
            f"{digest}; open the file's checklist for the documents it has."
        )
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in names[-1])
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{safe}"',
            "cache-control": "private, no-store",
        },
    )


# --- vacating and payouts ------------------------------------------------------------------


def _simple_form(
    visit: Visit, template: str, code: str, status: int = 200, **context: Any
) -> Response:
    reads = visit.office.reads
    defaults: dict[str, Any] = {"message": None, "done": None, "values": {}}
    return visit.render(
        template,
        status=status,
        household=code,
        h=reads.household(code, reads.now()),
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=CLERK)
def vacated_page(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    return _simple_form(visit, "clerk/vacated.html", code)


@page(roles=CLERK)
def vacated(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    try:
        done = run(visit, "record_vacated", household=code)
    except DomainError as refused:
        return _simple_form(
            visit, "clerk/vacated.html", code, status_of(refused), message=sentence(refused)
        )
    return _simple_form(visit, "clerk/vacated.html", code, done=done.said)


def _next_payout(visit: Visit, code: str) -> str:
    events = visit.office.reads.household_history(code, None)["events"]
    count = sum(1 for e in events if e["type"] == "Household.PayoutRequested")
    return f"P-{code}-{count + 1}"


@page(roles=CLERK)
def payout_page(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    return _simple_form(
        visit, "clerk/payout.html", code, values={"payout": _next_payout(visit, code)}
    )


@page(roles=CLERK)
def payout(visit: Visit) -> Response:
    code, _ = check_own_group(visit, _hh(visit))
    try:
        done = run(
            visit,
            "request_payout",
            payout=visit.field("payout"),
            household=code,
            amount=visit.field("amount"),
        )
    except DomainError as refused:
        return _simple_form(
            visit,
            "clerk/payout.html",
            code,
            status_of(refused),
            message=sentence(refused),
            values=visit.form,
        )
    return _simple_form(
        visit,
        "clerk/payout.html",
        code,
        done=done.said,
        values={"payout": _next_payout(visit, code)},
    )


_upload = upload
# A request body may hold one file of MAX_BYTES and the form's few small fields.
MAX_UPLOAD_BODY = MAX_BYTES + 64 * 1024
TOO_LARGE = (
    f"the upload is larger than the {MAX_BYTES // (1024 * 1024)} MB a scanned document may "
    "be, and was refused before it was read: nothing was kept or attached; scan it at a "
    "lower resolution, or split it."
)
NO_LENGTH = (
    "the upload did not say its size (Content-Length) and was refused before it was read; "
    "send it from the file page's form."
)


async def upload_endpoint(request: Request) -> Response:
    """The upload, refused by its declared size before its body is read (the server
    holds a request to the size it declares), so that no upload larger than a document
    ever reaches the disk."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        return render.error(request, 411, NO_LENGTH)
    if int(length) > MAX_UPLOAD_BODY:
        return render.error(request, 413, TOO_LARGE)
    # The frame reads the form (refusing one cut short or malformed), and closes its
    # spooled file whatever the page answered.
    return await _upload(request)


ROUTES = [
    Route("/clerk", group_households, methods=["GET"]),
    Route("/households/{hh}/file", file_page, methods=["GET"]),
    Route("/households/{hh}/file", upload_endpoint, methods=["POST"]),
    Route("/households/{hh}/documents/{sha256}", download, methods=["GET"]),
    Route("/households/{hh}/survey", survey_page, methods=["GET"]),
    Route("/households/{hh}/survey", survey, methods=["POST"]),
    Route("/households/{hh}/agreement", agreement_page, methods=["GET"]),
    Route("/households/{hh}/agreement", agreement, methods=["POST"]),
    Route("/households/{hh}/vacated", vacated_page, methods=["GET"]),
    Route("/households/{hh}/vacated", vacated, methods=["POST"]),
    Route("/households/{hh}/payout", payout_page, methods=["GET"]),
    Route("/households/{hh}/payout", payout, methods=["POST"]),
]
LINKS = [Link("/clerk", "my_group", CLERK)]
