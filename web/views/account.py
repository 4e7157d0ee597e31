"""Logging in and out, and changing one's own password, through the identity service
(ledger/identity.py): a page session is a token with an idle timeout, kept in an
HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DomainError, InvalidInput
from ledger.session import WrongPassword
from web import sessions
from web.errors import bilingual, sentence, status_of
from web.nav import STAFF, Link
from web.pages import Visit, page

GIVE_BOTH = bilingual("give your staff id and your password.", "请输入工号和密码。")
# The identity service's own sentence names the command an administrator would run;
# a page says what the person at it can do.
WRONG_LOGIN = bilingual(
    "wrong staff id or password; check both, or ask an administrator to set a new password.",
    "工号或密码不正确；请检查后重试，或请管理员重设密码。",
)
WRONG_CURRENT = bilingual(
    "your current password is not right, and nothing was changed; type it again.",
    "当前密码不正确，未作任何更改；请重新输入。",
)
FILL_ALL = bilingual(
    "fill in all three fields: your password, and the new one twice.",
    "请填写全部三栏：当前密码，以及两次新密码。",
)
DIFFERENT = bilingual(
    "the two new passwords differ; type the same new password twice.",
    "两次输入的新密码不一致；请输入两次相同的新密码。",
)


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
        return _login_form(visit, 400, GIVE_BOTH)
    try:
        token, _ = visit.office.identity.login(staff, password, idle=visit.settings.idle)
    except WrongPassword:
        return _login_form(visit, 401, WRONG_LOGIN)
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
            raise InvalidInput(FILL_ALL)
        if new != again:
            raise InvalidInput(DIFFERENT)
        assert isinstance(current, str) and isinstance(new, str)
        try:
            visit.office.identity.check_password(staff, current)
        except WrongPassword:
            raise InvalidInput(WRONG_CURRENT) from None
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
