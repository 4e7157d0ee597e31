"""The frame every page runs in: `@page(roles=...)` turns a plain function of a Visit
into a Starlette endpoint that reads the form, finds the logged-in staff member (or
sends the visitor to log in), checks their role and, on a POST, the form's CSRF token,
then runs the function in a worker thread, one request at a time against the ledger
(web/office.py). A refusal raised by the function (any DomainError) becomes the
one-sentence error page with its status; the function may instead catch it and show
the sentence on its own page, as a form does."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response

from domain.errors import DomainError, PermissionDenied
from ledger.session import NotAuthenticated, Session
from web import i18n, render, sessions
from web.errors import HTTPRefusal, bilingual, sentence, status_of
from web.nav import Link, for_role
from web.office import Office, Settings

Handler = Callable[["Visit"], Response]

BAD_CSRF = bilingual(
    "the form's security token is missing or out of date (the page was open too long, "
    "or sent from elsewhere), and nothing was changed; reload the page and send it again.",
    "表单的安全令牌缺失或已过期（页面打开太久，或从别处提交），未作任何更改；请刷新页面后重新提交。",
)


@dataclass
class Visit:
    """One request to a page: who (session: None on a public page with nobody logged
    in), in which language, with which form fields."""

    request: Request
    office: Office
    settings: Settings
    links: list[Link]
    session: Session | None = None
    token: str | None = None
    form: FormData = field(default_factory=FormData)
    # Cookies to set (name, value) or clear (name, None) on the response.
    cookies: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return i18n.language(self.request)

    @property
    def csrf(self) -> str:
        return sessions.csrf_for(self.token) if self.token else ""

    def field(self, name: str) -> str:
        """A form field, stripped ("" if missing)."""
        value = self.form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        base: dict[str, Any] = {
            "session": self.session,
            "csrf": self.csrf,
            "links": for_role(self.links, self.session.role) if self.session else [],
        }
        response = render.page(self.request, template, {**base, **context}, status=status)
        self._set_cookies(response)
        return response

    def redirect(self, path: str) -> Response:
        response = RedirectResponse(path, status_code=303)
        self._set_cookies(response)
        return response

    def _set_cookies(self, response: Response) -> None:
        secure = self.settings.secure_cookies
        for name, value in self.cookies:
            if value is None:
                sessions.clear_cookie(response, name, secure)
            else:
                sessions.set_cookie(response, name, value, secure)


# A form of the pages (no file) is a few kilobytes; the upload's page allows more.
FORM_LIMIT = 256 * 1024
NO_LENGTH = (
    "the form did not say its size (Content-Length) and was refused before it was read; "
    "send it from the page's form."
)
TOO_LARGE = "the form is larger than the {} KiB a page reads; send it from the page's form."
CUT_SHORT = (
    "the form arrived cut short (its body ended before the form did), and nothing was "
    "changed; send it again from the page's form."
)
MALFORMED = (
    "the form could not be read (its body is not a well-formed form: a wrong or missing "
    "boundary, a part without a name, or too many or too large fields), and nothing was "
    "changed; send it again from the page's form."
)


class FormUnreadable(Exception):
    """A posted body that is no whole form; its sentence says which way."""


class _CutShort(Exception):
    """The body ended before the form's closing boundary."""


class _WholeMultiPart(MultiPartParser):
    """Starlette's multipart parser, refusing a body that ends before the form's closing
    boundary: python-multipart takes one cut short for a whole form with fewer fields
    (or a file cut off), which a page would then act on. The refusal is raised from
    the stream the parser reads, so that the parser closes the files it spooled."""

    def __init__(self, headers: Headers, stream: AsyncGenerator[bytes, None]) -> None:
        super().__init__(headers, self._whole(stream))
        self.ended = False

    async def _whole(self, stream: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        async for chunk in stream:
            yield chunk
        # The parser has written every chunk by the time it asks for the next.
        if not self.ended:
            raise _CutShort

    def on_end(self) -> None:
        self.ended = True


async def read_form(request: Request) -> FormData:
    """The posted form, read once for every page; FormUnreadable if it is cut short or
    malformed (where Starlette's parser raises, or would answer a 400 with no sentence)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        if kind != "multipart/form-data":
            return await request.form()
        async with aclosing(request.stream()) as stream:
            return await _WholeMultiPart(request.headers, stream).parse()
    except (ClientDisconnect, _CutShort):
        raise FormUnreadable(CUT_SHORT) from None
    except (MultiPartException, HTTPException):
        raise FormUnreadable(MALFORMED) from None


def page(
    roles: tuple[str, ...] | None = None,
    *,
    public: bool = False,
    csrf: Callable[[Visit], str] | None = None,
    max_body: int = FORM_LIMIT,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """roles: who may open it (None: every logged-in staff member); public: no login
    needed (the session is still read, to show who is logged in); csrf: the token a
    POST must carry (default: the session's); max_body: the largest form it reads."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            state = request.app.state
            office: Office = state.office
            visit = Visit(request, office, state.settings, state.links)
            if request.method != "POST":
                return await office.serve(
                    lambda: _run(handler, visit, roles, public, csrf), reads_only=True
                )
            # A form is read before anyone is known to be logged in: refused by its
            # declared size first, so that no one fills the server's disk with a
            # form's files (the upload's own endpoint allows a document's size).
            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return render.error(request, 411, NO_LENGTH)
            if int(length) > max_body:
                return render.error(request, 413, TOO_LARGE.format(max_body // 1024))
            try:
                visit.form = await read_form(request)
            except FormUnreadable as unreadable:
                return render.error(request, 400, str(unreadable))
            try:
                return await office.serve(lambda: _run(handler, visit, roles, public, csrf))
            finally:
                await visit.form.close()

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return decorate


def _run(
    handler: Handler,
    visit: Visit,
    roles: tuple[str, ...] | None,
    public: bool,
    csrf: Callable[[Visit], str] | None,
) -> Response:
    request = visit.request
    try:
        token = sessions.session_token(request)
        if token is not None:
            try:
                visit.session = visit.office.identity.authenticate(token)
                visit.token = token
            except NotAuthenticated as ended:
                visit.cookies.append((sessions.SESSION_COOKIE, None))
                if not public:
                    return _to_login(visit, sentence(ended))
        if visit.session is None and not public:
            return _to_login(visit, None)
        if roles is not None and (visit.session is None or visit.session.role not in roles):
            raise PermissionDenied(_not_for(visit, roles))
        if request.method == "POST":
            expected = csrf(visit) if csrf is not None else visit.csrf
            given = visit.form.get(sessions.CSRF_FIELD)
            if not expected or not sessions.csrf_matches(
                given if isinstance(given, str) else None, expected
            ):
                raise HTTPRefusal(403, BAD_CSRF)
        return handler(visit)
    except DomainError as refusal:
        response = render.error(
            request,
            status_of(refusal),
            sentence(refusal),
            session=visit.session,
            csrf=visit.csrf,
        )
        visit._set_cookies(response)
        return response


def _to_login(visit: Visit, why: str | None) -> Response:
    """To the login page, and back here afterwards (a GET only: a form's post is
    not replayed)."""
    request = visit.request
    back = request.url.path if request.method == "GET" else "/"
    if request.url.query and request.method == "GET":
        back += "?" + request.url.query
    target = "/login?next=" + quote(back, safe="")
    if why is not None:
        target += "&ended=1"
    return visit.redirect(target)


def _not_for(visit: Visit, roles: tuple[str, ...]) -> str:
    who = visit.session.staff if visit.session else "nobody logged in"
    role = visit.session.role if visit.session else "no"
    allowed = " or ".join(sorted(roles))
    return f"{who} is {role} staff and may not open this page; only {allowed} staff may."


def form_values(form: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a repeated field (a list of checkboxes)."""
    getlist = getattr(form, "getlist", None)
    values = getlist(name) if getlist is not None else [form.get(name)]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]
