"""The JSON API under /api/v1 (specs/web.md): a Bearer token on every request but
logging in; reads through the read facade, writes through the ledger's command API as
the logged-in staff member, errors as {"error": "one sentence"} with the spec's
statuses. `@endpoint` is the frame every route runs in, as `@page` is for pages."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from domain.errors import DomainError, InvalidInput, PermissionDenied
from domain.values import LEDGER_TZ
from ledger.commands import parse_command
from ledger.commands.outcome import command_outcome
from ledger.session import NotAuthenticated, Session
from web import access
from web.errors import HTTPRefusal, sentence, status_of
from web.masking import SEE_ALL, masked
from web.office import Office

# A request body larger than this is no command of the ledger's (the largest, a
# policy, is a few kilobytes).
MAX_BODY = 1_000_000
TOO_LARGE = (
    f"the body is larger than {MAX_BODY:,} bytes; send one JSON object (a command, or a "
    "login) under that size."
)

NO_TOKEN = (
    "no credential: send Authorization: Bearer TOKEN, with a token from "
    "POST /api/v1/session or oneruler login."
)


@dataclass
class Call:
    """One API request: who made it (None: a public endpoint or logging in), its
    path and query parameters, its JSON body."""

    request: Request
    office: Office
    session: Session | None
    token: str | None
    body: Any

    def param(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value.strip() if value is not None else None

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    @property
    def staff(self) -> Session:
        assert self.session is not None
        return self.session


Work = Callable[[Call], Response]


def endpoint(
    *, anonymous: bool = False
) -> Callable[[Work], Callable[[Request], Awaitable[Response]]]:
    """anonymous: no token needed (logging in); every other endpoint needs a valid
    Bearer token, checked by the identity service."""

    def decorate(work: Work) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            office: Office = request.app.state.office
            try:
                if not anonymous:
                    _bearer(request)  # no token: refused before any body is read
                body = await _body(request)
            except DomainError as refused:
                return _error(refused)
            call = Call(request, office, None, None, body)
            return await office.serve(
                lambda: _guarded(work, call, anonymous), reads_only=request.method == "GET"
            )

        run.__name__ = work.__name__
        return run

    return decorate


async def _body(request: Request) -> Any:
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    # Refused by its declared length before it is read, and read no further than the
    # limit whatever it declares: a client cannot make the server hold a large body.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPRefusal(400, TOO_LARGE)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise HTTPRefusal(400, TOO_LARGE)
    raw = bytes(received)
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8").lstrip("\ufeff"))
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text; send JSON in UTF-8.") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(f"the body is not valid JSON ({e.msg} at column {e.colno}).") from None
    except (ValueError, RecursionError):
        raise InvalidInput("the body holds a number too long or nesting too deep.") from None


def _guarded(work: Work, call: Call, anonymous: bool) -> Response:
    try:
        if not anonymous:
            call.token = _bearer(call.request)
            call.session = call.office.identity.authenticate(call.token)
        return work(call)
    except DomainError as refused:
        return _error(refused)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(NO_TOKEN)
    return token.strip()


def _error(refused: DomainError) -> Response:
    status = status_of(refused)
    # A 401 names the scheme that would be taken (RFC 9110, section 11.6.1).
    headers = {"WWW-Authenticate": 'Bearer realm="oneruler"'} if status == 401 else None
    return JSONResponse({"error": sentence(refused)}, status_code=status, headers=headers)


def document(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


# --- the session ------------------------------------------------------------------


@endpoint(anonymous=True)
def log_in(call: Call) -> Response:
    body = call.body
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("staff"), str)
        or not isinstance(body.get("password"), str)
    ):
        raise InvalidInput('send {"staff": "STAFF", "password": "PASSWORD"} as JSON.')
    token, session = call.office.identity.login(body["staff"], body["password"])
    assert session.expires_at is not None
    return document(
        {
            "token": token,
            "staff": session.staff,
            "role": session.role,
            "expires_at": session.expires_at.astimezone(LEDGER_TZ).isoformat(timespec="seconds"),
        }
    )


@endpoint()
def log_out(call: Call) -> Response:
    assert call.token is not None
    call.office.identity.logout(call.token)
    return Response(status_code=204)


# --- writes ---------------------------------------------------------------------------


@endpoint()
def commands(call: Call) -> Response:
    """One ingest line, entered by the logged-in staff member, who must be its actor."""
    raw = call.body
    if not isinstance(raw, dict):
        raise InvalidInput(
            "send one command as a JSON object with id, cmd and at (specs/ingest.md)."
        )
    command = parse_command(raw, actor_required=False)
    if command.actor is not None and command.actor != call.staff.staff:
        raise PermissionDenied(
            f"you are logged in as {call.staff.staff} and may not enter a command as "
            f"{command.actor}; leave actor out, or give your own staff id."
        )
    events = call.office.execute(command, call.staff)
    outcome = command_outcome(command, events)
    return document(outcome, 201 if events is not None else 200)


# --- reads ------------------------------------------------------------------------------


@endpoint()
def household(call: Call) -> Response:
    reads = call.office.reads
    shown = reads.household(call.path("hh"), access.as_of(call.param("as_of"), reads))
    see = access.sees_household(reads, call.session, shown["group"])
    return document(masked(shown, see))


@endpoint()
def history(call: Call) -> Response:
    reads = call.office.reads
    code = call.path("hh")
    group = access.group_of(reads, code)
    when = access.as_of(call.param("as_of"), reads) if call.param("as_of") else None
    shown = reads.household_history(code, when)
    return document(masked(shown, access.sees_household(reads, call.session, group)))


@endpoint()
def search(call: Call) -> Response:
    """Households by code, head's name or ID number (at most 100)."""
    found = call.office.reads.search_households(
        call.param("q") or "",
        group=call.param("group") or None,
        status=call.param("status") or None,
    )
    return document(found)


@endpoint()
def payouts(call: Call) -> Response:
    """Finance's worklist: only the payouts a confirmation by you would now pass."""
    if not _flag(call, "ready"):
        raise InvalidInput("give ready=true: the API lists the payouts ready to pay.")
    # A finance officer's own worklist leaves out what they requested themselves; any
    # other reader sees what a finance officer would pass (only finance confirms).
    staff = call.staff
    return document(
        call.office.reads.ready_payouts(staff.staff if staff.role == "finance" else None)
    )


@endpoint()
def groups(call: Call) -> Response:
    reads = call.office.reads
    return document(reads.group_report(access.as_of(call.param("as_of"), reads)))


def _flag(call: Call, name: str) -> bool:
    value = call.param(name)
    if value in (None, "", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise InvalidInput(f"{name} must be true or false (got {value!r}).")


@endpoint()
def complaints(call: Call) -> Response:
    """`complaint list --json` with the same filters (open, overdue, due_soon,
    assignee, household)."""
    reads = call.office.reads
    shown = reads.complaint_list(
        reads.now().astimezone(LEDGER_TZ),
        open=_flag(call, "open"),
        overdue=_flag(call, "overdue"),
        due_soon=_flag(call, "due_soon"),
        assignee=call.param("assignee") or None,
        household=call.param("household") or None,
    )
    return document(masked(shown, call.staff.role in SEE_ALL))


@endpoint()
def bundle(call: Call) -> Response:
    """The audit bundle carries each event as stored, private fields and all (its
    proofs are of those bytes): only for those who see them unmasked."""
    reads = call.office.reads
    code = call.path("hh")
    if not access.sees_household(reads, call.session, access.group_of(reads, code)):
        raise PermissionDenied(
            f"the audit bundle of {code} holds its full records, ID number and address "
            "included; ask a supervisor or a clerk of its group for it."
        )
    _, shown = reads.bundle(code)
    return document(shown)


async def checkpoint(request: Request) -> Response:
    """Public: the latest signed checkpoint, verbatim."""
    office: Office = request.app.state.office
    latest = await office.serve(office.reads.latest_checkpoint, reads_only=True)
    if latest is None:
        return PlainTextResponse(
            "no checkpoint has been signed yet; the office signs one with oneruler checkpoint.\n",
            status_code=404,
        )
    return PlainTextResponse(latest[2], media_type="text/plain; charset=utf-8")


ROUTES: list[BaseRoute] = [
    Route("/api/v1/session", log_in, methods=["POST"]),
    Route("/api/v1/session", log_out, methods=["DELETE"]),
    Route("/api/v1/commands", commands, methods=["POST"]),
    Route("/api/v1/households", search, methods=["GET"]),
    Route("/api/v1/households/{hh}", household, methods=["GET"]),
    Route("/api/v1/households/{hh}/history", history, methods=["GET"]),
    Route("/api/v1/households/{hh}/bundle", bundle, methods=["GET"]),
    Route("/api/v1/reports/groups", groups, methods=["GET"]),
    Route("/api/v1/payouts", payouts, methods=["GET"]),
    Route("/api/v1/complaints", complaints, methods=["GET"]),
    Route("/checkpoint", checkpoint, methods=["GET"]),
]
