"""The oversight hotline's pages, and the supervisors' side of complaints: taking a
call in one form (the caller, what it is about, found by search, the channel, the
summary), answered with the id the ledger gives it and the deadlines to tell the
caller; the inbox of open, due-soon and overdue complaints; and a complaint's full
record with what each role may do to it (acknowledge, add, note, assign, resolve,
reopen). A caller's contact details are shown in full only to those web/masking.py
allows."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from domain.complaint import CHANNELS, FINDINGS
from domain.errors import DomainError, InvalidInput
from web.acts import declared, new_command_id, now, run, shown
from web.errors import HTTPRefusal, sentence, status_of
from web.nav import Link
from web.pages import Visit, page

HOTLINE = ("hotline",)
INBOX = ("hotline", "supervisor", "admin")
# What each role may do to a complaint on its page: (act, the command it runs).
ACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledge": ("acknowledge_complaint", ("hotline", "supervisor")),
    "add": ("add_to_complaint", ("hotline",)),
    "note": ("note_complaint", ("hotline", "supervisor")),
    "assign": ("assign_complaint", ("hotline", "supervisor")),
    "resolve": ("resolve_complaint", ("supervisor",)),
    "reopen": ("reopen_complaint", ("hotline", "supervisor")),
}


def _acts_for(role: str) -> list[str]:
    return [act for act, (cmd, roles) in ACTS.items() if role in roles and declared(cmd)]


# --- the inbox ----------------------------------------------------------------------------

FILTERS = ("open", "due_soon", "overdue", "all")


@page(roles=INBOX)
def inbox(visit: Visit) -> Response:
    at = now(visit)
    tab = visit.query("show") or "open"
    if tab not in FILTERS:
        raise HTTPRefusal(400, f"show must be one of {', '.join(FILTERS)}, not {tab}.")
    entries = visit.office.reads.complaints(at)
    counts = {
        "open": sum(e["status"] == "open" for e in entries),
        "due_soon": sum(bool(e["due_soon"]) for e in entries),
        "overdue": sum(bool(e["overdue"]) for e in entries),
        "all": len(entries),
    }
    if tab == "open":
        entries = [e for e in entries if e["status"] == "open"]
    elif tab == "due_soon":
        entries = [e for e in entries if e["due_soon"]]
    elif tab == "overdue":
        entries = [e for e in entries if e["overdue"]]
    return visit.render(
        "complaints/inbox.html",
        entries=list(reversed(entries)),
        shown=tab,
        counts=counts,
        filters=FILTERS,
        when=shown,
        at=at.isoformat(sep=" ", timespec="minutes"),
    )


# --- taking a call ------------------------------------------------------------------------


def _call_form(visit: Visit, status: int = 200, **context: Any) -> Response:
    reads = visit.office.reads
    q = visit.query("q")
    found = None
    if q:
        found = reads.search_households(q)["households"]
    values = {
        "household": visit.query("household"),
        "group": visit.query("group"),
        "staff": visit.query("about_staff"),
    }
    defaults: dict[str, Any] = {"message": None, "filed": None, "values": values}
    return visit.render(
        "complaints/new.html",
        status=status,
        q=q,
        found=found,
        channels=CHANNELS,
        when=shown,
        groups=sorted(reads.group_names().items()),
        takes_caller=declared("file_complaint", "caller_name"),
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=HOTLINE)
def new_call(visit: Visit) -> Response:
    return _call_form(visit)


@page(roles=HOTLINE)
def take_call(visit: Visit) -> Response:
    """File the complaint; the page then shows the id the ledger gave it and the two
    deadlines to tell the caller."""
    about = {
        key: visit.field(field)
        for key, field in (("household", "household"), ("group", "group"), ("staff", "staff"))
        if visit.field(field)
    }
    caller: dict[str, str] = {}
    if declared("file_complaint", "caller_name"):
        caller = {name: visit.field(name) for name in ("caller_name", "caller_phone")}
    try:
        if not about:
            raise InvalidInput(
                "say what the complaint is about: a household (find it by name), a group "
                "or a staff member."
            )
        done = run(
            visit,
            "file_complaint",
            channel=visit.field("channel"),
            about=about,
            summary=visit.field("summary"),
            **caller,
        )
    except DomainError as refused:
        return _call_form(visit, status_of(refused), message=sentence(refused), values=visit.form)
    code = done.assigned or done.command.body.complaint
    entry = visit.office.reads.complaint(code, role=visit.session.role if visit.session else None)
    return _call_form(visit, filed={"code": code, "said": done.said, "entry": entry})


# --- one complaint -----------------------------------------------------------------------

# What a complaint's record entry holds besides when, who and what kind of event.
_FRAME = frozenset({"event", "occurred_at", "recorded_at", "actor", "entered_by"})


def _details(entry: dict[str, Any]) -> str:
    return " · ".join(str(v) for k, v in entry.items() if k not in _FRAME and v is not None)


def _record(visit: Visit, code: str, status: int = 200, **context: Any) -> Response:
    assert visit.session is not None
    # The read facade masks the caller for whoever may not hear them again.
    entry = visit.office.reads.complaint(code, role=visit.session.role)
    defaults: dict[str, Any] = {"message": None, "done": None}
    return visit.render(
        "complaints/record.html",
        status=status,
        c=entry,
        events=[{**e, "details": _details(e)} for e in entry["record"]],
        caller=entry["caller"],
        acts=_acts_for(visit.session.role),
        findings=FINDINGS,
        when=shown,
        command_id=new_command_id(),
        **{**defaults, **context},
    )


@page(roles=INBOX)
def record_page(visit: Visit) -> Response:
    return _record(visit, visit.request.path_params["code"])


@page(roles=("hotline", "supervisor"))
def act(visit: Visit) -> Response:
    """One act on a complaint, by the form's `act`; the page shows what it did or the
    refusal's sentence."""
    assert visit.session is not None
    code = visit.request.path_params["code"]
    chosen = visit.field("act")
    if chosen not in _acts_for(visit.session.role):
        raise HTTPRefusal(
            403,
            f"{visit.session.staff} is {visit.session.role} staff and may not "
            f"{chosen or 'do that'} to a complaint here; its page offers what you may do.",
        )
    cmd = ACTS[chosen][0]
    fields: dict[str, Any] = {"complaint": code}
    if chosen == "acknowledge":
        fields["note"] = visit.field("note")
    elif chosen in ("add", "note"):
        fields["text"] = visit.field("text")
    elif chosen == "assign":
        fields["to"] = visit.field("to")
    elif chosen == "resolve":
        fields["finding"] = visit.field("finding")
        fields["outcome"] = visit.field("outcome")
    elif chosen == "reopen":
        fields["reason"] = visit.field("reason")
    try:
        done = run(visit, cmd, **fields)
    except DomainError as refused:
        return _record(visit, code, status_of(refused), message=sentence(refused))
    return _record(visit, code, done=done.said)


ROUTES = [
    Route("/complaints", inbox, methods=["GET"]),
    Route("/complaints/new", new_call, methods=["GET"]),
    Route("/complaints/new", take_call, methods=["POST"]),
    Route("/complaints/{code}", record_page, methods=["GET"]),
    Route("/complaints/{code}", act, methods=["POST"]),
]
LINKS = [
    Link("/complaints/new", "take_call", HOTLINE),
    Link("/complaints", "complaints_inbox", INBOX),
]
