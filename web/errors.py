"""How a refusal reaches a person or a program: one HTTP status per kind of error
(specs/web.md) and one sentence, as JSON under /api/ and as a page elsewhere. Never a
traceback, never a secret."""

from __future__ import annotations

import logging

from domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from ledger.environment import StoreProblem
from ledger.session import LockedOut, NotAuthenticated

log = logging.getLogger("uvicorn.error")

# The web's own fixed sentences in Chinese, by their English (bilingual()).
_CHINESE: dict[str, str] = {}


def bilingual(english: str, chinese: str) -> str:
    """A fixed sentence of the web's own, which a Chinese page says in Chinese."""
    _CHINESE[english] = chinese
    return english


UNEXPECTED = bilingual(
    "the server failed unexpectedly and nothing was changed by this request; "
    "try again, and tell the office's administrator if it happens again.",
    "服务器发生意外错误，本次请求未作任何更改；请重试，如再次发生请告知管理员。",
)

# What kind of refusal it was, in Chinese, before the ledger's own sentence (which the
# command line and the API say too, in English).
_LEADS_ZH = {
    400: "填写有误，未作任何更改。",
    401: "未能通过身份验证。",
    403: "您无权办理此事项，未作任何更改。",
    404: "未找到所查对象。",
    405: "请求方式不对。",
    409: "台账规则不允许，未作任何更改。",
    413: "上传的内容过大，未作任何更改。",
    429: "登录失败次数过多，暂不能登录。",
    503: "数据库暂时不可用，未作任何更改，请稍后再试。",
}


# The same for a page that was only read (nothing was to be changed).
_READ_LEADS_ZH = {
    400: "查询条件有误。",
    403: "您无权查看此内容。",
    409: "无法按此查询显示。",
}


def for_people(message: str, status: int, lang: str, *, reading: bool = False) -> str:
    """A refusal as a page in lang says it: in Chinese, the web's fixed sentences
    translated, and the ledger's led by what kind of refusal it is (reading: of a page
    that was only read)."""
    if lang != "zh":
        return message
    fixed = _CHINESE.get(message)
    if fixed is not None:
        return fixed
    lead = (_READ_LEADS_ZH.get(status) if reading else None) or _LEADS_ZH.get(
        status, _LEADS_ZH[409] if status < 500 else "服务器发生错误。"
    )
    return f"{lead}说明：{message}"


class HTTPRefusal(DomainError):
    """A refusal of the web layer itself (a missing form field, a cross-site post),
    with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(error: DomainError) -> int:
    """400 bad input, 401 no valid credential, 403 not allowed, 404 unknown, 409 a rule
    of the ledger refused it (or an id reused), 429 too many failed logins, 503 the
    store failed."""
    if isinstance(error, HTTPRefusal):
        return error.status
    if isinstance(error, LockedOut):
        return 429
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, StoreProblem):
        return 503
    if isinstance(error, AlreadyExists | RuleViolation):
        return 409
    return 409


def sentence(error: BaseException) -> str:
    """The refusal's own sentence: its first line, as the command line prints it."""
    text = str(error).strip()
    return text.splitlines()[0] if text else UNEXPECTED
