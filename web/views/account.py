"""Logging in and out, and changing one's own password, through the identity service
(ledger/identity.py): a page session is a token with an idle timeout, kept in an
HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DomainError, InvalidInput
from web import sessions
from web.errors import sentence, status_of
from web.nav import STAFF, Link
from web.pages import Visit, page


def _login_csrf(visit: Visit) -> str:
    return visit.request.cookies.get(sessions.LOGIN_COOKIE, "")


def _next(visit: Visit) -> str:
    """Where to go after logging in: a path of this site only, never another site."""
    target = visit.query("next") or visit.field("next")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_form(visit: Visit, status: int = 200, message: str | None = None) -> Response:
    token = sessions.login_csrf(visit.request)
    visit.cookies.append((sessions.LOGIN_COOKIE, token))
    if message is None and visit.query("ended"):
        message = "ended"
    return visit.render(
        "login.html",
        status=status,
        login_csrf=token,
        next=_next(visit),
        message=message,
        staff=visit.field("staff"),
    )


@page(public=True)
def login_page(visit: Visit) -> Response:
    if visit.session is not None:
        return visit.redirect(_next(visit))
    return _login_form(visit)


@page(public=True, csrf=_login_csrf)
def login(visit: Visit) -> Response:
    """Check the password; on success the token goes into the session cookie."""
    staff, password = visit.field("staff"), visit.form.get("password", "")
    if not staff or not isinstance(password, str) or not password:
        return _login_form(visit, 400, "give your staff id and your password.")
    try:
        token, _ = visit.office.identity.login(staff, password, idle=visit.settings.idle)
    except DomainError as refused:
        return _login_form(visit, status_of(refused), sentence(refused))
    visit.cookies.append((sessions.SESSION_COOKIE, token))
    visit.cookies.append((sessions.LOGIN_COOKIE, None))
    return visit.redirect(_next(visit))


@page()
def logout(visit: Visit) -> Response:
    assert visit.token is not None
    visit.office.identity.logout(visit.token)
    visit.cookies.append((sessions.SESSION_COOKIE, None))
    return visit.redirect("/login")


@page()
def password_page(visit: Visit) -> Response:
    return visit.render("password.html", message=None)


@page()
def change_password(visit: Visit) -> Response:
    """The current password proves it is the staff member at the keyboard; a new one
    ends every token of theirs, this session's too."""
    assert visit.session is not None
    staff = visit.session.staff
    current = visit.form.get("current", "")
    new, again = visit.form.get("new", ""), visit.form.get("again", "")
    try:
        if not all(isinstance(v, str) and v for v in (current, new, again)):
            raise InvalidInput("fill in all three fields: your password, and the new one twice.")
        if new != again:
            raise InvalidInput("the two new passwords differ; type the same new password twice.")
        assert isinstance(current, str) and isinstance(new, str)
        visit.office.identity.check_password(staff, current)
        visit.office.identity.set_password(staff, new, visit.session)
    except DomainError as refused:
        return visit.render("password.html", status=status_of(refused), message=sentence(refused))
    visit.cookies.append((sessions.SESSION_COOKIE, None))
    return visit.redirect("/login?changed=1")


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/password", password_page, methods=["GET"]),
    Route("/password", change_password, methods=["POST"]),
]
LINKS = [Link("/password", "change_password", STAFF)]
