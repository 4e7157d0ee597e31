"""What every response carries and what every request must pass before any page
sees it: security headers (a Content-Security-Policy that allows no inline script),
and the refusal of a form posted from another site (Sec-Fetch-Site, Origin), which
appends nothing. Each form's CSRF token is checked too (web/pages.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.errors import bilingual

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE = bilingual(
    "this form was sent from another site, and was refused: nothing was changed; "
    "open the page on this site and send it from there.",
    "此表单来自其他网站，已被拒绝，未作任何更改；请在本站打开页面后提交。",
)


def cross_site(headers: Headers) -> bool:
    """Whether a request that changes something comes from another site, by what the
    browser says of it: Sec-Fetch-Site (modern browsers), else Origin against Host.
    A client that sends neither (curl, a script) is no browser carrying someone's
    cookie; it still needs the form's CSRF token."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


class Guard:
    """ASGI middleware: refuse a cross-site write to the pages before anything reads
    it, and add the security headers to every response."""

    def __init__(self, app: ASGIApp, refusal: ASGIApp) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        path: str = scope["path"]
        if (
            scope["method"] not in SAFE_METHODS
            and not path.startswith("/api/")
            and cross_site(Headers(scope=scope))
        ):
            await self.refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
