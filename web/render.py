"""Pages from the Jinja2 templates in web/templates (autoescaped), in the visitor's
language; and the one-sentence error page or JSON error of any refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from web import i18n
from web.errors import for_people
from web.masking import ID_NUMBER

TEMPLATES = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def switch_url(request: Request, lang: str) -> str:
    """This page, in another language (without an ID number searched for: the link
    would keep it on the page)."""
    query = {
        k: v
        for k, v in request.query_params.items()
        if k != "lang" and not ID_NUMBER.fullmatch(v.strip())
    }
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page of the site in the visitor's language; the language asked for in the
    query is remembered in its cookie."""
    lang = i18n.language(request)
    other = "en" if lang == "zh" else "zh"
    if status >= 400 and context.get("message"):  # a refusal, in the page's language
        reading = request.method in ("GET", "HEAD")
        said = for_people(context["message"], status, lang, reading=reading)
        context = {**context, "message": said}
    body = _env.get_template(template).render(
        {
            "t": i18n.translator(lang),
            "term": lambda value: i18n.term(value, lang),
            "lang": lang,
            "switch_url": switch_url(request, other),
            "path": request.url.path,
            "session": None,
            "csrf": "",
            "links": [],
            **context,
        }
    )
    response = HTMLResponse(body, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, path="/", samesite="strict", httponly=True)
    return response


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error(request: Request, status: int, message: str, **context: Any) -> Response:
    """The refusal's one sentence: {"error": ...} for the API, a page otherwise."""
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return page(request, "error.html", {"message": message, **context}, status=status)
