"""Page sessions: the identity service's token in an HttpOnly, SameSite=Strict cookie
(nothing else about the session is kept in the browser), and the CSRF token every form
carries, derived from it. The API does not read cookies: it takes `Authorization:
Bearer TOKEN` only, so a page of another site cannot make a browser call it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "oneruler_session"
# Before logging in there is no session to bind a form to: the login form's CSRF token
# is a random value that the browser also holds in this cookie (double submit).
LOGIN_COOKIE = "oneruler_login"
CSRF_FIELD = "csrf"


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    return token or None


def csrf_for(token: str) -> str:
    """The CSRF token of a session: computable only by whoever holds the session's
    token, which no script can read (HttpOnly), so a page of another site cannot
    forge it; the same in every worker process, with nothing stored."""
    return hmac.new(token.encode("utf-8"), b"oneruler csrf", hashlib.sha256).hexdigest()


def login_csrf(request: Request) -> str:
    """The login form's CSRF token: the one its cookie already holds, else a new one."""
    held = request.cookies.get(LOGIN_COOKIE, "")
    return held if len(held) == 43 else secrets.token_urlsafe(32)


def csrf_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def set_cookie(response: Response, name: str, value: str, secure: bool) -> None:
    """A cookie for this site's pages only: no script reads it, no other site's
    request carries it; `Secure` behind TLS. Without Max-Age it ends with the browser,
    and the token behind it ends sooner when idle."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="strict", secure=secure)


def clear_cookie(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure)
